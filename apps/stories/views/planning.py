"""The planning page: the backlog beside the next sprint, the points planned against the team's average velocity.

Stories are dragged between the two lists (or moved with the "→ sprint" / "← backlog" buttons); each move is
saved at once through the backlog's move URL. The average velocity is METRICS.md's (the mean completed points
of the last three closed sprints), computed by ``sprintboard.sprints.velocity_report`` and cached per project
event sequence (``selectors.average_velocity``).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.core import errors
from apps.projects.models import Membership, Project, Role
from apps.projects.views import project_view, render_project
from apps.stories import selectors, services
from apps.stories.forms import SprintCreateForm
from apps.stories.views.backlog import backlog_context


@project_view(minimum=Role.PRODUCT_OWNER)
def planning(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    return _page(request, project, membership)


def _page(
    request: HttpRequest, project: Project, membership: Membership, create_form: SprintCreateForm | None = None
) -> HttpResponse:
    context = backlog_context(request, project, membership)
    context["filter_query"] = "planning=1"  # the backlog's next pages load with the "→ Sprint" buttons
    sprint = selectors.next_sprint(project)
    sprint_stories = selectors.list_rows(selectors.sprint_list(sprint), project_key=project.key) if sprint else []
    # The planned scope as the sprints list and the sprint page show it (no replay: a planned sprint has no report).
    planned = selectors.sprint_outcomes(project, sprints=[sprint])[sprint.pk] if sprint else None
    velocity = selectors.average_velocity(project)
    average = velocity.average_velocity if velocity else None
    return render_project(
        request,
        "stories/planning.html",
        project,
        membership,
        nav="planning",
        status=400 if create_form else 200,
        sprint=sprint,
        sprint_stories=sprint_stories,
        planned=planned,
        velocity=velocity,
        average=average,
        over=average is not None and planned is not None and planned.scope_points > average,
        target_sprint=sprint,
        create_form=create_form or SprintCreateForm(),
        **context,
    )


@require_POST
@project_view(minimum=Role.PRODUCT_OWNER)
def planning_sprint_create(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    """Create the next sprint, on the project's cadence, from the planning page."""
    form = SprintCreateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            sprint = services.sprint_create(
                project=project, actor=request.user, name=data["name"] or None, goal=data["goal"]
            )
        except errors.DomainError as exc:
            form.add_error("name" if exc.field == "name" else None, exc.message)
        else:
            messages.success(request, f"{sprint.name} is planned from {sprint.start:%-d %b} to {sprint.end:%-d %b %Y}.")
            return redirect("project-planning", key=project.key)
    return _page(request, project, membership, create_form=form)
