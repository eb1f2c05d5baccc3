"""Reads shared by pages and the API: who may see and do what in a project."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from apps.core.errors import NotFound, PermissionDenied
from apps.projects.models import Membership, Project, Role, WorkflowState

ROLE_NAMES = dict(Role.choices)


def projects_for(user: User) -> QuerySet[Project]:
    return Project.objects.filter(memberships__user=user).order_by("key")


def membership_for(*, user: User | AnonymousUser, project: Project) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, project=project).first()


def require_role(*, user: User | AnonymousUser, project: Project, minimum: str) -> Membership:
    """The user's membership if it allows ``minimum``. Non-members learn nothing: 404, not 403."""
    membership = membership_for(user=user, project=project)
    if membership is None:
        raise NotFound(f"There is no project {project.key}.")
    if not membership.allows(minimum):
        raise PermissionDenied(f"This needs the {ROLE_NAMES[minimum].lower()} role or higher in {project.key}.")
    return membership


def project_for_user(
    *, user: User | AnonymousUser, key: str, minimum: str = Role.STAKEHOLDER
) -> tuple[Project, Membership]:
    project = Project.objects.filter(key=key).first() if isinstance(key, str) else None
    if project is None:
        raise NotFound(f"There is no project {key}.")
    return project, require_role(user=user, project=project, minimum=minimum)


def workflow(project: Project) -> list[WorkflowState]:
    return list(WorkflowState.objects.filter(project=project).order_by("position", "id"))
