"""Pages: a project's integrations (admins): the code hosts' secret and moves, and Slack's /ask."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from apps.core.errors import DomainError
from apps.integrations import selectors, services
from apps.integrations.forms import SlackForm, StatesForm
from apps.projects.forms import add_domain_error
from apps.projects.models import Membership, Project, Role
from apps.projects.views import project_view, render_project


def _changes(action: str | None, states: StatesForm, slack: SlackForm) -> dict[str, Any] | None:
    """What a valid form asks to change; None when there is nothing (a GET, or a form with errors)."""
    if action == "states" and states.is_valid():
        return {name: getattr(states.cleaned_data[name], "pk", None) for name in ("opened_state", "merged_state")}
    if action == "slack" and slack.is_valid():
        changes: dict[str, Any] = {"slack_users": slack.cleaned_data["users"]}
        if slack.cleaned_data["signing_secret"]:
            changes["slack_signing_secret"] = slack.cleaned_data["signing_secret"]
        return changes
    if action == "slack-off":
        return {"slack_signing_secret": ""}
    return None


@project_view(minimum=Role.ADMIN)
def integrations_page(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    current = selectors.project_settings(project)
    action = request.POST.get("action") if request.method == "POST" else None
    initial = {"opened_state": current.opened_state, "merged_state": current.merged_state}
    states = StatesForm(request.POST if action == "states" else None, project=project, initial=initial)
    users = "\n".join(f"{slack_id} {username}" for slack_id, username in current.slack_users.items())
    slack = SlackForm(request.POST if action == "slack" else None, initial={"users": users})
    secret = None
    try:
        if action == "secret":  # shown on this answer only, never in a redirect's cookie
            _, secret = services.integration_update(project=project, rotate_secret=True)
            current = selectors.project_settings(project)
        elif (changes := _changes(action, states, slack)) is not None:
            services.integration_update(project=project, **changes)
            messages.success(request, "Integrations saved.")
            return redirect("project-integrations", key=project.key)
    except DomainError as exc:
        add_domain_error(states if action == "states" else slack, exc)
    return render_project(
        request,
        "integrations/settings.html",
        project,
        membership,
        nav="settings",
        status=400 if states.errors or slack.errors else 200,
        current=current,
        states_form=states,
        slack_form=slack,
        secret=secret,
    )
