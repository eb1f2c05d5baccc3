"""Pages: download stories as CSV (backlog, sprint), and an admin's project backup and restore.

The backlog's CSV takes the backlog page's own filters (``BacklogFilterForm``, ``selectors.backlog_stories``),
so the download holds what the page lists; a sprint's holds the sprint page's stories.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.core.downloads import json_download
from apps.core.errors import DomainError
from apps.core.http import user_of
from apps.projects.forms import add_domain_error
from apps.projects.models import Membership, Project, Role
from apps.projects.views import project_view, render_project
from apps.stories import selectors
from apps.stories.exports import stories_csv
from apps.stories.forms import BacklogFilterForm
from apps.stories.models import Sprint
from apps.transfer import services
from apps.transfer.forms import RestoreForm


@require_GET
@project_view()
def backlog_csv(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    filters = BacklogFilterForm(request.GET or None, project=project, counts={}).active()
    return stories_csv(project, selectors.backlog_stories(project, filters), name="backlog")


@require_GET
@project_view()
def sprint_csv(request: HttpRequest, project: Project, membership: Membership, sprint_id: int) -> HttpResponse:
    sprint = get_object_or_404(Sprint, pk=sprint_id, project=project)
    return stories_csv(project, selectors.sprint_list(sprint), name=f"sprint-{sprint.pk}")


@require_GET
@project_view(minimum=Role.ADMIN)
def project_backup(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    today = timezone.localtime(timezone.now(), project.tzinfo).date().isoformat()
    return json_download(services.project_export(project), filename=f"{project.key}-backup-{today}.json", indent=None)


@project_view(minimum=Role.ADMIN)
def project_restore(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    form = RestoreForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            document = services.document_load(form.cleaned_data["document"].read())
            restored = services.project_import(
                document=document,
                key=form.cleaned_data["key"],
                name=form.cleaned_data["name"] or None,
                actor=user_of(request),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"{restored.key} was restored from the backup of {project.key}.")
            return redirect("project-home", key=restored.key)
    status = 400 if form.errors else 200
    return render_project(
        request, "transfer/restore.html", project, membership, nav="settings", status=status, restore_form=form
    )
