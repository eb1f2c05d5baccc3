"""The sprints pages."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse

from apps.projects.models import Category, Membership, Project
from apps.projects.views import project_view, render_project
from apps.stories.models import Sprint, SprintStatus


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
