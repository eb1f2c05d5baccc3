"""Reads of stories shared by pages, the API and reports.

``engine_input`` loads what the ``sprintboard`` engine computes from: the
workflow, the stories, the event log (by indexed range, as plain tuples, no
model instances) and the sprints, as the engine's frozen records.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from apps.projects.models import Project, WorkflowState
from apps.stories.models import Sprint, Story, StoryEvent
from sprintboard import records

EVENT_COLUMNS = ("seq", "story_id", "kind", "at", "field", "from_value", "to_value", "actor_id")
EVENT_BATCH = 20_000


@dataclass(frozen=True)
class EngineInput:
    """Everything the engine needs about one project, read up to one event sequence number."""

    project_id: int
    timezone: str
    watermark: int
    workflow: tuple[records.State, ...]
    stories: tuple[records.Story, ...]
    events: tuple[records.Event, ...]
    sprints: tuple[records.Sprint, ...]


def engine_workflow(project: Project) -> tuple[records.State, ...]:
    rows = WorkflowState.objects.filter(project=project).order_by("position", "id").values_list("id", "name", "category", "position")
    return tuple(records.State(id=i, name=n, category=c, position=p) for i, n, c, p in rows)


def engine_sprints(project: Project) -> tuple[records.Sprint, ...]:
    rows = Sprint.objects.filter(project=project).order_by("start", "id").values_list(
        "id", "name", "start", "end", "started_at", "closed_at"
    )
    return tuple(records.Sprint(id=i, name=n, start=s, end=e, started_at=sa, closed_at=ca) for i, n, s, e, sa, ca in rows)


def engine_stories(project: Project) -> tuple[records.Story, ...]:
    rows = Story.objects.filter(project=project).order_by("id").values_list("id", "key", "kind", "created_at")
    return tuple(records.Story(id=i, key=k, kind=kind, created_at=c) for i, k, kind, c in rows)


def engine_events(project: Project, *, after: int = 0, upto: int | None = None) -> list[records.Event]:
    """The log from ``after`` (exclusive) to ``upto`` (inclusive), read in seq-ordered batches over the (project, seq) index."""
    usernames = dict(get_user_model().objects.values_list("id", "username"))
    events: list[records.Event] = []
    cursor = after
    while True:
        batch = StoryEvent.objects.filter(project=project, seq__gt=cursor)
        if upto is not None:
            batch = batch.filter(seq__lte=upto)
        rows = list(batch.order_by("seq").values_list(*EVENT_COLUMNS)[:EVENT_BATCH])
        events.extend(
            records.Event(
                seq=seq, story_id=story_id, kind=kind, at=at, field=field or None,
                from_value=from_value, to_value=to_value, actor=usernames.get(actor_id),
            )
            for seq, story_id, kind, at, field, from_value, to_value, actor_id in rows
        )
        if len(rows) < EVENT_BATCH:
            return events
        cursor = rows[-1][0]


def engine_input(project: Project) -> EngineInput:
    """A consistent snapshot: everything up to the project's event sequence number at the time of reading."""
    watermark = Project.objects.filter(pk=project.pk).values_list("last_event_seq", flat=True).get()
    return EngineInput(
        project_id=project.pk,
        timezone=project.timezone,
        watermark=watermark,
        workflow=engine_workflow(project),
        stories=engine_stories(project),
        events=tuple(engine_events(project, upto=watermark)),
        sprints=engine_sprints(project),
    )
