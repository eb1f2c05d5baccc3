"""The sprints pages: the list, creating the next sprint, a sprint's page, editing, starting and closing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from apps.core import errors
from apps.projects.forms import add_domain_error
from apps.projects.models import CLOSED_CATEGORIES, Membership, Project, Role
from apps.projects.views import project_view, render_project
from apps.stories import selectors, services
from apps.stories.models import Sprint, SprintStatus, Story

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StartForm(forms.Form):
    """The dates a sprint runs when it starts (a planned 7-20 Dec sprint started on 1 Dec moves to 1-14 Dec)."""

    start = forms.DateField(widget=DATE, required=False)
    end = forms.DateField(widget=DATE, required=False, help_text="The last day of the sprint (inclusive).")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("auto_id", "start-%s")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "A sprint cannot end before it starts.")
        return data


class SprintForm(forms.Form):
    name = forms.CharField(max_length=100)
    goal = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    start = forms.DateField(widget=DATE)
    end = forms.DateField(widget=DATE, help_text="The last day of the sprint (inclusive).")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "A sprint cannot end before it starts.")
        return data


class CloseForm(forms.Form):
    unfinished = forms.ChoiceField(
        label="Where do the unfinished stories go?",
        choices=[("next_sprint", "To the next sprint"), ("backlog", "To the top of the backlog")],
        widget=forms.RadioSelect,
        initial="next_sprint",
    )


def _points(stories: list[Story]) -> Decimal:
    return sum((story.points or Decimal(0) for story in stories), Decimal(0))


# --- The list and the next sprint ------------------------------------------------------------


def _new_sprint_form(project: Project) -> SprintForm:
    start, end = services.next_sprint_dates(project)
    name = f"Sprint {Sprint.objects.filter(project=project).count() + 1}"
    return SprintForm(initial={"name": name, "start": start, "end": end}, auto_id="new-sprint-%s")


def _sprints_page(
    request: HttpRequest, project: Project, membership: Membership, *, form: SprintForm | None = None, status: int = 200
) -> HttpResponse:
    rows = list(Sprint.objects.filter(project=project).order_by("start", "id"))
    outcomes = selectors.sprint_outcomes(project, sprints=rows)
    groups: dict[str, list[tuple[Sprint, selectors.SprintOutcome | None]]] = {
        status: [] for status in SprintStatus.values
    }
    for sprint in rows:
        groups[sprint.status].append((sprint, outcomes.get(sprint.pk)))
    can_plan = membership.allows(Role.PRODUCT_OWNER)
    return render_project(
        request,
        "stories/sprints.html",
        project,
        membership,
        nav="sprints",
        status=status,
        active=groups[SprintStatus.ACTIVE],
        planned=groups[SprintStatus.PLANNED],
        past=groups[SprintStatus.CLOSED][::-1],
        can_plan=can_plan,
        form=form or (_new_sprint_form(project) if can_plan else None),
    )


@project_view()
def sprints(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    return _sprints_page(request, project, membership)


@require_POST
@project_view(minimum=Role.PRODUCT_OWNER)
def sprint_new(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    form = SprintForm(request.POST, auto_id="new-sprint-%s")
    if form.is_valid():
        try:
            sprint = services.sprint_create(project=project, actor=request.user, **form.cleaned_data)
        except errors.DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"{sprint.name} is planned.")
            return redirect("project-sprint", key=project.key, sprint_id=sprint.pk)
    return _sprints_page(request, project, membership, form=form, status=400)


# --- One sprint ------------------------------------------------------------------------------


def _sprint(project: Project, sprint_id: int) -> Sprint:
    return get_object_or_404(Sprint.objects.select_related("project"), pk=sprint_id, project=project)


def _sprint_page(
    request: HttpRequest, project: Project, membership: Membership, sprint: Sprint, *, status: int = 200, **extra: Any
) -> HttpResponse:
    stories = list(Story.objects.alive().filter(sprint=sprint).select_related("state", "assignee").order_by("rank"))
    unfinished = [story for story in stories if story.state.category not in CLOSED_CATEGORIES]
    finished = [story for story in stories if story.state.category in CLOSED_CATEGORIES]
    can_plan = membership.allows(Role.PRODUCT_OWNER) and sprint.status != SprintStatus.CLOSED
    active = selectors.active_sprint(project)
    active = None if active == sprint else active
    context: dict[str, Any] = {
        "sprint": sprint,
        "stories": stories,
        "unfinished": unfinished,
        "finished": finished,
        "unfinished_points": _points(unfinished),
        "can_plan": can_plan,
        "other_active": active,
        "outcome": selectors.sprint_outcomes(project, sprints=[sprint]).get(sprint.pk),
    }
    if can_plan:
        initial = {"name": sprint.name, "goal": sprint.goal, "start": sprint.start, "end": sprint.end}
        context["edit_form"] = SprintForm(initial=initial, auto_id="edit-sprint-%s")
        context["close_form"] = CloseForm(auto_id="close-%s")
        if sprint.status == SprintStatus.PLANNED:
            context.update(_start_guardrails(project, sprint, context["outcome"]))
            context["start_form"] = extra.pop("start_form", None) or StartForm(initial=_start_dates(project, sprint))
        context["next_planned"] = selectors.following_sprint(sprint)
        context["new_sprint_dates"] = sprint.next_dates()
        today = services.project_today(project)
        context["days_early"] = (sprint.end - today).days if sprint.end and sprint.end > today else 0
    context.update(extra)
    return render_project(
        request, "stories/sprint_detail.html", project, membership, nav="sprints", status=status, **context
    )


@project_view()
def sprint_detail(request: HttpRequest, project: Project, membership: Membership, sprint_id: int) -> HttpResponse:
    return _sprint_page(request, project, membership, _sprint(project, sprint_id))


@require_POST
@project_view(minimum=Role.PRODUCT_OWNER)
def sprint_edit(request: HttpRequest, project: Project, membership: Membership, sprint_id: int) -> HttpResponse:
    sprint = _sprint(project, sprint_id)
    form = SprintForm(request.POST, auto_id="edit-sprint-%s")
    status, error = 400, None
    if form.is_valid():
        try:
            services.sprint_update(sprint=sprint, **form.cleaned_data)
        except errors.DomainError as exc:
            add_domain_error(form, exc)
            status, error = exc.status, exc.message
        else:
            messages.success(request, "Sprint saved.")
            return redirect("project-sprint", key=project.key, sprint_id=sprint.pk)
    sprint.refresh_from_db()
    return _sprint_page(request, project, membership, sprint, status=status, edit_form=form, error=error)


@require_POST
@project_view(minimum=Role.PRODUCT_OWNER)
def sprint_start(request: HttpRequest, project: Project, membership: Membership, sprint_id: int) -> HttpResponse:
    sprint = _sprint(project, sprint_id)
    form = StartForm(request.POST)
    if not form.is_valid():
        return _sprint_page(request, project, membership, sprint, status=400, start_form=form)
    start, end = form.cleaned_data.get("start"), form.cleaned_data.get("end")
    with transaction.atomic():
        if (start, end) != (None, None) and (start, end) != (sprint.start, sprint.end):
            sprint = services.sprint_update(sprint=sprint, start=start, end=end)
        sprint = services.sprint_start(sprint=sprint, actor=request.user)
    messages.success(request, _started_note(project, sprint))
    return redirect("project-sprint", key=project.key, sprint_id=sprint.pk)


@require_POST
@project_view(minimum=Role.PRODUCT_OWNER)
def sprint_delete(request: HttpRequest, project: Project, membership: Membership, sprint_id: int) -> HttpResponse:
    """Delete a planned sprint; its stories go back to the backlog (one event each)."""
    sprint = _sprint(project, sprint_id)
    services.sprint_delete(sprint=sprint, actor=request.user)
    messages.success(request, f"{sprint.name} is deleted; its stories are back in the backlog.")
    return redirect("project-sprints", key=project.key)


def _start_dates(project: Project, sprint: Sprint) -> dict[str, Any]:
    """The dates offered at the start: the planned ones if the sprint starts on its day, else today and the
    sprint's length (the project's sprint length for a sprint without dates)."""
    today = services.project_today(project)
    if sprint.start == today and sprint.end:
        return {"start": sprint.start, "end": sprint.end}
    days = sprint.length_days if sprint.start and sprint.end else project.sprint_length_days
    return {"start": today, "end": today + timedelta(days=days - 1)}


def _start_guardrails(project: Project, sprint: Sprint, outcome: Any) -> dict[str, Any]:
    """What to say before a start: an empty sprint, dates that are not today, a commitment over the velocity."""
    today = services.project_today(project)
    velocity = selectors.average_velocity(project)
    average = velocity.average_velocity if velocity is not None else None
    points = float(outcome.scope_points) if outcome is not None else 0.0
    return {
        "start_empty": outcome is None or not outcome.scope,
        "start_moves_dates": sprint.start != today,
        "start_velocity": average,
        "start_velocity_n": velocity.n if velocity is not None else 0,
        "start_over_committed": average is not None and points > average,
    }


def _started_note(project: Project, sprint: Sprint) -> str:
    # The commitment as the sprint report counts it (the page it redirects to reads the same cached outcome).
    outcome = selectors.sprint_outcomes(project, sprints=[sprint]).get(sprint.pk)
    if outcome is None:
        return f"{sprint.name} has started."
    n = len(outcome.committed)
    return f"{sprint.name} has started with a commitment of {n} stor{'y' if n == 1 else 'ies'}, {outcome.committed_points:g} points."


@project_view(minimum=Role.PRODUCT_OWNER)
def sprint_close(request: HttpRequest, project: Project, membership: Membership, sprint_id: int) -> HttpResponse:
    """GET: the close form on a page of its own (the sprint page opens the same form in a dialog)."""
    sprint = _sprint(project, sprint_id)
    if request.method != "POST":
        return _sprint_page(request, project, membership, sprint, closing=True)
    form = CloseForm(request.POST, auto_id="close-%s")
    if not form.is_valid():
        return _sprint_page(request, project, membership, sprint, status=400, close_form=form, closing=True)
    carried = list(
        Story.objects.alive()
        .filter(sprint=sprint)
        .exclude(state__category__in=CLOSED_CATEGORIES)
        .values_list("pk", flat=True)
    )
    # Per story, a choice that differs from the one for all ("story-<id>": next_sprint or backlog); others ignored.
    choices = {
        pk: request.POST[f"story-{pk}"]
        for pk in carried
        if request.POST.get(f"story-{pk}") in services.UNFINISHED_DESTINATIONS
    }
    unfinished = form.cleaned_data["unfinished"]
    sprint = services.sprint_close(sprint=sprint, actor=request.user, unfinished=unfinished, choices=choices)
    messages.success(request, f"{sprint.name} is closed.{_carried_note(carried)}")
    return redirect("project-sprint", key=project.key, sprint_id=sprint.pk)


def _carried_note(carried: list[int]) -> str:
    """Where the unfinished stories went: "2 unfinished stories moved to Sprint 2; 1 to the top of the backlog"."""
    if not carried:
        return ""
    places: dict[str, int] = {}
    for story in Story.objects.filter(pk__in=carried).select_related("sprint"):
        where = story.sprint.name if story.sprint else "the top of the backlog"
        places[where] = places.get(where, 0) + 1
    first, *others = sorted(places.items(), key=lambda item: item[0] == "the top of the backlog")
    n, where = first[1], first[0]
    note = f" {n} unfinished stor{'y' if n == 1 else 'ies'} moved to {where}"
    return note + "".join(f"; {count} to {place}" for place, count in others) + "."
