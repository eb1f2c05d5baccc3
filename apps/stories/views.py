"""The backlog, the board and the sprint list: read-only for now, a fixed number of queries each."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse

from apps.projects.models import Category, Membership, Project
from apps.projects.selectors import workflow
from apps.projects.views import project_view, render_project
from apps.stories.models import Sprint, SprintStatus, Story
from apps.stories.services import backlog_filter

BACKLOG_PAGE_SIZE = 100


@project_view()
def backlog(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    stories = (
        Story.objects.filter(project=project).filter(backlog_filter())
        .select_related("epic", "assignee").order_by("rank")
    )
    page = Paginator(stories, BACKLOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render_project(request, "stories/backlog.html", project, membership, nav="backlog", page=page)


@project_view()
def board(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    sprint = Sprint.objects.filter(project=project, status=SprintStatus.ACTIVE).first()
    columns = []
    if sprint is not None:
        by_state = defaultdict(list)
        for story in Story.objects.alive().filter(sprint=sprint).select_related("assignee").order_by("rank"):
            by_state[story.state_id].append(story)
        columns = [(state, by_state[state.pk]) for state in workflow(project)]
    return render_project(request, "stories/board.html", project, membership, nav="board", sprint=sprint, columns=columns)


def _committed_points(sprint: Sprint) -> Decimal:
    return sum((Decimal(str(item.get("points") or 0)) for item in sprint.commitment), Decimal(0))


@project_view()
def sprints(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    alive = Q(stories__deleted_at__isnull=True)
    rows = Sprint.objects.filter(project=project).annotate(
        story_count=Count("stories", filter=alive),
        scope_points=Sum("stories__points", filter=alive),
        completed_points=Sum("stories__points", filter=alive & Q(stories__state__category=Category.DONE)),
    )
    groups: dict[str, list[Sprint]] = {status: [] for status in SprintStatus.values}
    for sprint in rows.order_by("start", "id"):
        # Before start there is no commitment yet: what is planned is the current scope.
        sprint.committed_points = sprint.scope_points or 0 if sprint.status == SprintStatus.PLANNED else _committed_points(sprint)
        groups[sprint.status].append(sprint)
    return render_project(
        request, "stories/sprints.html", project, membership, nav="sprints",
        active=groups[SprintStatus.ACTIVE], planned=groups[SprintStatus.PLANNED], past=groups[SprintStatus.CLOSED][::-1],
    )
