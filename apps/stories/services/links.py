"""Story links: add one, remove one, close a story as a duplicate of another.

A link joins two stories of one project or of two. Each change is a ``link`` event on BOTH stories (field
``added`` or ``removed``; the value names the link, its kind, the direction as seen from that story and the
other story by id and key), written under the locks of both projects, taken in ascending project id order
so two writers linking across the same two projects never wait on each other in a cycle. Both stories'
versions are bumped (open boards and edit forms see the change). ``verify_events`` replays the links from
the log (``sprintboard.rows``) and compares them with the rows.

Deleting a story (soft) keeps its links and writes no link event: the deletion is the one change, the
links are hidden while the story is deleted (lists, the board's "blocked by") and come back with a restore.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q

from apps.core.errors import InvalidInput, NotFound, StaleVersion
from apps.projects.events import Change
from apps.projects.models import Category, Project, WorkflowState
from apps.stories.models import EventKind, LinkKind, Story, StoryLink
from apps.stories.services.events import _append_event_rows, lock_project
from apps.stories.services.stories import story_update

ADDED, REMOVED = "added", "removed"
OUTWARD, INWARD = "outward", "inward"


def _clean_kind(kind: Any) -> str:
    if kind not in LinkKind.values:
        raise InvalidInput(f"kind must be one of {', '.join(LinkKind.values)}.", field="kind")
    return kind


def _lock_both(source: Story, target: Story, at: datetime | None) -> tuple[dict[int, Project], Story, Story, datetime]:
    """Lock both projects (ascending id), then both stories; the change's time is the later of the two
    projects' times (never before either's last event)."""
    projects: dict[int, Project] = {}
    times: list[datetime] = []
    for project_id in sorted({source.project_id, target.project_id}):
        projects[project_id], when = lock_project(project_id, at)
        times.append(when)
    locked = {
        story.pk: story
        for story in Story.objects.select_for_update(of=("self",)).filter(pk__in=(source.pk, target.pk)).order_by("pk")
    }
    return projects, locked[source.pk], locked[target.pk], max(times)


def _value(link: StoryLink, direction: str, other: Story) -> dict[str, Any]:
    return {"link": link.pk, "kind": link.kind, "direction": direction, "story": other.pk, "key": other.key}


def _log(
    projects: dict[int, Project], link: StoryLink, source: Story, target: Story, action: str, *, actor, at: datetime
) -> None:
    """The link's event on both stories (one project: in one append), and both stories' versions bumped."""
    rows: dict[int, list[tuple[Story, Change]]] = {pk: [] for pk in projects}
    for story, direction, other in ((source, OUTWARD, target), (target, INWARD, source)):
        change = Change(EventKind.LINK, action, None, _value(link, direction, other), to_name=other.key)
        rows[story.project_id].append((story, change))
    Story.objects.filter(pk__in=(source.pk, target.pk)).update(version=F("version") + 1, updated_at=at)
    for project_id in sorted(rows):
        _append_event_rows(projects[project_id], rows[project_id], actor=actor, at=at)


@transaction.atomic
def link_add(
    *,
    source: Story,
    target: Story,
    kind: str,
    actor: User | None,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> StoryLink:
    """Link ``source`` to ``target`` (``source`` blocks / relates to / duplicates ``target``).

    Refused (400 naming ``kind`` or ``target``): an unknown kind, the story itself, a deleted target, or a
    link of the same kind between the two already (either way round).
    """
    kind = _clean_kind(kind)
    if source.pk == target.pk:
        raise InvalidInput("A story cannot be linked to itself.", field="target")
    projects, source, target, at = _lock_both(source, target, at)
    if source.deleted_at is not None:
        raise NotFound(f"{source.key} has been deleted.")
    if expected_version is not None and expected_version != source.version:
        raise StaleVersion(current_version=source.version)
    if target.deleted_at is not None:
        raise InvalidInput(f"There is no story {target.key}.", field="target")
    pair = Q(source=source, target=target) | Q(source=target, target=source)
    if StoryLink.objects.filter(pair, kind=kind).exists():
        raise InvalidInput(
            f"{source.key} and {target.key} are already linked ({LinkKind(kind).label}).",
            field="target",
            code="duplicate",
        )
    link = StoryLink.objects.create(
        source=source,
        target=target,
        kind=kind,
        created_at=at,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _log(projects, link, source, target, ADDED, actor=actor, at=at)
    return link


@transaction.atomic
def link_remove(*, link: StoryLink, actor: User | None, at: datetime | None = None) -> None:
    """Remove a link: a ``removed`` link event on both stories."""
    source = Story(pk=link.source_id, project_id=link.source.project_id)
    target = Story(pk=link.target_id, project_id=link.target.project_id)
    projects, source, target, at = _lock_both(source, target, at)
    locked = StoryLink.objects.select_for_update().filter(pk=link.pk).first()
    if locked is None:
        raise NotFound(f"There is no link {link.pk}.")
    locked.delete()
    locked.pk = link.pk  # delete() clears it; the events name the link that was
    _log(projects, locked, source, target, REMOVED, actor=actor, at=at)


def _done_state(project_id: int) -> WorkflowState:
    state = WorkflowState.objects.filter(project_id=project_id, category=Category.DONE).order_by("position", "id")
    found = state.first()
    if found is None:
        raise InvalidInput("This project's workflow has no done state to close the story in.", field="state")
    return found


@transaction.atomic
def story_close_as_duplicate(
    *,
    story: Story,
    original: Story,
    actor: User | None,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Story:
    """Close ``story`` as a duplicate of ``original``: a ``duplicates`` link (unless there is one already) and a
    move to the project's first done state, both in one transaction (each with its events)."""
    linked = StoryLink.objects.filter(source=story, target=original, kind=LinkKind.DUPLICATES).exists()
    if not linked:
        link_add(
            source=story,
            target=original,
            kind=LinkKind.DUPLICATES,
            actor=actor,
            expected_version=expected_version,
            at=at,
        )
    done = _done_state(story.project_id)
    fresh = Story.objects.get(pk=story.pk)
    if linked and expected_version is not None and expected_version != fresh.version:
        raise StaleVersion(current_version=fresh.version)
    if fresh.state_id != done.pk:
        fresh = story_update(story=fresh, actor=actor, at=at, state=done)
    return fresh
