"""The sprint board page."""

from __future__ import annotations

from collections import defaultdict

from django.http import HttpRequest, HttpResponse

from apps.projects.models import Membership, Project
from apps.projects.selectors import workflow
from apps.projects.views import project_view, render_project
from apps.stories.models import Sprint, SprintStatus, Story


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
