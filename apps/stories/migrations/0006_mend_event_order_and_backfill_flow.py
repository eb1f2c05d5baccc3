"""Mend logs whose time went back with their sequence, and backfill the stories' flow projection.

Before 0005 a change took its time before waiting for the project's lock and its seq after, so under
concurrent writes a few events are earlier (by under a second) than the event before them, and the engine
refuses such a log. Each inverted ``at`` is raised to its predecessor's: the order of the log is the order
the changes committed in. Then every story's flow projection is folded from its events, and each project's
``last_event_at`` set, as the services now maintain them.
"""

from django.db import migrations

from sprintboard import projection

BATCH = 5_000
FLOW_FIELDS = ["flow_state_since", "flow_started_at", "flow_finished_at", "flow_blocked_since", "flow_reopened"]


def mend_and_backfill(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    for project in Project.objects.all().iterator():
        _mend_project(apps, project)


def _mend_project(apps, project) -> None:
    StoryEvent = apps.get_model("stories", "StoryEvent")
    Story = apps.get_model("stories", "Story")
    WorkflowState = apps.get_model("projects", "WorkflowState")
    categories = dict(WorkflowState.objects.filter(project=project).values_list("pk", "category"))
    mended, log, last = [], [], None
    rows = (
        StoryEvent.objects.filter(project=project)
        .order_by("seq")
        .values_list("pk", "story_id", "kind", "at", "to_value")
    )
    for pk, story_id, kind, at, to_value in rows.iterator(chunk_size=BATCH):
        if last is not None and at < last:
            mended.append(StoryEvent(pk=pk, at=last))
            at = last
        last = at
        log.append((story_id, kind, at, to_value))
    StoryEvent.objects.bulk_update(mended, ["at"], batch_size=BATCH)
    flows = projection.fold(log, categories)
    stories = [Story(pk=pk, **_columns(flow)) for pk, flow in flows.items()]
    Story.objects.bulk_update(stories, FLOW_FIELDS, batch_size=BATCH)
    type(project).objects.filter(pk=project.pk).update(last_event_at=last)


def _columns(flow: projection.StoryFlow) -> dict:
    return {
        "flow_state_since": flow.state_since,
        "flow_started_at": flow.started_at,
        "flow_finished_at": flow.finished_at,
        "flow_blocked_since": flow.blocked_since,
        "flow_reopened": flow.reopened,
    }


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0002_project_last_event_at"),
        ("stories", "0005_story_flow_projection"),
    ]

    operations = [migrations.RunPython(mend_and_backfill, migrations.RunPython.noop)]
