"""Stories: create, edit, move, block, delete and restore, comment; the validation of every field."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.core.errors import Conflict, InvalidInput, NotFound
from apps.deliverables.models import Deliverable
from apps.projects.events import Change
from apps.projects.models import Membership, Project, WipPolicy, WorkflowState
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
from apps.stories.selectors import BOTTOM, Placement, points_value
from apps.stories.services.events import (
    OWN_EVENT_KIND,
    _append_events,
    _lock,
    _logged,
    _pointing_at,
    _repoint,
    _rewrite,
    lock_project,
    value_name,
)
from apps.stories.services.ranking import (
    _already_there,
    _check_anchor,
    _new_rank,
    _rebalance_changes,
    _reread_anchor,
    _spot,
)
from apps.stories.services.search import SEARCHED_FIELDS, story_search_update
from sprintboard import projection

UNSET: Any = object()


TEXT_FIELDS = {"title": 300, "description": 20_000, "acceptance_criteria": 20_000}


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


def _check_in_project(project: Project, value: Any, field: str) -> None:
    if value is not None and value.project_id != project.pk:
        raise InvalidInput(f"That {field} belongs to another project.", field=field)


def _check_assignee(project: Project, user: User | None) -> None:
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


def _clean_kind(project: Project, story: Story, value: Any) -> str:
    if value not in StoryKind.values:
        raise InvalidInput(f"kind must be one of {', '.join(StoryKind.values)}.", field="kind")
    return value


def _clean_state(project: Project, story: Story, value: Any) -> WorkflowState:
    _check_in_project(project, value, "state")
    if value is None:
        raise InvalidInput("A story is always in a state.", field="state")
    _check_wip(project, story, value)
    return value


def _clean_sprint(project: Project, story: Story, value: Any) -> Sprint | None:
    _check_in_project(project, value, "sprint")
    _check_sprint_open(value)
    # The story's own sprint was read with the story under the project's lock (_lock), which sprint
    # starts and closes also take: its status is current, no need to ask the database again.
    if story.sprint is not None and story.sprint.status == SprintStatus.CLOSED:
        raise Conflict(
            f"{story.sprint.name} is closed: its history is not rewritten.", field="sprint", code="sprint_closed"
        )
    return value


def _clean_assignee(project: Project, story: Story, value: Any) -> Any:
    _check_assignee(project, value)
    return value


def _clean_labels(project: Project, story: Story, value: Any) -> list[Label]:
    labels = list(value)
    for label in labels:
        _check_in_project(project, label, "labels")
    return labels


def _in_project(field: str) -> Callable[[Project, Story, Any], Any]:
    def clean(project: Project, story: Story, value: Any) -> Any:
        _check_in_project(project, value, field)
        return value

    return clean


def _text(field: str) -> Callable[[Project, Story, Any], Any]:
    return lambda project, story, value: _clean_text(field, value)


# Each editable field and the function that checks (and normalises) a new value for it.
CLEANERS: dict[str, Callable[[Project, Story, Any], Any]] = {
    **{field: _text(field) for field in TEXT_FIELDS},
    "kind": _clean_kind,
    "points": lambda project, story, value: _clean_points(value),
    "state": _clean_state,
    "sprint": _clean_sprint,
    "epic": _in_project("epic"),
    "deliverable": _in_project("deliverable"),
    "assignee": _clean_assignee,
    "labels": _clean_labels,
}


def _clean(project: Project, story: Story, field: str, value: Any) -> Any:
    cleaner = CLEANERS.get(field)
    if cleaner is None:
        raise InvalidInput(f"{field} cannot be changed here.", field=field)
    return cleaner(project, story, value)


def _current(story: Story, field: str) -> Any:
    if field == "labels":
        return list(story.labels.all())
    return getattr(story, field)


def _same(field: str, old: Any, new: Any) -> bool:
    if field == "labels":
        return {label.pk for label in old} == {label.pk for label in new}
    return old == new


@transaction.atomic
def story_create(
    *,
    project: Project,
    actor: User | None,
    title: str,
    description: str = "",
    acceptance_criteria: str = "",
    kind: str = StoryKind.STORY,
    points: Any = None,
    state: WorkflowState | None = None,
    epic: Epic | None = None,
    labels: Iterable[Label] = (),
    assignee: User | None = None,
    sprint: Sprint | None = None,
    deliverable: Deliverable | None = None,
    placement: Placement = BOTTOM,
    at: datetime | None = None,
) -> Story:
    project, at = lock_project(project.pk, at)
    values: dict[str, Any] = {
        "title": title,
        "description": description,
        "acceptance_criteria": acceptance_criteria,
        "kind": kind,
    }
    values |= {"points": points, "epic": epic, "assignee": assignee, "sprint": sprint, "deliverable": deliverable}
    story = _cleaned_story(project, state, values)
    labels = _clean(project, story, "labels", labels)
    placement = _reread_anchor(placement)
    _check_anchor(project, None, placement.before or placement.after, sprint, "before" if placement.before else "after")
    _number(project, story)
    story.rank, rebalanced = _new_rank(project, _spot(project, placement, sprint, None), None)
    story.created_at = story.updated_at = at
    story.created_by = actor if getattr(actor, "pk", None) else None
    story.set_flow(
        projection.advance(None, kind=EventKind.CREATED, at=at, category=story.state.category), zone=project.tzinfo
    )
    story.save()
    if labels:
        story.labels.set(labels)
    created = Change(EventKind.CREATED, to_value=_created_snapshot(story, labels), to_name=value_name(story.state))
    changes = [created, *_rebalance_changes(rebalanced)]
    _append_events(project, story, changes, actor=actor, at=at)
    story_search_update(project_id=project.pk, story_ids=[story.pk])
    story.__dict__.pop("search_vector", None)  # deferred, as if read: a later save() never writes it back as null
    return story


def _cleaned_story(project: Project, state: WorkflowState | None, values: dict[str, Any]) -> Story:
    """A new, unsaved story of ``project`` with every value checked; in the first state unless one is given."""
    if state is None:
        state = WorkflowState.objects.filter(project=project).order_by("position", "id").first()
    story = Story(project=project)
    for field, value in {"state": state, **values}.items():
        setattr(story, field, _clean(project, story, field, value))
    return story


def _number(project: Project, story: Story) -> None:
    """Give a new story the project's next number and its key (the project's row is locked)."""
    project.last_story_number += 1
    Project.objects.filter(pk=project.pk).update(last_story_number=project.last_story_number)
    story.number = project.last_story_number
    story.key = f"{project.key}-{story.number}"


def _created_snapshot(story: Story, labels: Iterable[Label]) -> dict[str, Any]:
    """The ``created`` event's value: every field of the new row, so that replaying the log gives the row."""
    return {
        "state": story.state.pk,
        "sprint": story.sprint.pk if story.sprint else None,
        "points": points_value(story.points),
        "assignee": _logged("assignee", story.assignee),
        "title": story.title,
        "kind": story.kind,
        "epic": _logged("epic", story.epic),
        "labels": _logged("labels", labels),
        "deliverable": _logged("deliverable", story.deliverable),
        "rank": story.rank,
    }


@transaction.atomic
def story_update(
    *,
    story: Story,
    actor: User | None,
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
            Change(
                kind,
                "" if kind != EventKind.UPDATED else field,
                _logged(field, old),
                _logged(field, new),
                to_name=value_name(new),
            )
        )
        if field == "labels":
            locked.labels.set(new)
        else:
            setattr(locked, field, new)
    changes += _blocked_changes(locked, blocked, blocked_reason)
    if changes:
        _save(project, locked, changes, actor=actor, at=at)
    if any(change.field in SEARCHED_FIELDS for change in changes):
        story_search_update(project_id=project.pk, story_ids=[locked.pk])
    return locked


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


# Kinds that change one column of the story they are logged on and no flow fact: a save of theirs writes only
# that column (a rank move is the hottest write there is: the backlog's drag and drop; a rebalance is logged on
# the moved story, whose own change is its rank).
ONE_COLUMN_KINDS: dict[str, str] = {EventKind.RANK: "rank", EventKind.REBALANCED: "rank"}


def _save(project: Project, story: Story, changes: Sequence[Change], *, actor, at: datetime) -> None:
    story.version += 1
    story.updated_at = at
    if all(change.kind in ONE_COLUMN_KINDS for change in changes):  # saved with the events, one round trip
        columns = sorted({ONE_COLUMN_KINDS[change.kind] for change in changes})
        _append_events(project, story, changes, actor=actor, at=at, story_columns=[*columns, "version", "updated_at"])
        return
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
    actor: User | None,
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
        changes.append(
            Change(
                EventKind.SPRINT,
                "",
                _logged("sprint", locked.sprint),
                _logged("sprint", destination),
                to_name=value_name(destination),
            )
        )
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
    return locked


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
    return locked


@transaction.atomic
def story_restore(*, story: Story, actor, at: datetime | None = None) -> Story:
    project, locked, at = _lock(story, expected_version=None, at=at, allow_deleted=True)
    if locked.deleted_at is None:
        raise Conflict(f"{locked.key} is not deleted.", code="not_deleted")
    locked.deleted_at = None
    _save(project, locked, [Change(EventKind.RESTORED)], actor=actor, at=at)
    return locked


def _clean_comment(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("A comment needs some text.", field="body")
    if len(body) > 10_000:
        raise InvalidInput("A comment is at most 10000 characters.", field="body")
    return body.strip()


def comment_add(*, story: Story, author: User, body: str, at: datetime | None = None) -> Comment:
    body = _clean_comment(body)
    if story.deleted_at is not None:
        raise NotFound(f"{story.key} has been deleted.")
    with transaction.atomic():
        comment = Comment.objects.create(story=story, author=author, body=body, created_at=at or timezone.now())
        story_search_update(project_id=story.project_id, story_ids=[story.pk])
    signals.comment_added.send_robust(sender=Comment, comment=comment)
    return comment


@transaction.atomic
def comment_edit(*, comment: Comment, body: str) -> Comment:
    """Correct a comment's text (the admin's door; comments have no events)."""
    comment.body = _clean_comment(body)
    comment.save(update_fields=["body"])
    story_search_update(project_id=comment.story.project_id, story_ids=[comment.story_id])
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment) -> None:
    story = comment.story
    comment.delete()
    story_search_update(project_id=story.project_id, story_ids=[story.pk])


@transaction.atomic
def stories_unassign_user(*, user: User, at: datetime | None = None) -> int:
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
    change = Change(EventKind.STATE, "", state.pk, to.pk, to_name=value_name(to))
    for story in stories:
        story.state = to
        story.set_flow(_advanced(story, [change], at), zone=project.tzinfo)
    _rewrite(project, stories, [change] * len(stories), ["state", *Story.FLOW_FIELDS], actor=actor, at=at)
    return len(stories)
