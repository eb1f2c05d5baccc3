"""A generated history (tests/sprintboard/generator.py) loaded into the database in bulk, for the tests and
benchmarks whose logs are too long to write through the services."""

from __future__ import annotations


def load_generated(generated, *, key: str):  # noqa: ANN001, ANN201 - a generator Project in, a Django Project out
    """A generated history (tests/sprintboard/generator.py) bulk-inserted as project ``key``, ids mapped to
    the new rows: a log of tens of thousands of events in a second, where the services would take minutes.
    The log is the generator's own (it replays in the engine); the rows are only what reports read."""
    import json

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from apps.projects.models import Project, WorkflowState
    from apps.stories.models import Sprint, Story
    from tests.sprintboard.generator import PEOPLE

    users = {name: get_user_model().objects.get_or_create(username=name)[0].pk for name in PEOPLE}
    with transaction.atomic():
        project = Project.objects.create(
            key=key,
            name=f"Generated {key}",
            timezone=generated.tz,
            last_event_seq=len(generated.events),
            last_story_number=len(generated.stories),
        )
        states = {
            s.id: WorkflowState.objects.create(project=project, name=s.name, position=s.position, category=s.category)
            for s in generated.workflow
        }
        status = {True: "closed", False: "active"}
        sprints = {
            s.id: Sprint.objects.create(
                project=project,
                name=s.name,
                start=s.start,
                end=s.end,
                started_at=s.started_at,
                closed_at=s.closed_at,
                status=status[s.closed_at is not None],
            )
            for s in generated.sprints
        }
        first_state = states[generated.workflow[0].id]
        rows = Story.objects.bulk_create(
            (
                Story(
                    project=project,
                    number=s.id,
                    key=f"{key}-{s.id}",
                    title=f"Story {s.id}",
                    kind=s.kind,
                    state=first_state,
                    rank=f"a{s.id:08d}",
                    created_at=s.created_at,
                    updated_at=s.created_at,
                )
                for s in generated.stories
            ),
            batch_size=5000,
        )
        stories = {s.id: row.pk for s, row in zip(generated.stories, rows, strict=True)}
        ids = {"state": {k: v.pk for k, v in states.items()}, "sprint": {k: v.pk for k, v in sprints.items()}}

        def mapped(field: str | None, value: object) -> object:
            if isinstance(value, dict):
                return {k: mapped(k, v) for k, v in value.items()}
            if field in ids and isinstance(value, int):
                return ids[field][value]
            return value

        def jsonb(value: object) -> str | None:
            return None if value is None else json.dumps(value)

        columns = "project_id, seq, story_id, kind, field, from_value, to_value, actor_id, actor_name, to_name, at"
        with (
            connection.cursor() as cursor,
            cursor.connection.cursor().copy(f"COPY stories_storyevent ({columns}) FROM STDIN") as copy,
        ):
            for e in generated.events:
                field = e.field or (e.kind if e.kind in ("state", "sprint") else "")
                copy.write_row(
                    (
                        project.pk,
                        e.seq,
                        stories[e.story_id],
                        e.kind,
                        e.field or "",
                        jsonb(mapped(field, e.from_value)),
                        jsonb(mapped(field, e.to_value)),
                        users.get(e.actor),
                        "",
                        "",
                        e.at,
                    )
                )
    return project
