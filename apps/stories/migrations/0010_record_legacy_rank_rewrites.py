"""Record, as one ``rebalanced`` event per project, the rank keys older code rewrote without an event.

Before 0005 a rebalance gave a neighbourhood of stories fresh rank keys with no event, and ``created``
events did not record the first rank, so the backlog order could not be replayed from the log. The log is
append-only: rather than edit the past, this appends one event per project, dated now (when the keys are
learnt), listing every story whose rank the log does not give, so that from here on the order replays.
"""

from django.db import migrations
from django.utils import timezone

from sprintboard import records, rows


def record_rank_rewrites(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    for project in Project.objects.all().iterator():
        _record_project(apps, project)


def _record_project(apps, project) -> None:
    Story = apps.get_model("stories", "Story")
    StoryEvent = apps.get_model("stories", "StoryEvent")
    stories = dict(Story.objects.filter(project=project).values_list("key", "pk"))
    ranks = dict(Story.objects.filter(project=project).values_list("pk", "rank"))
    log = (
        StoryEvent.objects.filter(project=project)
        .order_by("seq")
        .values_list("seq", "story_id", "kind", "field", "at", "to_value")
    )
    events = [
        records.Event(seq, story, kind, at, field=field, to_value=value)
        for seq, story, kind, field, at, value in log.iterator()
    ]
    if not events:
        return
    try:
        replayed = rows.replay_rows(events, keys=stories)
    except Exception:  # noqa: BLE001 - a log the engine refuses: verify_events reports it, nothing to add here
        return
    by_pk = {pk: key for key, pk in stories.items()}
    missing = {by_pk[pk]: rank for pk, rank in sorted(ranks.items()) if replayed.get(pk, {}).get("rank") != rank}
    if not missing:
        return
    at = max(timezone.now(), events[-1].at)
    seq = project.last_event_seq + 1
    first = stories[next(iter(missing))]
    StoryEvent.objects.create(
        project_id=project.pk,
        seq=seq,
        story_id=first,
        kind="rebalanced",
        field="",
        from_value=None,
        to_value=missing,
        at=at,
    )
    type(project).objects.filter(pk=project.pk).update(last_event_seq=seq, last_event_at=at)


class Migration(migrations.Migration):
    dependencies = [("stories", "0009_story_flow_cycle_days")]

    operations = [migrations.RunPython(record_rank_rewrites, migrations.RunPython.noop)]
