"""Writes to projects, memberships and workflows. Each function is one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from types import EllipsisType

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.errors import Conflict, InvalidInput
from apps.projects import signals
from apps.projects.models import (
    CLOSED_CATEGORIES,
    DEFAULT_WORKFLOW,
    Category,
    Membership,
    Project,
    Role,
    WorkflowState,
    project_key_validator,
)

PROJECT_FIELDS = ("name", "sprint_length_days", "timezone", "wip_policy")


def _validated(instance, *, exclude: Sequence[str] = ()) -> None:
    try:
        instance.full_clean(exclude=list(exclude), validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(messages[0], field=None if field == "__all__" else field) from None


@transaction.atomic
def project_create(
    *,
    creator: User,
    key: str,
    name: str,
    sprint_length_days: int = 14,
    timezone: str = "UTC",
    wip_policy: str = "warn",
) -> Project:
    project = Project(
        key=key, name=name, sprint_length_days=sprint_length_days, timezone=timezone, wip_policy=wip_policy
    )
    _validated(project, exclude=["key"])
    _validated_key(key)
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError:
        raise Conflict(f"A project with key {key} already exists.", field="key", code="duplicate") from None
    WorkflowState.objects.bulk_create(
        WorkflowState(project=project, name=name, category=category, position=position)
        for position, (name, category) in enumerate(DEFAULT_WORKFLOW)
    )
    Membership.objects.create(project=project, user=creator, role=Role.ADMIN)
    return project


def _validated_key(key: str) -> None:
    try:
        project_key_validator(key)
    except ValidationError as exc:
        raise InvalidInput(exc.messages[0], field="key") from None


@transaction.atomic
def project_update(*, project: Project, **fields) -> Project:
    unknown = set(fields) - set(PROJECT_FIELDS)
    if unknown:
        raise InvalidInput(f"{sorted(unknown)[0]} cannot be changed.", field=sorted(unknown)[0])
    rezoned = "timezone" in fields and fields["timezone"] != project.timezone
    for name, value in fields.items():
        setattr(project, name, value)
    _validated(project)
    project.save(update_fields=list(fields) or None)
    if rezoned:
        signals.flow_definitions_changed.send(sender=Project, project=project)
    return project


# --- Members -----------------------------------------------------------------


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise InvalidInput(f"role must be one of {', '.join(Role.values)}.", field="role")


@transaction.atomic
def membership_add(*, project: Project, user: User, role: str) -> Membership:
    _check_role(role)
    membership, created = Membership.objects.get_or_create(project=project, user=user, defaults={"role": role})
    if not created:
        raise Conflict(
            f"{user.get_username()} is already a member of {project.key}.", field="username", code="duplicate"
        )
    return membership


def _admins_left_without(membership: Membership) -> int:
    others = Membership.objects.select_for_update().filter(project=membership.project_id, role=Role.ADMIN)
    return others.exclude(pk=membership.pk).count()


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str) -> Membership:
    _check_role(role)
    if membership.role == Role.ADMIN and role != Role.ADMIN and _admins_left_without(membership) == 0:
        raise Conflict(
            "A project needs at least one admin: make someone else admin first.", field="role", code="last_admin"
        )
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    if membership.role == Role.ADMIN and _admins_left_without(membership) == 0:
        raise Conflict("A project needs at least one admin: make someone else admin first.", code="last_admin")
    membership.delete()


# --- Workflow ----------------------------------------------------------------


def _check_category(category: str) -> None:
    if category not in Category.values:
        raise InvalidInput(f"category must be one of {', '.join(Category.values)}.", field="category")


def _check_state_name(project: Project, name: str, *, exclude: int | None = None) -> None:
    if not name.strip():
        raise InvalidInput("A state needs a name.", field="name")
    if len(name) > 60:
        raise InvalidInput("A state's name is at most 60 characters.", field="name")
    if WorkflowState.objects.filter(project=project, name=name).exclude(pk=exclude).exists():  # type: ignore[misc]  # pk=None excludes no row
        raise Conflict(f"There is already a state named {name!r}.", field="name", code="duplicate")


def _check_wip_limit(wip_limit: int | None) -> None:
    if wip_limit is not None and (isinstance(wip_limit, bool) or not isinstance(wip_limit, int) or wip_limit < 1):
        raise InvalidInput("wip_limit is a whole number of at least 1, or null for no limit.", field="wip_limit")


@transaction.atomic
def state_add(
    *, project: Project, name: str, category: str, wip_limit: int | None = None, position: int | None = None
) -> WorkflowState:
    Project.objects.select_for_update().get(pk=project.pk)
    _check_state_name(project, name)
    _check_category(category)
    _check_wip_limit(wip_limit)
    existing = list(WorkflowState.objects.filter(project=project).order_by("position", "id"))
    last = max((s.position for s in existing), default=0)
    state = WorkflowState.objects.create(
        project=project, name=name, category=category, wip_limit=wip_limit, position=last + 1
    )
    if position is None and category not in CLOSED_CATEGORIES:
        # A new open state goes before the closed ones (Done, Won't do), where the board's work flows.
        position = next((i for i, s in enumerate(existing) if s.category in CLOSED_CATEGORIES), None)
    if position is not None:
        state_reorder(state=state, position=position)
    return state


@transaction.atomic
def state_update(
    *,
    state: WorkflowState,
    name: str | None = None,
    category: str | None = None,
    wip_limit: int | None | EllipsisType = ...,
    position: int | None = None,
) -> WorkflowState:
    Project.objects.select_for_update().get(pk=state.project_id)
    if name is not None:
        _check_state_name(state.project, name, exclude=state.pk)
        state.name = name
    recategorised = category is not None and category != state.category
    if category is not None:
        _check_category(category)
        state.category = category
    if wip_limit is not ...:
        _check_wip_limit(wip_limit)
        state.wip_limit = wip_limit
    state.save()
    if recategorised:
        signals.flow_definitions_changed.send(sender=WorkflowState, project=state.project)
    if position is not None:
        state_reorder(state=state, position=position)
    return state


@transaction.atomic
def state_reorder(*, state: WorkflowState, position: int) -> list[WorkflowState]:
    """Move a state to ``position`` (0-based) in its workflow; the others keep their order."""
    states = list(WorkflowState.objects.select_for_update().filter(project=state.project_id).order_by("position", "id"))
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < len(states):
        raise InvalidInput(f"position must be between 0 and {len(states) - 1}.", field="position")
    ordered = [s for s in states if s.pk != state.pk]
    ordered.insert(position, next(s for s in states if s.pk == state.pk))
    for index, item in enumerate(ordered):
        item.position = index
    WorkflowState.objects.bulk_update(ordered, ["position"])
    return ordered


@transaction.atomic
def state_delete(*, state: WorkflowState, move_to: WorkflowState | None = None, actor: User | None = None) -> None:
    """Take a state out of the workflow once it holds no story, deleted ones included (``move_to`` moves them
    there first). The row stays, marked deleted, so the history that passed through it still replays."""
    Project.objects.select_for_update().get(pk=state.project_id)
    if WorkflowState.objects.filter(project=state.project_id).count() <= 1:
        raise Conflict("A workflow needs at least one state.", code="last_state")
    if move_to is not None:
        if move_to.project_id != state.project_id or move_to.pk == state.pk:
            raise InvalidInput("Move the stories to another state of this project.", field="move_to")
        signals.state_deleting.send(sender=WorkflowState, state=state, move_to=move_to, actor=actor)
    held = state.stories.count()
    if held:
        deleted = state.stories.filter(deleted_at__isnull=False).count()
        hidden = f" ({deleted} of them deleted)" if deleted else ""
        raise Conflict(
            f"{state.name} still holds {held} stor{'y' if held == 1 else 'ies'}{hidden}: move them to another state first.",
            field="move_to",
            code="state_in_use",
        )
    # Kept as a row: the log's past events name it, and the reports replay them with its category.
    state.deleted_at = timezone.now()
    state.save(update_fields=["deleted_at"])
