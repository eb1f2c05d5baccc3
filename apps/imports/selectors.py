"""Reads of imports that the API and the pages share."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.imports.models import Import
from apps.projects.models import Project


def project_imports(project: Project) -> QuerySet[Import]:
    """A project's imports, newest first."""
    return Import.objects.filter(project=project).select_related("project", "created_by")


def import_by_id(import_id: int, *, project: Project | None = None) -> Import | None:
    """One import with its project (within ``project`` when given), or None."""
    found = Import.objects.select_related("project", "created_by").filter(pk=import_id)
    if project is not None:
        found = found.filter(project=project)
    return found.first()
