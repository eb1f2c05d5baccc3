"""Reads shared by pages and the API: who may see and do what in a project."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value

from apps.core.errors import NotFound, PermissionDenied
from apps.projects.models import Membership, Project, Role, WorkflowState

ROLE_NAMES = dict(Role.choices)
UNREAD = object()  # require_role: the role has not been read yet


def projects_for(user: User) -> QuerySet[Project]:
    return Project.objects.filter(memberships__user=user).order_by("key")


def membership_for(*, user: User | AnonymousUser, project: Project) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, project=project).first()


def role_in_project(user: User | AnonymousUser) -> Subquery | Value:
    """An annotation for rows with a ``project``: ``user``'s role in it (None for a non-member), read with the row."""
    if not user.is_authenticated:
        return Value(None, output_field=CharField())
    return Subquery(Membership.objects.filter(project=OuterRef("project_id"), user=user.pk).values("role")[:1])


# ``role_in_project`` as a column of a hand-built SELECT (apps/core/rows.py) whose row has the alias t0; %s: the
# user's id (None: no role).
ROLE_IN_PROJECT_SQL = (
    f"(SELECT m.role FROM {Membership._meta.db_table} m WHERE m.project_id = t0.project_id AND m.user_id = %s LIMIT 1)"  # noqa: S608
)


def require_role(
    *, user: User | AnonymousUser, project: Project, minimum: str, role: str | None | object = UNREAD
) -> Membership:
    """The user's membership if it allows ``minimum``. Non-members learn nothing: 404, not 403.

    ``role``: the user's role as already read (``role_in_project``), None for none; otherwise it is looked up.
    """
    if role is UNREAD:
        membership = membership_for(user=user, project=project)
    elif isinstance(role, str) and isinstance(user, User):  # a role is only ever read for a signed-in user
        membership = Membership(user=user, project=project, role=role)
    else:
        membership = None
    if membership is None:
        raise NotFound(f"There is no project {project.key}.")
    if not membership.allows(minimum):
        raise PermissionDenied(f"This needs the {ROLE_NAMES[minimum].lower()} role or higher in {project.key}.")
    return membership


def project_for_user(
    *, user: User | AnonymousUser, key: str, minimum: str = Role.STAKEHOLDER
) -> tuple[Project, Membership]:
    """The project ``key`` and the user's membership, read together (one query on every project page and API
    call); as ``require_role``, a project the user is not a member of is not found."""
    membership = None
    if isinstance(key, str) and user.is_authenticated:
        membership = Membership.objects.filter(user=user, project__key=key).select_related("project").order_by().first()
    if membership is None:
        raise NotFound(f"There is no project {key}.")
    if not membership.allows(minimum):
        raise PermissionDenied(f"This needs the {ROLE_NAMES[minimum].lower()} role or higher in {key}.")
    return membership.project, membership


def workflow(project: Project) -> list[WorkflowState]:
    return list(WorkflowState.objects.filter(project=project).order_by("position", "id"))
