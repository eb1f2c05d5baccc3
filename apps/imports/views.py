"""The import pages (product owners and admins): upload, review and edit the mapping, confirm, watch the
progress (htmx polling), read the summary. Each page calls the same services as the API."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import DomainError
from apps.core.http import user_of
from apps.imports import selectors, services
from apps.imports.models import Import, ImportSource
from apps.projects.models import Category, Membership, Project, Role
from apps.projects.views import project_view, render_project
from sprintboard import csvimport, jira

KIND_CHOICES = [(kind, kind.title() if kind != "skip" else "Skip it") for kind in jira.KINDS]


def _import(project: Project, import_id: int) -> Import:
    found = selectors.import_by_id(import_id, project=project)
    if found is None:
        raise Http404(f"There is no import {import_id} in {project.key}.")
    return found


def _errors(exc: DomainError) -> list[str]:
    if isinstance(exc, services.ImportRefused):
        return [str(problem) for problem in exc.problems]
    return [exc.message]


def _upload_form(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    columns = {c: post.get(f"column-{c}") or None for c in csvimport.COLUMNS.get(post.get("shape", "changes"), ())}
    return {
        "files": [(f.name or "upload", f.read()) for f in request.FILES.getlist("files")],
        "source": post.get("source") or ImportSource.JIRA,
        "options": {
            "shape": post.get("shape") or "changes",
            "columns": columns if any(columns.values()) else None,
            "date_format": post.get("date_format") or None,
        },
    }


@project_view(Role.PRODUCT_OWNER)
def import_index(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    errors: list[str] = []
    if request.method == "POST":
        try:
            upload = services.import_create(project=project, actor=user_of(request), **_upload_form(request))
        except DomainError as exc:
            errors = _errors(exc)
        else:
            return redirect("project-import", key=project.key, import_id=upload.pk)
    imports = selectors.project_imports(project)[:20]
    return render_project(
        request,
        "imports/index.html",
        project,
        membership,
        nav="imports",
        status=400 if errors else 200,
        errors=errors,
        imports=imports,
        columns=list(dict.fromkeys(c for shape in csvimport.SHAPES for c in csvimport.COLUMNS[shape])),
    )


@require_POST
@project_view(Role.PRODUCT_OWNER)
def csv_preview(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    form = _upload_form(request)
    try:
        shown = services.csv_preview(project=project, files=form["files"], options=form["options"])
    except DomainError as exc:
        return render_project(request, "imports/_preview.html", project, membership, nav="imports", errors=_errors(exc))
    return render_project(request, "imports/_preview.html", project, membership, nav="imports", preview=shown)


def _mapping_rows(upload: Import) -> dict[str, Any]:
    mapping, analysis = upload.mapping, upload.analysis
    statuses = [
        {**status, "chosen": mapping["statuses"].get(status["key"], {})} for status in analysis.get("statuses", [])
    ]
    types = [{**t, "chosen": mapping["types"].get(t["key"], "story")} for t in analysis.get("issue_types", [])]
    users = [{**u, "chosen": mapping["users"].get(u["key"])} for u in analysis.get("users", [])]
    return {"statuses": statuses, "types": types, "users": users}


@require_GET
@project_view(Role.PRODUCT_OWNER)
def import_detail(request: HttpRequest, project: Project, membership: Membership, import_id: int) -> HttpResponse:
    upload = _import(project, import_id)
    members = sorted(project.memberships.select_related("user").values_list("user__username", flat=True))
    return render_project(
        request,
        "imports/detail.html",
        project,
        membership,
        nav="imports",
        upload=upload,
        categories=Category.choices,
        kinds=KIND_CHOICES,
        members=members,
        **_mapping_rows(upload),
    )


def _posted_mapping(request: HttpRequest, upload: Import) -> dict[str, Any]:
    post, analysis = request.POST, upload.analysis
    statuses = {}
    for index, status in enumerate(analysis.get("statuses", [])):
        state, category = post.get(f"status-{index}-state"), post.get(f"status-{index}-category")
        if state is not None or category is not None:
            statuses[status["key"]] = {"state": state or status["name"], "category": category or status["category"]}
    types = {
        t["key"]: post[f"type-{index}"]
        for index, t in enumerate(analysis.get("issue_types", []))
        if f"type-{index}" in post
    }
    users = {u["key"]: post.get(f"user-{index}") or None for index, u in enumerate(analysis.get("users", []))}
    mapping: dict[str, Any] = {"statuses": statuses, "types": types, "users": users}
    if "points_field" in post:
        mapping["points_field"] = post["points_field"] or None
    return mapping


@require_POST
@project_view(Role.PRODUCT_OWNER)
def import_confirm(request: HttpRequest, project: Project, membership: Membership, import_id: int) -> HttpResponse:
    upload = _import(project, import_id)
    try:
        services.import_confirm(upload=upload, mapping=_posted_mapping(request, upload))
    except DomainError as exc:
        upload.refresh_from_db()
        members = sorted(project.memberships.values_list("user__username", flat=True))
        return render_project(
            request, "imports/detail.html", project, membership, nav="imports", status=400, upload=upload,
            errors=_errors(exc), categories=Category.choices, kinds=KIND_CHOICES, members=members,
            **_mapping_rows(upload),
        )  # fmt: skip
    return redirect("project-import", key=project.key, import_id=upload.pk)


@require_GET
@project_view(Role.PRODUCT_OWNER)
def import_status(request: HttpRequest, project: Project, membership: Membership, import_id: int) -> HttpResponse:
    """The progress fragment the detail page polls (every second while queued or running)."""
    upload = _import(project, import_id)
    return render_project(request, "imports/_status.html", project, membership, nav="imports", upload=upload)
