"""The event log's writers: the project lock, the time of a change, gapless sequence numbers, and
the bulk rewrite of the stories that point at something deleted or merged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

from apps.core.errors import Conflict, NotFound, StaleVersion
from apps.projects.events import Change
from apps.projects.models import Project
from apps.stories import signals
from apps.stories.models import (
    EventKind,
    Story,
    StoryEvent,
)
from apps.stories.selectors import FLOW_EVENT_KINDS, points_value

# Fields whose changes get an event kind of their own; every other field is logged as "updated".
OWN_EVENT_KIND = {
    "state": EventKind.STATE,
    "sprint": EventKind.SPRINT,
    "assignee": EventKind.ASSIGNEE,
    "points": EventKind.POINTS,
}


# Long text is not copied into the log: the event says which field changed.
UNLOGGED_VALUES = {"description", "acceptance_criteria"}


def _logged(field: str, value: Any) -> Any:
    if field in UNLOGGED_VALUES:
        return None
    if field == "points":
        return points_value(value)
    if field == "assignee":
        return value.get_username() if value is not None else None
    if field == "labels":
        return sorted(label.name for label in value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def value_name(value: Any) -> str:
    """How a logged value reads to people: a user's full name (username as fallback), a state's, sprint's, epic's
    or deliverable's name; "" for anything else (the value itself is shown)."""
    if value is None:
        return ""
    if hasattr(value, "get_username"):
        return (value.get_full_name() or value.get_username())[:200]
    name = getattr(value, "name", None)
    return name[:200] if isinstance(name, str) else ""


def event_time(project: Project, at: datetime | None) -> datetime:
    """The time of a change to ``project``, taken while its row lock is held.

    Without ``at``: now, or the project's last event time if this server's clock is behind another's
    (clamped: a sub-second skew between web pods must not break the log's order). With ``at`` (the seed,
    importers): refused when earlier than the project's last event.
    """
    last = project.last_event_at
    if at is None:
        now = timezone.now()
        return now if last is None or now >= last else last
    if last is not None and at < last:
        raise Conflict(
            f"{at.isoformat()} is before {project.key}'s last event ({last.isoformat()}): write history oldest first.",
            field="at",
            code="out_of_order",
        )
    return at


def _append_events(project: Project, story: Story, changes: Sequence[Change], *, actor, at: datetime) -> None:
    """Append events under the project's row lock: sequence numbers are gapless, times never decrease."""
    _append_event_rows(project, [(story, change) for change in changes], actor=actor, at=at)


def _append_event_rows(project: Project, rows: Sequence[tuple[Story, Change]], *, actor, at: datetime) -> None:
    if not rows:
        return
    first = project.last_event_seq + 1
    project.last_event_seq += len(rows)
    project.last_event_at = at
    if any(change.kind in FLOW_EVENT_KINDS for _, change in rows):
        project.flow_seq = project.last_event_seq
    Project.objects.filter(pk=project.pk).update(
        last_event_seq=project.last_event_seq, last_event_at=at, flow_seq=project.flow_seq
    )
    StoryEvent.objects.bulk_create(
        StoryEvent(
            project=project,
            seq=first + offset,
            story=story,
            kind=change.kind,
            field=change.field,
            from_value=change.from_value,
            to_value=change.to_value,
            actor=actor if getattr(actor, "pk", None) else None,
            to_name=change.to_name,
            at=at,
        )
        for offset, (story, change) in enumerate(rows)
    )
    signals.events_appended.send(
        sender=StoryEvent,
        project_id=project.pk,
        project=project,
        first_seq=first,
        last_seq=project.last_event_seq,
        kinds=frozenset(change.kind for _, change in rows),
    )


def lock_project(project_id: int, at: datetime | None) -> tuple[Project, datetime]:
    """Lock a project's row (every writer of its stories does, first) and take the change's time."""
    project = Project.objects.select_for_update().get(pk=project_id)
    return project, event_time(project, at)


def _lock(
    story: Story, *, expected_version: int | None, at: datetime | None, allow_deleted: bool = False
) -> tuple[Project, Story, datetime]:
    project, at = lock_project(story.project_id, at)
    locked = (
        Story.objects.select_for_update(of=("self",)).select_related("state", "sprint", "assignee").get(pk=story.pk)
    )
    if locked.deleted_at is not None and not allow_deleted:
        raise NotFound(f"{locked.key} has been deleted.")
    if expected_version is not None and expected_version != locked.version:
        raise StaleVersion(current_version=locked.version)
    return project, locked, at


def _rewrite(
    project: Project, stories: Sequence[Story], changes: Sequence[Change], fields: Sequence[str], *, actor, at: datetime
) -> None:
    """Save ``stories`` (already changed in memory, one ``changes`` entry each) with their events, in bulk."""
    for story in stories:
        story.version += 1
        story.updated_at = at
    Story.objects.bulk_update(stories, [*fields, "version", "updated_at"])
    _append_event_rows(project, list(zip(stories, changes, strict=True)), actor=actor, at=at)


def _pointing_at(**lookup: Any) -> list[Story]:
    return list(Story.objects.filter(**lookup).select_for_update(of=("self",)).select_related("state").order_by("pk"))


def _repoint(project: Project, field: str, old: Any, new: Any, change: Change, *, actor, at: datetime) -> int:
    """Point every story of ``project`` whose ``field`` is ``old`` at ``new`` instead, with ``change`` logged on
    each; how many."""
    stories = _pointing_at(project=project, **{field: old})
    for story in stories:
        setattr(story, field, new)
    _rewrite(project, stories, [change] * len(stories), [field], actor=actor, at=at)
    return len(stories)
