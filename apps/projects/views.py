"""Project pages: the list, creation and an admin's settings (details, members, workflow).

The settings sections answer htmx requests with their own fragment, so an edit
updates the list in place; without JavaScript the same forms post, redirect
and render the whole page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.core import errors
from apps.core.api_support import domain_error_body
from apps.core.http import user_of
from apps.projects import services
from apps.projects.forms import (
    MemberAddForm,
    MemberRoleForm,
    ProjectCreateForm,
    ProjectSettingsForm,
    StateDeleteForm,
    StateForm,
    StateMoveForm,
    add_domain_error,
)
from apps.projects.middleware import LAST_PAGE_COOKIE
from apps.projects.models import Category, Membership, Project, Role, WorkflowState
from apps.projects.selectors import project_for_user

# --- Shared by every project page (apps.stories and apps.web use these too) ---------


def project_view(minimum: str = Role.STAKEHOLDER) -> Callable:
    """Log in, find the project, check the role: non-members get 404, lower roles 403.

    The view is called as ``view(request, project, membership, **kwargs)``. A change the services refuse
    (a ``DomainError`` the view lets through) is answered here, once for every page: a fetch or htmx request
    gets the API's JSON error body and status; a form post gets the message and a redirect back to the page
    it came from (post/redirect/get: a reload never re-submits).
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, key: str, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                project, membership = project_for_user(user=request.user, key=key, minimum=minimum)
            except errors.NotFound as exc:
                raise Http404(exc.message) from None
            except errors.PermissionDenied as exc:
                raise PermissionDenied(exc.message) from None
            try:
                return view(request, project, membership, *args, **kwargs)
            except errors.DomainError as exc:
                return refused(request, project, exc)

        return login_required(wrapper)

    return decorate


def wants_json(request: HttpRequest) -> bool:
    """A page's script asking (fetch or htmx) rather than a browser following a form or a link."""
    return "application/json" in request.headers.get("Accept", "") or request.headers.get("HX-Request") == "true"


def back(request: HttpRequest, project: Project) -> str:
    """Where a form post returns: its ``next`` field or the page it came from, on this site; else the board."""
    for target in (request.POST.get("next", ""), request.headers.get("Referer", "")):
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
    return reverse("project-board", kwargs={"key": project.key})


def valid(form: forms.Form) -> dict[str, Any]:
    """The form's cleaned data, or an ``InvalidInput`` naming its first bad field (``project_view`` answers it)."""
    if not form.is_valid():
        name, problems = next(iter(form.errors.items()))
        if name == "__all__":
            raise errors.InvalidInput(str(problems[0]))
        raise errors.InvalidInput(f"{form[name].label}: {problems[0]}", field=name)
    return form.cleaned_data


def refused(request: HttpRequest, project: Project, exc: errors.DomainError) -> HttpResponse:
    if wants_json(request):
        response = JsonResponse(domain_error_body(exc), status=exc.status)
        if isinstance(exc, errors.TooManyRequests):
            response["Retry-After"] = str(exc.retry_after)
        return response
    messages.error(request, exc.message)
    return redirect(back(request, project))


def render_project(
    request: HttpRequest,
    template: str,
    project: Project,
    membership: Membership,
    *,
    nav: str,
    status: int = 200,
    **context: Any,
) -> HttpResponse:
    context.update(project=project, membership=membership, nav=nav, is_admin=membership.allows(Role.ADMIN))
    return render(request, template, context, status=status)


# --- List and create ----------------------------------------------------------------


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    memberships = Membership.objects.filter(user=user_of(request)).select_related("project").order_by("project__key")
    return render(request, "projects/project_list.html", {"memberships": memberships})


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Where a login lands without a ``next``: the last project page this browser opened, if the person may
    still see it; else the board of a person's one project, else the project list."""
    last = request.COOKIES.get(LAST_PAGE_COOKIE, "")
    match = re.match(r"^/p/([^/]+)/", last)
    if (
        match
        and url_has_allowed_host_and_scheme(last, allowed_hosts=None)
        and Membership.objects.filter(user=user_of(request), project__key=match[1]).exists()
    ):
        return redirect(last)
    keys = list(Membership.objects.filter(user=user_of(request)).values_list("project__key", flat=True)[:2])
    if len(keys) == 1:
        return redirect("project-board", key=keys[0])
    return redirect("project-list")


@login_required
def project_create(request: HttpRequest) -> HttpResponse:
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(creator=user_of(request), **form.cleaned_data)
        except errors.DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"{project.key} is ready.")
            return redirect("project-home", key=project.key)
    status = 400 if form.errors else 200
    return render(request, "projects/project_create.html", {"form": form}, status=status)


# --- Settings -----------------------------------------------------------------------


def _settings_context(project: Project, **forms: Any) -> dict[str, Any]:
    states = project.states.annotate(
        story_count=Count("stories"), deleted_count=Count("stories", filter=Q(stories__deleted_at__isnull=False))
    ).order_by("position", "id")
    return {
        "project_form": forms.get("project_form")
        or ProjectSettingsForm(initial={f: getattr(project, f) for f in services.PROJECT_FIELDS}),
        "members": project.memberships.select_related("user").order_by("user__username"),
        "member_form": forms.get("member_form") or MemberAddForm(),
        "member_errors": forms.get("member_errors", {}),
        "states": list(states),
        "state_form": forms.get("state_form") or StateForm(initial={"category": "active"}),
        "state_errors": forms.get("state_errors", {}),
        "workflow_saved": forms.get("workflow_saved", ""),
        "role_choices": Role.choices,
        "category_choices": Category.choices,
    }


def _settings_response(request, project, membership, *, section: str, ok: bool, **forms: Any) -> HttpResponse:
    """htmx: the section's fragment. Plain forms: redirect on success, the page with its errors otherwise."""
    if request.htmx:
        context = _settings_context(project, **forms) | {"project": project, "membership": membership}
        return render(request, f"projects/_{section}.html", context)
    if ok:
        return redirect(reverse("project-settings", kwargs={"key": project.key}) + f"#{section}")
    context = _settings_context(project, **forms)
    return render_project(request, "projects/settings.html", project, membership, nav="settings", status=400, **context)


@project_view(minimum=Role.ADMIN)
def project_settings(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    initial = {f: getattr(project, f) for f in services.PROJECT_FIELDS}
    form = ProjectSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.project_update(project=project, **form.cleaned_data)
        except errors.DomainError as exc:
            add_domain_error(form, exc)
            project.refresh_from_db()
        else:
            messages.success(request, "Project settings saved.")
            return redirect("project-settings", key=project.key)
    status = 400 if form.errors else 200
    context = _settings_context(project, project_form=form)
    return render_project(
        request, "projects/settings.html", project, membership, nav="settings", status=status, **context
    )


# --- Members --------------------------------------------------------------------------


@require_POST
@project_view(minimum=Role.ADMIN)
def member_add(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    form = MemberAddForm(request.POST)
    if form.is_valid():
        user = get_user_model().objects.filter(username=form.cleaned_data["username"]).first()
        try:
            if user is None:
                raise errors.NotFound(f"There is no user named {form.cleaned_data['username']}.", field="username")
            services.membership_add(project=project, user=user, role=form.cleaned_data["role"])
        except errors.DomainError as exc:
            add_domain_error(form, exc)
    ok = not form.errors
    return _settings_response(request, project, membership, section="members", ok=ok, member_form=None if ok else form)


ROW_ERRORS = {"members": "member_errors", "workflow": "state_errors"}


def _row_action(
    request, project, membership, *, section: str, row_id: int, action: Callable[[], object], saved: str = ""
) -> HttpResponse:
    """Run one service call on a row of a settings list; a refusal is shown beside that row, a success said."""
    try:
        action()
    except errors.DomainError as exc:
        row_errors = {ROW_ERRORS[section]: {row_id: exc.message}}
        return _settings_response(request, project, membership, section=section, ok=False, **row_errors)
    if saved and not request.htmx:
        messages.success(request, saved)
    return _settings_response(request, project, membership, section=section, ok=True, workflow_saved=saved)


def _valid(form: MemberRoleForm | StateForm | StateMoveForm | StateDeleteForm) -> dict[str, Any]:
    if not form.is_valid():
        raise errors.InvalidInput(_form_error(form))
    return form.cleaned_data


@require_POST
@project_view(minimum=Role.ADMIN)
def member_role(request: HttpRequest, project: Project, membership: Membership, member_id: int) -> HttpResponse:
    target = get_object_or_404(Membership, pk=member_id, project=project)
    form = MemberRoleForm(request.POST)
    return _row_action(
        request,
        project,
        membership,
        section="members",
        row_id=target.pk,
        action=lambda: services.membership_change_role(membership=target, role=_valid(form)["role"]),
    )


@require_POST
@project_view(minimum=Role.ADMIN)
def member_remove(request: HttpRequest, project: Project, membership: Membership, member_id: int) -> HttpResponse:
    target = get_object_or_404(Membership, pk=member_id, project=project)
    try:
        services.membership_remove(membership=target)
    except errors.DomainError as exc:
        return _settings_response(
            request, project, membership, section="members", ok=False, member_errors={target.pk: exc.message}
        )
    if target.pk == membership.pk:
        messages.info(request, f"You have left {project.key}.")
        response = redirect("project-list")
        response["HX-Redirect"] = response["Location"]
        return response
    return _settings_response(request, project, membership, section="members", ok=True)


# --- Workflow -------------------------------------------------------------------------


@require_POST
@project_view(minimum=Role.ADMIN)
def state_add(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    form = StateForm(request.POST)
    if form.is_valid():
        try:
            services.state_add(project=project, **form.cleaned_data)
        except errors.DomainError as exc:
            add_domain_error(form, exc)
    ok = not form.errors
    return _settings_response(request, project, membership, section="workflow", ok=ok, state_form=None if ok else form)


def _form_error(form: MemberRoleForm | StateForm | StateMoveForm | StateDeleteForm) -> str:
    field, messages_ = next(iter(form.errors.items()))
    if field not in form.fields:
        return str(messages_[0])
    return f"{form.fields[field].label or field.replace('_', ' ').capitalize()}: {messages_[0]}"


@require_POST
@project_view(minimum=Role.ADMIN)
def state_update(request: HttpRequest, project: Project, membership: Membership, state_id: int) -> HttpResponse:
    state = get_object_or_404(WorkflowState, pk=state_id, project=project)
    form = StateForm(request.POST)
    limit = form.data.get("wip_limit") or ""
    saved = f"{form.data.get('name') or state.name} is saved" + (
        f", with a WIP limit of {limit}." if limit.strip() else ", without a WIP limit."
    )
    return _row_action(
        request,
        project,
        membership,
        section="workflow",
        row_id=state.pk,
        action=lambda: services.state_update(state=state, **_valid(form)),
        saved=saved,
    )


@require_POST
@project_view(minimum=Role.ADMIN)
def state_move(request: HttpRequest, project: Project, membership: Membership, state_id: int) -> HttpResponse:
    state = get_object_or_404(WorkflowState, pk=state_id, project=project)
    form = StateMoveForm(request.POST)

    def move() -> None:
        step = -1 if _valid(form)["direction"] == "up" else 1
        current = [s.pk for s in project.states.order_by("position", "id")].index(state.pk)
        services.state_reorder(state=state, position=current + step)

    return _row_action(request, project, membership, section="workflow", row_id=state.pk, action=move)


@require_POST
@project_view(minimum=Role.ADMIN)
def state_delete(request: HttpRequest, project: Project, membership: Membership, state_id: int) -> HttpResponse:
    state = get_object_or_404(WorkflowState, pk=state_id, project=project)
    form = StateDeleteForm(request.POST)

    def delete() -> None:
        target = _valid(form)["move_to"]
        move_to = project.states.filter(pk=target).first() if target else None
        if target and move_to is None:
            raise errors.InvalidInput("Choose a state of this project to move the stories to.", field="move_to")
        services.state_delete(state=state, move_to=move_to, actor=user_of(request))

    return _row_action(request, project, membership, section="workflow", row_id=state.pk, action=delete)
