"""The only writers of stories and sprints.

Every change to a story locks the project row (which allocates story numbers
and event sequence numbers, and so serialises writers within a project),
then the story row, refuses a stale ``expected_version``, updates the row and
appends one ``StoryEvent`` per changed field, all in one transaction. The
row's flow projection (``sprintboard.projection``) is advanced in the same
row write.

A change's time is taken once the project's lock is held, so the log's time
never decreases with its sequence. Every function accepts an explicit ``at``
so the demo seed and importers can write true history; an ``at`` earlier
than the project's last event is refused (``Conflict``, code
``out_of_order``): history is written oldest first, never clamped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet, Subquery
from django.utils import timezone

from apps.core.errors import Conflict, InvalidInput, NotFound, StaleVersion
from apps.deliverables.models import Deliverable
from apps.projects.events import Change
from apps.projects.models import CLOSED_CATEGORIES, Membership, Project, WipPolicy, WorkflowState
from apps.stories import signals
from apps.stories.models import (
    Comment,
    Epic,
    EventKind,
    Label,
    Sprint,
    SprintStatus,
    Story,
    StoryEvent,
    StoryKind,
)
from apps.stories.selectors import list_filter, points_value
from sprintboard import projection, ranking

UNSET: Any = object()
TEXT_FIELDS = {"title": 300, "description": 20_000, "acceptance_criteria": 20_000}
# Fields whose changes get an event kind of their own; every other field is logged as "updated".
OWN_EVENT_KIND = {
    "state": EventKind.STATE,
    "sprint": EventKind.SPRINT,
    "assignee": EventKind.ASSIGNEE,
    "points": EventKind.POINTS,
}
EDITABLE_FIELDS = (
    "title",
    "description",
    "acceptance_criteria",
    "kind",
    "points",
    "state",
    "epic",
    "labels",
    "assignee",
    "sprint",
    "deliverable",
)
# Long text is not copied into the log: the event says which field changed.
UNLOGGED_VALUES = {"description", "acceptance_criteria"}


# --- Event log -----------------------------------------------------------------


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
    Project.objects.filter(pk=project.pk).update(last_event_seq=project.last_event_seq, last_event_at=at)
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
            at=at,
        )
        for offset, (story, change) in enumerate(rows)
    )
    signals.events_appended.send(
        sender=StoryEvent, project_id=project.pk, first_seq=first, last_seq=project.last_event_seq
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


def _refresh(target: Story, source: Story) -> Story:
    """Copy the saved row onto the caller's instance so it does not keep a stale version."""
    target.__dict__.update({k: v for k, v in source.__dict__.items() if not k.startswith("_")})
    target._state = source._state
    target.__dict__.get("_prefetched_objects_cache", {}).clear()
    return target


# --- Validation of values that point at other rows -----------------------------------


def _check_in_project(project: Project, value: Any, field: str) -> None:
    if value is not None and value.project_id != project.pk:
        raise InvalidInput(f"That {field} belongs to another project.", field=field)


def _check_assignee(project: Project, user: AbstractBaseUser | None) -> None:
    if user is not None and not Membership.objects.filter(project=project, user=user).exists():
        raise InvalidInput(f"{user.get_username()} is not a member of {project.key}.", field="assignee")


def _check_sprint_open(sprint: Sprint | None) -> None:
    if sprint is not None and Sprint.objects.filter(pk=sprint.pk, status=SprintStatus.CLOSED).exists():
        raise Conflict(f"{sprint.name} is closed: its history is not rewritten.", field="sprint", code="sprint_closed")


def _clean_points(points: Any) -> Decimal | None:
    if points is None:
        return None
    if isinstance(points, bool):
        raise InvalidInput("points must be a number of at least 0, or null.", field="points")
    try:
        value = Decimal(str(points))
    except (InvalidOperation, ValueError):
        raise InvalidInput("points must be a number of at least 0, or null.", field="points") from None
    if not value.is_finite() or value < 0 or value >= 100_000 or value != value.quantize(Decimal("0.1")):
        raise InvalidInput("points must be a number from 0 to 99999 with at most one decimal.", field="points")
    return value


def _clean_text(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text.", field=field)
    if len(value) > TEXT_FIELDS[field]:
        raise InvalidInput(f"{field} is at most {TEXT_FIELDS[field]} characters.", field=field)
    if field == "title" and not value.strip():
        raise InvalidInput("A story needs a title.", field="title")
    return value.strip() if field == "title" else value


def _check_wip(project: Project, story: Story, state: WorkflowState) -> None:
    if project.wip_policy != WipPolicy.BLOCK or state.wip_limit is None:
        return
    count = Story.objects.alive().filter(state=state).exclude(pk=story.pk).count()
    if count >= state.wip_limit:
        raise Conflict(
            f"{state.name} is at its WIP limit of {state.wip_limit}: finish something there first.",
            field="state",
            code="wip_limit",
        )


def _clean(project: Project, story: Story, field: str, value: Any) -> Any:
    if field in TEXT_FIELDS:
        return _clean_text(field, value)
    if field == "kind":
        if value not in StoryKind.values:
            raise InvalidInput(f"kind must be one of {', '.join(StoryKind.values)}.", field="kind")
        return value
    if field == "points":
        return _clean_points(value)
    if field == "state":
        _check_in_project(project, value, "state")
        if value is None:
            raise InvalidInput("A story is always in a state.", field="state")
        _check_wip(project, story, value)
        return value
    if field == "sprint":
        _check_in_project(project, value, "sprint")
        _check_sprint_open(value)
        # The story's own sprint was read with the story under the project's lock (_lock), which sprint
        # starts and closes also take: its status is current, no need to ask the database again.
        if story.sprint is not None and story.sprint.status == SprintStatus.CLOSED:
            raise Conflict(
                f"{story.sprint.name} is closed: its history is not rewritten.", field="sprint", code="sprint_closed"
            )
        return value
    if field == "epic":
        _check_in_project(project, value, "epic")
        return value
    if field == "deliverable":
        _check_in_project(project, value, "deliverable")
        return value
    if field == "assignee":
        _check_assignee(project, value)
        return value
    if field == "labels":
        labels = list(value)
        for label in labels:
            _check_in_project(project, label, "labels")
        return labels
    raise InvalidInput(f"{field} cannot be changed here.", field=field)


def _current(story: Story, field: str) -> Any:
    if field == "labels":
        return list(story.labels.all())
    return getattr(story, field)


def _same(field: str, old: Any, new: Any) -> bool:
    if field == "labels":
        return {label.pk for label in old} == {label.pk for label in new}
    return old == new


# --- Rank placement ----------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """Where a story goes in a list: above ``before``, below ``after``, or at the list's top or bottom."""

    before: Story | None = None
    after: Story | None = None
    position: str | None = None

    def __post_init__(self) -> None:
        given = [self.before is not None, self.after is not None, self.position is not None]
        if sum(given) != 1:
            raise InvalidInput("Give exactly one of before, after or position.", field="position", code="placement")
        if self.position is not None and self.position not in ("top", "bottom"):
            raise InvalidInput('position must be "top" or "bottom".', field="position")


BOTTOM = Placement(position="bottom")
TOP = Placement(position="top")


class Spot(NamedTuple):
    """Where a story goes: the keys just below and above the spot among all the project's stories (keys are
    unique per project), and for a top or bottom placement the list's edge among the others (None: empty)."""

    lower: str | None
    upper: str | None
    edge: str | None = None


def _spot(project: Project, placement: Placement, sprint: Sprint | None, moving: int | None) -> Spot:
    """The spot of ``placement`` in ``sprint``'s list (the backlog for None), ``moving`` left out: one query."""
    everyone = Story.objects.filter(project=project).exclude(pk=moving)
    if placement.position is not None:
        return _edge_spot(everyone, placement.position == "top", sprint)
    if placement.before is not None:
        below = everyone.filter(rank__lt=placement.before.rank).order_by("-rank").values_list("rank", flat=True).first()
        return Spot(below, placement.before.rank)
    above = everyone.filter(rank__gt=placement.after.rank).order_by("rank").values_list("rank", flat=True).first()
    return Spot(placement.after.rank, above)


def _edge_spot(everyone: QuerySet[Story], top: bool, sprint: Sprint | None) -> Spot:
    """The list's first (or last) key and the project's next key beyond it, in one query."""
    edge = everyone.filter(list_filter(sprint)).order_by("rank" if top else "-rank").values("rank")[:1]
    if top:
        keys = list(everyone.filter(rank__lte=Subquery(edge)).order_by("-rank").values_list("rank", flat=True)[:2])
    else:
        keys = list(everyone.filter(rank__gte=Subquery(edge)).order_by("rank").values_list("rank", flat=True)[:2])
    if not keys:  # an empty list: below every key there is
        return Spot(everyone.aggregate(m=Max("rank"))["m"], None)
    beyond = keys[1] if len(keys) > 1 else None
    return Spot(beyond, keys[0], keys[0]) if top else Spot(keys[0], beyond, keys[0])


def _new_rank(project: Project, spot: Spot, moving: int | None) -> tuple[str, dict[str, str]]:
    """The rank key for the spot, and the keys a rebalance rewrote to make room ({story key: rank})."""
    key = ranking.key_between(spot.lower, spot.upper)
    if len(key) <= ranking.MAX_KEY_LENGTH:
        return key, {}
    return _rebalance_around(project, spot.lower, moving)


def _rebalance_around(project: Project, lower: str | None, moving: int | None) -> tuple[str, dict[str, str]]:
    """The gap is exhausted: give a neighbourhood fresh, short keys (order unchanged; one event lists them)."""
    rows = list(
        Story.objects.filter(project=project).exclude(pk=moving).order_by("rank").values_list("pk", "key", "rank")
    )
    keys = [rank for _, _, rank in rows]
    index = 0 if lower is None else keys.index(lower) + 1
    start, fresh = ranking.rebalance_window(keys, index)
    window = rows[start : start + len(fresh) - 1]
    new_keys = fresh[: index - start] + fresh[index - start + 1 :]
    Story.objects.bulk_update(
        [Story(pk=pk, rank=key) for (pk, _, _), key in zip(window, new_keys, strict=True)], ["rank"]
    )
    return fresh[index - start], {story_key: key for (_, story_key, _), key in zip(window, new_keys, strict=True)}


def _rebalance_changes(rebalanced: dict[str, str]) -> list[Change]:
    """One event for a whole rebalance (on the story whose placement caused it), naming every key rewritten."""
    return [Change(EventKind.REBALANCED, to_value=rebalanced)] if rebalanced else []


def _reread_anchor(placement: Placement) -> Placement:
    """The anchor as it is now, read under the project's lock: the caller's copy may predate another writer's move."""
    anchor = placement.before or placement.after
    if anchor is None or anchor.pk is None:
        return placement
    fresh = Story.objects.filter(pk=anchor.pk).first() or anchor
    return Placement(before=fresh) if placement.before is not None else Placement(after=fresh)


def _check_anchor(
    project: Project, story: Story | None, anchor: Story | None, sprint: Sprint | None, field: str
) -> None:
    if anchor is None:
        return
    if anchor.project_id != project.pk or anchor.deleted_at is not None:
        raise InvalidInput(f"{anchor.key} is not a story of {project.key}.", field=field, code="bad_anchor")
    if story is not None and anchor.pk == story.pk:
        raise InvalidInput("A story cannot be placed relative to itself.", field=field, code="bad_anchor")
    if not Story.objects.filter(pk=anchor.pk).filter(list_filter(sprint)).exists():
        where = sprint.name if sprint is not None else "the backlog"
        raise InvalidInput(f"{anchor.key} is not in {where}.", field=field, code="bad_anchor")


# --- Stories -------------------------------------------------------------------


@transaction.atomic
def story_create(
    *,
    project: Project,
    actor: AbstractBaseUser | None,
    title: str,
    description: str = "",
    acceptance_criteria: str = "",
    kind: str = StoryKind.STORY,
    points: Any = None,
    state: WorkflowState | None = None,
    epic: Epic | None = None,
    labels: Iterable[Label] = (),
    assignee: AbstractBaseUser | None = None,
    sprint: Sprint | None = None,
    deliverable: Deliverable | None = None,
    placement: Placement = BOTTOM,
    at: datetime | None = None,
) -> Story:
    project, at = lock_project(project.pk, at)
    if state is None:
        state = WorkflowState.objects.filter(project=project).order_by("position", "id").first()
    story = Story(project=project, state=state)
    values = {
        "title": title,
        "description": description,
        "acceptance_criteria": acceptance_criteria,
        "kind": kind,
        "points": points,
        "state": state,
        "epic": epic,
        "assignee": assignee,
        "sprint": sprint,
        "deliverable": deliverable,
    }
    for field, value in values.items():
        setattr(story, field, _clean(project, story, field, value))
    labels = _clean(project, story, "labels", labels)
    placement = _reread_anchor(placement)
    _check_anchor(project, None, placement.before or placement.after, sprint, "before" if placement.before else "after")
    project.last_story_number += 1
    Project.objects.filter(pk=project.pk).update(last_story_number=project.last_story_number)
    story.number = project.last_story_number
    story.key = f"{project.key}-{story.number}"
    story.rank, rebalanced = _new_rank(project, _spot(project, placement, sprint, None), None)
    story.created_at = story.updated_at = at
    story.created_by = actor if getattr(actor, "pk", None) else None
    story.set_flow(
        projection.advance(None, kind=EventKind.CREATED, at=at, category=state.category), zone=project.tzinfo
    )
    story.save()
    if labels:
        story.labels.set(labels)
    snapshot = {
        "state": state.pk,
        "sprint": sprint.pk if sprint else None,
        "points": points_value(story.points),
        "assignee": assignee.get_username() if assignee else None,
        # The rest of the row, so that replaying the log gives every field (verify_events checks it).
        "title": story.title,
        "kind": story.kind,
        "epic": _logged("epic", story.epic),
        "labels": _logged("labels", labels),
        "deliverable": _logged("deliverable", story.deliverable),
        "rank": story.rank,
    }
    changes = [Change(EventKind.CREATED, to_value=snapshot), *_rebalance_changes(rebalanced)]
    _append_events(project, story, changes, actor=actor, at=at)
    return story


@transaction.atomic
def story_update(
    *,
    story: Story,
    actor: AbstractBaseUser | None,
    expected_version: int | None = None,
    at: datetime | None = None,
    **fields: Any,
) -> Story:
    """Change any of ``EDITABLE_FIELDS`` (and ``blocked``/``blocked_reason``): one event per changed field."""
    blocked = fields.pop("blocked", UNSET)
    blocked_reason = fields.pop("blocked_reason", UNSET)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"{field} is not a field of a story that can be edited.", field=field)
    project, locked, at = _lock(story, expected_version=expected_version, at=at)
    changes: list[Change] = []
    for field, value in fields.items():
        new = _clean(project, locked, field, value)
        old = _current(locked, field)
        if _same(field, old, new):
            continue
        kind = OWN_EVENT_KIND.get(field, EventKind.UPDATED)
        changes.append(
            Change(kind, "" if kind != EventKind.UPDATED else field, _logged(field, old), _logged(field, new))
        )
        if field == "labels":
            locked.labels.set(new)
        else:
            setattr(locked, field, new)
    changes += _blocked_changes(locked, blocked, blocked_reason)
    if changes:
        _save(project, locked, changes, actor=actor, at=at)
    return _refresh(story, locked)


def _blocked_changes(story: Story, blocked: Any, reason: Any) -> list[Change]:
    if blocked is UNSET and reason is UNSET:
        return []
    blocked = story.blocked if blocked is UNSET else blocked
    if not isinstance(blocked, bool):
        raise InvalidInput("blocked must be true or false.", field="blocked")
    if not blocked:
        if not story.blocked:
            return []
        story.blocked, story.blocked_reason = False, ""
        return [Change(EventKind.UNBLOCKED)]
    reason = story.blocked_reason if reason is UNSET else reason
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("Say why the story is blocked.", field="blocked_reason")
    if len(reason) > 300:
        raise InvalidInput("blocked_reason is at most 300 characters.", field="blocked_reason")
    reason = reason.strip()
    if story.blocked and story.blocked_reason == reason:
        return []
    story.blocked, story.blocked_reason = True, reason
    return [Change(EventKind.BLOCKED, to_value=reason)]


def _save(project: Project, story: Story, changes: Sequence[Change], *, actor, at: datetime) -> None:
    story.version += 1
    story.updated_at = at
    story.set_flow(_advanced(story, changes, at), zone=project.tzinfo)
    story.save()
    _append_events(project, story, changes, actor=actor, at=at)


def _advanced(story: Story, changes: Sequence[Change], at: datetime) -> projection.StoryFlow:
    """The story's flow projection after ``changes`` (``story.state`` is already the state entered)."""
    flow = story.flow
    for change in changes:
        flow = projection.advance(flow, kind=change.kind, at=at, category=story.state.category)
    return flow  # type: ignore[return-value]


def story_change_state(
    *, story: Story, state: WorkflowState, actor, expected_version: int | None = None, at: datetime | None = None
) -> Story:
    return story_update(story=story, actor=actor, expected_version=expected_version, at=at, state=state)


def story_assign(
    *, story: Story, assignee, actor, expected_version: int | None = None, at: datetime | None = None
) -> Story:
    return story_update(story=story, actor=actor, expected_version=expected_version, at=at, assignee=assignee)


def story_estimate(
    *, story: Story, points: Any, actor, expected_version: int | None = None, at: datetime | None = None
) -> Story:
    return story_update(story=story, actor=actor, expected_version=expected_version, at=at, points=points)


def story_block(
    *, story: Story, reason: str, actor, expected_version: int | None = None, at: datetime | None = None
) -> Story:
    return story_update(
        story=story, actor=actor, expected_version=expected_version, at=at, blocked=True, blocked_reason=reason
    )


def story_unblock(*, story: Story, actor, expected_version: int | None = None, at: datetime | None = None) -> Story:
    return story_update(story=story, actor=actor, expected_version=expected_version, at=at, blocked=False)


@transaction.atomic
def story_move(
    *,
    story: Story,
    actor: AbstractBaseUser | None,
    placement: Placement,
    sprint: Sprint | None = UNSET,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Story:
    """Move a story in rank, and optionally into a sprint or the backlog (``sprint=None``) in the same step.

    Moving one story writes one story row (plus, rarely, a rebalanced neighbourhood of keys).
    """
    project, locked, at = _lock(story, expected_version=expected_version, at=at)
    placement = _reread_anchor(placement)
    changes: list[Change] = []
    destination = locked.sprint if sprint is UNSET else sprint
    if sprint is not UNSET and destination != locked.sprint:
        destination = _clean(project, locked, "sprint", destination)
        changes.append(Change(EventKind.SPRINT, "", _logged("sprint", locked.sprint), _logged("sprint", destination)))
        locked.sprint = destination
    anchor = placement.before or placement.after
    _check_anchor(project, locked, anchor, destination, "before" if placement.before else "after")
    spot = _spot(project, placement, destination, locked.pk)
    if changes or not _already_there(
        project, locked, placement, destination, spot
    ):  # a story changing lists is never already there
        new_rank, rebalanced = _new_rank(project, spot, locked.pk)
        changes += [Change(EventKind.RANK, "", locked.rank, new_rank), *_rebalance_changes(rebalanced)]
        locked.rank = new_rank
    if changes:
        _save(project, locked, changes, actor=actor, at=at)
    return _refresh(story, locked)


def _already_there(project: Project, story: Story, placement: Placement, sprint: Sprint | None, spot: Spot) -> bool:
    """True when the story already sits where it is asked to go, so a repeated move writes nothing.

    ``story`` is the row as locked and read by ``_lock`` (unchanged): whether it is in the list is known
    from it (what ``list_filter`` asks), without a query; for the top or bottom, so is the answer, from the
    list's edge among the other stories.
    """
    if story.deleted_at is not None:
        return False
    if sprint is not None:
        if story.sprint_id != sprint.pk:
            return False
    elif story.sprint_id is not None or story.state.category in CLOSED_CATEGORIES:
        return False
    if placement.position == "top":
        return spot.edge is None or story.rank < spot.edge
    if placement.position == "bottom":
        return spot.edge is None or story.rank > spot.edge
    in_list = Story.objects.filter(project=project).filter(list_filter(sprint))
    if placement.before is not None:
        next_key = in_list.filter(rank__gt=story.rank).order_by("rank").values_list("pk", flat=True).first()
        return next_key == placement.before.pk
    previous = in_list.filter(rank__lt=story.rank).order_by("-rank").values_list("pk", flat=True).first()
    return previous == placement.after.pk


@transaction.atomic
def stories_move(
    *,
    project: Project,
    stories: Sequence[Story],
    actor,
    placement: Placement,
    sprint: Sprint | None = UNSET,
    at: datetime | None = None,
) -> list[Story]:
    """Move several stories together; they keep their relative (rank) order at the destination."""
    if not stories:
        raise InvalidInput("Select at least one story.", field="keys")
    if len({s.pk for s in stories}) != len(stories):
        raise InvalidInput("A story is listed twice.", field="keys")
    anchor = placement.before or placement.after
    if anchor is not None and anchor.pk in {s.pk for s in stories}:
        raise InvalidInput(
            "The anchor cannot be one of the stories moved.",
            field="before" if placement.before else "after",
            code="bad_anchor",
        )
    ordered = sorted(stories, key=lambda s: s.rank)
    moved: list[Story] = []
    # Place the first as asked, then each next one just below the previous one.
    current = placement
    for story in ordered:
        moved.append(story_move(story=story, actor=actor, placement=current, sprint=sprint, at=at))
        current = Placement(after=moved[-1])
    return moved


@transaction.atomic
def story_delete(*, story: Story, actor, expected_version: int | None = None, at: datetime | None = None) -> Story:
    project, locked, at = _lock(story, expected_version=expected_version, at=at)
    locked.deleted_at = at
    _save(project, locked, [Change(EventKind.DELETED)], actor=actor, at=at)
    return _refresh(story, locked)


@transaction.atomic
def story_restore(*, story: Story, actor, at: datetime | None = None) -> Story:
    project, locked, at = _lock(story, expected_version=None, at=at, allow_deleted=True)
    if locked.deleted_at is None:
        raise Conflict(f"{locked.key} is not deleted.", code="not_deleted")
    locked.deleted_at = None
    _save(project, locked, [Change(EventKind.RESTORED)], actor=actor, at=at)
    return _refresh(story, locked)


def comment_add(*, story: Story, author: AbstractBaseUser, body: str, at: datetime | None = None) -> Comment:
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("A comment needs some text.", field="body")
    if len(body) > 10_000:
        raise InvalidInput("A comment is at most 10000 characters.", field="body")
    if story.deleted_at is not None:
        raise NotFound(f"{story.key} has been deleted.")
    return Comment.objects.create(story=story, author=author, body=body.strip(), created_at=at or timezone.now())


# --- Epics and labels ---------------------------------------------------------------


def _named(model, *, project: Project, instance=None, **values: Any):
    name = values.get("name", getattr(instance, "name", ""))
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("A name is required.", field="name")
    limit = model._meta.get_field("name").max_length
    if len(name) > limit:
        raise InvalidInput(f"name is at most {limit} characters.", field="name")
    values["name"] = name.strip()
    instance = instance or model(project=project)
    for field, value in values.items():
        setattr(instance, field, value)
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise Conflict(f"There is already one named {values['name']!r}.", field="name", code="duplicate") from None
    return instance


def epic_save(
    *, project: Project, epic: Epic | None = None, name: str | None = None, description: str | None = None, actor=None
) -> Epic:
    """Create or change an epic. ``actor`` is taken as label_save takes it, but renaming an epic changes no
    story: the log names epics by id."""
    values = {k: v for k, v in {"name": name, "description": description}.items() if v is not None}
    if "description" in values and not isinstance(values["description"], str):
        raise InvalidInput("description must be text.", field="description")
    return _named(Epic, project=project, instance=epic, **values)


@transaction.atomic
def label_save(
    *,
    project: Project,
    label: Label | None = None,
    name: str | None = None,
    color: str | None = None,
    actor=None,
    at: datetime | None = None,
) -> Label:
    """Create or change a label. The log names a story's labels, so renaming one logs the change on its stories."""
    values: dict[str, Any] = {"name": name} if name is not None else {}
    if color is not None:
        if not isinstance(color, str) or not (
            len(color) == 7 and color[0] == "#" and all(c in "0123456789abcdefABCDEF" for c in color[1:])
        ):
            raise InvalidInput("color is a hex colour such as #1f77b4.", field="color")
        values["color"] = color
    if label is None or name is None or name.strip() == label.name:
        return _named(Label, project=project, instance=label, **values)
    project, at = lock_project(project.pk, at)
    before = _label_names(Story.objects.filter(labels=label))
    label = _named(Label, project=project, instance=label, **values)
    _relabel(project, before, renamed={label.pk: label.name}, actor=actor, at=at)
    return label


# --- Unlinking stories from what is deleted or merged ------------------------------------------
# Deleting an epic, label, planned sprint, deliverable or workflow state changes the stories that point
# at it, deleted ones included: each gets its event and a new version, like any other change.


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


def _check_target(project: Project, target: Any, deleted: Any, field: str) -> None:
    if target is None:
        return
    if target.project_id != project.pk or target.pk == deleted.pk:
        raise InvalidInput(f"Merge into another {field} of {project.key}.", field="into")


@transaction.atomic
def epic_delete(*, epic: Epic, actor, into: Epic | None = None, at: datetime | None = None) -> None:
    """Delete an epic; its stories move to ``into`` (a merge) or to no epic, one ``updated`` event each."""
    project, at = lock_project(epic.project_id, at)
    _check_target(project, into, epic, "epic")
    _repoint(
        project,
        "epic",
        epic,
        into,
        Change(EventKind.UPDATED, "epic", epic.pk, _logged("epic", into)),
        actor=actor,
        at=at,
    )
    epic.delete()


def _label_names(stories: QuerySet[Story]) -> dict[int, list[tuple[int, str]]]:
    """Each story's labels as (id, name), for stories in ``stories``."""
    through = Story.labels.through.objects.filter(story__in=stories.values("pk")).order_by("label__name")
    names: dict[int, list[tuple[int, str]]] = {}
    for story_id, label_id, name in through.values_list("story_id", "label_id", "label__name"):
        names.setdefault(story_id, []).append((label_id, name))
    return names


def _relabel(
    project: Project,
    before: dict[int, list[tuple[int, str]]],
    *,
    renamed: dict[int, str],
    actor,
    at: datetime,
    dropped: int | None = None,
) -> None:
    """Log a labels change on every story of ``before``: ``dropped`` removed, ``renamed`` ids given new names."""
    stories = list(Story.objects.filter(pk__in=before).select_for_update(of=("self",)).order_by("pk"))
    changes = []
    for story in stories:
        old = sorted(name for _, name in before[story.pk])
        new = sorted({renamed.get(pk, name) for pk, name in before[story.pk] if pk != dropped})
        changes.append(Change(EventKind.UPDATED, "labels", old, new))
    _rewrite(project, stories, changes, [], actor=actor, at=at)


@transaction.atomic
def label_delete(*, label: Label, actor, into: Label | None = None, at: datetime | None = None) -> None:
    """Delete a label; its stories lose it (or get ``into`` instead: a merge), one ``updated`` event each."""
    project, at = lock_project(label.project_id, at)
    _check_target(project, into, label, "label")
    before = _label_names(Story.objects.filter(labels=label))
    if into is not None:
        into.stories.add(*before)
    renamed = {label.pk: into.name} if into is not None else {}
    _relabel(project, before, renamed=renamed, dropped=None if into is not None else label.pk, actor=actor, at=at)
    label.delete()


@transaction.atomic
def sprint_delete(*, sprint: Sprint, actor, at: datetime | None = None) -> None:
    """Delete a planned sprint; its stories go back to the backlog, one ``sprint`` event each."""
    project, at = lock_project(sprint.project_id, at)
    sprint = Sprint.objects.select_for_update().get(pk=sprint.pk)
    if sprint.status != SprintStatus.PLANNED:
        raise Conflict(
            f"{sprint.name} is {sprint.status}: only a planned sprint can be deleted.", code="bad_transition"
        )
    _repoint(project, "sprint", sprint, None, Change(EventKind.SPRINT, "", sprint.pk, None), actor=actor, at=at)
    sprint.delete()


@transaction.atomic
def stories_unassign_user(*, user: AbstractBaseUser, at: datetime | None = None) -> int:
    """Unassign a user about to be deleted from every story (deleted ones too), one ``assignee`` event each."""
    unassigned = 0
    project_ids = (
        Story.objects.filter(assignee=user).values_list("project_id", flat=True).distinct().order_by("project_id")
    )
    change = Change(EventKind.ASSIGNEE, "", _logged("assignee", user), None)
    for project_id in list(project_ids):
        project, when = lock_project(project_id, at)
        unassigned += _repoint(project, "assignee", user, None, change, actor=None, at=when)
    return unassigned


@transaction.atomic
def stories_unlink_deliverable(*, deliverable: Deliverable, actor, at: datetime | None = None) -> int:
    """Unlink every story from a deliverable about to be deleted, one ``updated`` event each; how many."""
    project, at = lock_project(deliverable.project_id, at)
    change = Change(EventKind.UPDATED, "deliverable", deliverable.pk, None)
    return _repoint(project, "deliverable", deliverable, None, change, actor=actor, at=at)


@transaction.atomic
def flow_rebuild(*, project: Project) -> int:
    """Fold the project's whole log into every story's flow projection again; how many stories were rewritten.

    For a change of a state's category (what counted as started or finished all along) or of the project's
    time zone (which days the cycle times span): rare settings changes, and the one write that reads the
    whole log.
    """
    project, _ = lock_project(project.pk, None)
    categories = dict(WorkflowState.all_objects.filter(project=project).values_list("pk", "category"))
    events = (
        StoryEvent.objects.filter(project=project).order_by("seq").values_list("story_id", "kind", "at", "to_value")
    )
    flows = projection.fold(events.iterator(chunk_size=10_000), categories)
    stories = list(Story.objects.filter(pk__in=flows).only("pk"))
    for story in stories:
        story.set_flow(flows[story.pk], zone=project.tzinfo)
    Story.objects.bulk_update(stories, Story.FLOW_FIELDS, batch_size=5_000)
    return len(stories)


@transaction.atomic
def stories_move_state(*, state: WorkflowState, to: WorkflowState, actor, at: datetime | None = None) -> int:
    """Move every story in ``state`` (deleted ones too) to ``to``, one ``state`` event each; how many.

    For emptying a state before it is deleted: the WIP limit of ``to`` is not enforced (the stories are
    already in the workflow; refusing would leave the state undeletable).
    """
    project, at = lock_project(state.project_id, at)
    if to.project_id != project.pk or to.pk == state.pk:
        raise InvalidInput(f"Move the stories to another state of {project.key}.", field="move_to")
    stories = _pointing_at(state=state)
    change = Change(EventKind.STATE, "", state.pk, to.pk)
    for story in stories:
        story.state = to
        story.set_flow(_advanced(story, [change], at), zone=project.tzinfo)
    _rewrite(project, stories, [change] * len(stories), ["state", *Story.FLOW_FIELDS], actor=actor, at=at)
    return len(stories)


# --- Sprints ---------------------------------------------------------------------


def _project_today(project: Project, at: datetime | None = None) -> date:
    return (at or timezone.now()).astimezone(project.tzinfo).date()


def next_sprint_dates(project: Project, *, at: datetime | None = None) -> tuple[date, date]:
    """The cadence: the day after the latest sprint ends, or today for a project's first sprint."""
    last_end = Sprint.objects.filter(project=project).aggregate(m=Max("end"))["m"]
    start = last_end + timedelta(days=1) if last_end else _project_today(project, at)
    return start, start + timedelta(days=project.sprint_length_days - 1)


def _check_dates(start: Any, end: Any) -> None:
    for field, value in (("start", start), ("end", end)):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise InvalidInput(f"{field} must be a date (YYYY-MM-DD).", field=field)
    if end < start:
        raise InvalidInput("A sprint cannot end before it starts.", field="end")


def _check_sprint_text(name: Any, goal: Any) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise InvalidInput("A sprint needs a name of at most 100 characters.", field="name")
    if not isinstance(goal, str) or len(goal) > 2000:
        raise InvalidInput("goal must be text of at most 2000 characters.", field="goal")


@transaction.atomic
def sprint_create(
    *,
    project: Project,
    actor,
    name: str | None = None,
    goal: str = "",
    start: date | None = None,
    end: date | None = None,
    at: datetime | None = None,
) -> Sprint:
    project = Project.objects.select_for_update().get(pk=project.pk)
    default_start, _ = next_sprint_dates(project, at=at)
    start = start if start is not None else default_start
    if end is None and isinstance(start, date):
        end = start + timedelta(days=project.sprint_length_days - 1)
    name = name if name is not None else f"Sprint {Sprint.objects.filter(project=project).count() + 1}"
    _check_sprint_text(name, goal)
    _check_dates(start, end)
    return Sprint.objects.create(project=project, name=name.strip(), goal=goal, start=start, end=end)


@transaction.atomic
def sprint_update(
    *,
    sprint: Sprint,
    name: str | None = None,
    goal: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Sprint:
    sprint = Sprint.objects.select_for_update().get(pk=sprint.pk)
    if sprint.status == SprintStatus.CLOSED:
        raise Conflict(f"{sprint.name} is closed: its history is not rewritten.", code="sprint_closed")
    sprint.name = name if name is not None else sprint.name
    sprint.goal = goal if goal is not None else sprint.goal
    sprint.start = start if start is not None else sprint.start
    sprint.end = end if end is not None else sprint.end
    _check_sprint_text(sprint.name, sprint.goal)
    _check_dates(sprint.start, sprint.end)
    sprint.save()
    return sprint


@transaction.atomic
def sprint_start(*, sprint: Sprint, actor, at: datetime | None = None) -> Sprint:
    """Start a planned sprint and record its commitment: its stories and their points at this moment."""
    project, at = lock_project(sprint.project_id, at)
    sprint = Sprint.objects.select_for_update().get(pk=sprint.pk)
    if sprint.status != SprintStatus.PLANNED:
        raise Conflict(
            f"{sprint.name} is {sprint.status}: only a planned sprint can be started.", code="bad_transition"
        )
    active = Sprint.objects.filter(project=sprint.project_id, status=SprintStatus.ACTIVE).first()
    if active is not None:
        raise Conflict(f"{active.name} is still active: close it before starting another.", code="sprint_active")
    stories = Story.objects.alive().filter(sprint=sprint).order_by("rank")
    sprint.commitment = [{"story": s.pk, "key": s.key, "points": points_value(s.points)} for s in stories]
    sprint.status, sprint.started_at, sprint.start_seq = SprintStatus.ACTIVE, at, project.last_event_seq
    try:
        with transaction.atomic():
            sprint.save()
    except IntegrityError:
        raise Conflict("Another sprint was started at the same moment.", code="sprint_active") from None
    return sprint


UNFINISHED_DESTINATIONS = ("next_sprint", "backlog")
CARRY_OVER_DELAY = timedelta(microseconds=1)


@transaction.atomic
def sprint_close(*, sprint: Sprint, actor, unfinished: str = "next_sprint", at: datetime | None = None) -> Sprint:
    """Close the active sprint; unfinished stories go to the next sprint or the top of the backlog."""
    if unfinished not in UNFINISHED_DESTINATIONS:
        raise InvalidInput('unfinished must be "next_sprint" or "backlog".', field="unfinished")
    project, at = lock_project(sprint.project_id, at)
    sprint = Sprint.objects.select_for_update().get(pk=sprint.pk)
    if sprint.status != SprintStatus.ACTIVE:
        raise Conflict(
            f"{sprint.name} is {sprint.status}: only the active sprint can be closed.", code="bad_transition"
        )
    carried = list(
        Story.objects.alive().filter(sprint=sprint).exclude(state__category__in=CLOSED_CATEGORIES).order_by("rank")
    )
    # The carry-over follows the close: a report "as at the close" counts these stories as not completed
    # in this sprint, not as removed from it.
    carry_at = at + CARRY_OVER_DELAY
    destination = (
        _next_sprint(project, sprint, actor=actor, at=carry_at) if unfinished == "next_sprint" and carried else None
    )
    if carried:
        placement = TOP if destination is None else BOTTOM
        stories_move(
            project=project, stories=carried, actor=actor, placement=placement, sprint=destination, at=carry_at
        )
    sprint.status, sprint.closed_at = SprintStatus.CLOSED, at
    sprint.save()
    # Listeners (the sprint report) act on the committed close; robust: a listener's error never undoes it.
    transaction.on_commit(lambda: signals.sprint_closed.send(sender=Sprint, sprint=sprint), robust=True)
    return sprint


def _next_sprint(project: Project, sprint: Sprint, *, actor, at: datetime) -> Sprint:
    following = (
        Sprint.objects.filter(project=project, status=SprintStatus.PLANNED, start__gte=sprint.start)
        .exclude(pk=sprint.pk)
        .order_by("start", "id")
        .first()
    )
    if following is not None:
        return following
    start, end = sprint.next_dates()
    return sprint_create(project=project, actor=actor, start=start, end=end, at=at)
