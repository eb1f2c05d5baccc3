"""The backlog page."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse

from apps.projects.models import Membership, Project
from apps.projects.views import project_view, render_project
from apps.stories.models import Story
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
