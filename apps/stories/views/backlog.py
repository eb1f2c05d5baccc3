"""The backlog page: the ordered backlog, filters, drag and drop with undo, buttons, inline create and edit.

The list shows one page of ``BACKLOG_PAGE_SIZE`` stories and loads the next as it scrolls into view
(htmx ``revealed``; without JavaScript, a "Load more" link), so a 10,000-story backlog renders its
first screen from one indexed range read. Every move is persisted at once by ``backlog_move``
(``static/js/backlog.js`` posts it for drags and the Top/Up/Down/Bottom buttons; without JavaScript
the buttons are plain forms). Its answer carries the placement that undoes it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import cached_property
from django.views.decorators.http import require_POST

from apps.core import errors
from apps.core.http import HtmxHttpRequest, user_of
from apps.projects.models import Membership, Project, Role
from apps.projects.views import project_view, render_project, valid, wants_json
from apps.stories import selectors, services
from apps.stories.forms import BacklogFilterForm, BulkForm, CreateForm, MoveForm, PointsForm
from apps.stories.models import Sprint, SprintStatus, Story

# A page of the list, and so the first screen's rows: two screens' worth at 1440x900 (the next page loads as
# the end of the list scrolls into view). Each row is most of a page's rendering time (issue 14: <= 20 ms).
BACKLOG_PAGE_SIZE = 25
PLACES = {"top": "to the top", "bottom": "to the bottom"}


class CountedPaginator(Paginator):
    """A paginator told how many there are (the page has counted them for its header): no COUNT of its own."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.known_count = count

    @cached_property
    def count(self) -> int:
        return self.known_count


def _totals_oob(request: HtmxHttpRequest, project: Project) -> str:
    """The header figures again, for an htmx answer to swap in out of band after a change (an inline create or
    estimate), counted under the filters of the page the change came from."""
    url = request.htmx.current_url_abs_path or ""
    query = QueryDict(urlsplit(url).query)
    if not url.startswith(reverse("project-backlog", kwargs={"key": project.key})):
        return ""  # the planning page counts its own way
    form = BacklogFilterForm(query or None, project=project, counts={})
    active = form.active()
    totals = selectors.list_totals(selectors.backlog_stories(project, active))
    context = {"totals": totals, "filtered": bool(active), "oob": True}
    return render_to_string("stories/_backlog_totals.html", context, request=request)


def backlog_context(request: HttpRequest, project: Project, membership: Membership) -> dict[str, Any]:
    """What the list needs: one page of rows (shared with the planning page)."""
    counts = selectors.backlog_counts(project)
    form = BacklogFilterForm(request.GET or None, project=project, counts=counts.by_filter)
    active = form.active()
    stories = selectors.backlog_stories(project, active)
    totals = selectors.list_totals(stories) if active else counts.totals
    page = CountedPaginator(stories, BACKLOG_PAGE_SIZE, count=totals["count"]).get_page(request.GET.get("page"))
    offset = (page.number - 1) * BACKLOG_PAGE_SIZE  # its rows are read as values (page.object_list is not read)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("rows", None)
    return {
        "page": page,
        "rows": selectors.list_rows(stories[offset : offset + BACKLOG_PAGE_SIZE], project_key=project.key),
        "filter_form": form,
        "filtered": bool(active),
        "filter_query": query.urlencode(),
        "totals": totals,
        "can_rank": membership.allows(Role.PRODUCT_OWNER),
        "can_edit": membership.allows(Role.MEMBER),
    }


@project_view()
def backlog(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    context = backlog_context(request, project, membership)
    if request.GET.get("rows"):  # the next page, appended as the list scrolls
        if request.GET.get("planning"):  # on the planning page, rows offer "→ Sprint"
            context["target_sprint"] = selectors.next_sprint(project)
        return render(request, "stories/_backlog_rows.html", {**context, "project": project, "membership": membership})
    sprints = Sprint.objects.filter(project=project).exclude(status=SprintStatus.CLOSED).order_by("start", "id")
    return render_project(
        request,
        "stories/backlog.html",
        project,
        membership,
        nav="backlog",
        create_form=CreateForm(),
        sprints=sprints,
        **context,
    )


# --- Moves -------------------------------------------------------------------------------


def _story(project: Project, key: str) -> Story:
    story = Story.objects.filter(project=project, key=key, deleted_at__isnull=True).select_related("sprint").first()
    if story is None:
        raise errors.InvalidInput(f"{key} is not a story of {project.key}.", field="story")
    return story


def _destination(project: Project, value: str) -> Any:
    if not value:
        return services.UNSET
    if value == "backlog":
        return None
    sprint = Sprint.objects.filter(project=project, pk=int(value)).first()
    if sprint is None:
        raise errors.InvalidInput(f"{project.key} has no sprint {value}.", field="sprint")
    return sprint


def _undo(story: Story, sprint_before: Sprint | None) -> dict[str, Any]:
    """The placement that puts a story back: above its old successor, or at the bottom of its old list."""
    successor = selectors.story_successor(story)
    undo: dict[str, Any] = {"before": successor} if successor else {"position": "bottom"}
    undo["sprint"] = str(sprint_before.pk) if sprint_before is not None else "backlog"
    return undo


def _describe(story: Story, data: dict[str, Any], moved_into: str | None = None) -> str:
    """What a move did, naming the list it went into when it changed lists ("... of Sprint 8", "... of the backlog")."""
    into = f" in {moved_into}" if moved_into else ""
    if data.get("position"):
        where = PLACES[data["position"]]
        return f"Moved {story.key} {where} of {moved_into}." if moved_into else f"Moved {story.key} {where}."
    anchor = data.get("before") or data.get("after")
    return f"Moved {story.key}{into} {'above' if data.get('before') else 'below'} {anchor}."


@require_POST
@project_view(minimum=Role.PRODUCT_OWNER)
def backlog_move(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    """Move one story; JSON for the page's script (with the undo), a redirect for a plain form."""
    data = valid(MoveForm(request.POST))
    story = _story(project, data["story"])
    sprint = _destination(project, data["sprint"])
    undo = _undo(story, story.sprint)
    moved = services.story_move(
        story=story,
        actor=user_of(request),
        placement=selectors.resolve_placement(project, data),
        sprint=sprint,
        expected_version=data["version"],
    )
    changed_list = sprint is not services.UNSET and undo["sprint"] != (str(sprint.pk) if sprint else "backlog")
    message = _describe(moved, data, (sprint.name if sprint else "the backlog") if changed_list else None)
    if wants_json(request):
        return JsonResponse({"key": moved.key, "version": moved.version, "undo": undo, "message": message})
    messages.success(request, message)
    return redirect(_back(request, project))


@require_POST
@project_view(minimum=Role.PRODUCT_OWNER)
def backlog_bulk(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    """Several selected stories to the top, the bottom or a sprint, keeping their relative order."""
    form = BulkForm(request.POST, project=project)
    if not form.is_valid():
        messages.error(request, str(next(iter(form.errors.values()))[0]))
        return redirect(_back(request, project))
    data = form.cleaned_data
    stories = list(Story.objects.filter(project=project, key__in=data["keys"], deleted_at__isnull=True))
    if len(stories) != len(set(data["keys"])):
        raise errors.InvalidInput("Some selected stories are no longer in this project; reload and try again.")
    count = f"{len(stories)} stor{'y' if len(stories) == 1 else 'ies'}"
    if data["action"] == "sprint":
        sprint = Sprint.objects.get(project=project, pk=data["sprint"])
        services.stories_move(
            project=project, stories=stories, actor=request.user, placement=services.BOTTOM, sprint=sprint
        )
        messages.success(request, f"Moved {count} to {sprint.name}.")
    else:
        placement = services.Placement(position=data["action"])
        services.stories_move(project=project, stories=stories, actor=request.user, placement=placement, sprint=None)
        messages.success(request, f"Moved {count} {PLACES[data['action']]} of the backlog.")
    return redirect(_back(request, project))


def _back(request: HttpRequest, project: Project) -> str:
    """Back to the page the form was on (the backlog or planning), never elsewhere."""
    pages = {reverse(name, kwargs={"key": project.key}) for name in ("project-backlog", "project-planning")}
    path = request.POST.get("next", "")
    return path if path in pages else reverse("project-backlog", kwargs={"key": project.key})


# --- Inline create and edit ---------------------------------------------------------------


def _row(request: HttpRequest, project: Project, membership: Membership, story: Story, **extra: Any) -> HttpResponse:
    context = {
        "rows": selectors.list_rows(Story.objects.filter(project=project, pk=story.pk), project_key=project.key),
        "project": project,
        "membership": membership,
        "can_rank": membership.allows(Role.PRODUCT_OWNER),
        "can_edit": membership.allows(Role.MEMBER),
        **extra,
    }
    return render(request, "stories/_list_rows.html", context)


@require_POST
@project_view(minimum=Role.MEMBER)
def backlog_create(request: HtmxHttpRequest, project: Project, membership: Membership) -> HttpResponse:
    form = CreateForm(request.POST)
    error = None
    if form.is_valid():
        try:
            story = services.story_create(
                project=project,
                actor=user_of(request),
                title=form.cleaned_data["title"],
                placement=services.Placement(position=form.cleaned_data["position"]),
            )
        except errors.DomainError as exc:
            error = exc.message
    else:
        error = str(next(iter(form.errors.values()))[0])
    if request.htmx:
        if error:
            return render(request, "stories/_backlog_status.html", {"message": error, "error": True})
        context = {
            "message": f"Added {story.key} at the {form.cleaned_data['position']} of the backlog.",
            "story": story,
            "position": form.cleaned_data["position"],
            "project": project,
        }
        response = (
            _row(request, project, membership, story, created=True) if form.cleaned_data["position"] == "top" else None
        )
        status = render(request, "stories/_backlog_status.html", context).content.decode() + _totals_oob(
            request, project
        )
        body = response.content.decode() if response else ""
        return HttpResponse(f'<ol hx-swap-oob="afterbegin:#backlog-list">{body}</ol>{status}' if response else status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Added {story.key} at the {form.cleaned_data['position']} of the backlog.")
    return redirect("project-backlog", key=project.key)


@require_POST
@project_view(minimum=Role.MEMBER)
def backlog_points(request: HtmxHttpRequest, project: Project, membership: Membership, story_key: str) -> HttpResponse:
    """Inline estimate: answers the row (with the error beside the points, if refused)."""
    story = get_object_or_404(Story, project=project, key=story_key, deleted_at__isnull=True)
    form = PointsForm(request.POST)
    error = None
    try:
        if not form.is_valid():
            raise errors.InvalidInput(str(next(iter(form.errors.values()))[0]), field="points")
        services.story_estimate(
            story=story,
            points=form.cleaned_data["points"],
            actor=request.user,
            expected_version=form.cleaned_data["version"],
        )
    except errors.DomainError as exc:
        error = exc.message
    if request.htmx:
        row = _row(request, project, membership, story, points_error=error)
        if not error:
            row.content += _totals_oob(request, project).encode()
        return row
    (messages.error if error else messages.success)(request, error or f"{story.key} is estimated.")
    return redirect("project-backlog", key=project.key)
