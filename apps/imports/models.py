"""Imports from Jira and CSV: one row per import, its uploaded files, and what each imported story last saw.

An import is analysed when it is uploaded (status ``mapping``: the statuses, types, points fields and users
found, with counts, and the pre-filled mapping), confirmed with the user's mapping (``queued``), and run by
a Celery task (``running``, then ``done`` with a summary or ``failed`` with the reason; a failed import
changed nothing).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.projects.models import Project
from apps.stories.models import Story


class ImportSource(models.TextChoices):
    JIRA = "jira", "Jira (REST search JSON)"
    CSV = "csv", "CSV"


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", "Waiting for the mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Import(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imports")
    source = models.CharField(max_length=8, choices=ImportSource.choices, default=ImportSource.JIRA)
    status = models.CharField(max_length=8, choices=ImportStatus.choices, default=ImportStatus.MAPPING)
    progress = models.PositiveSmallIntegerField(default=0)
    # How to read the files (CSV: shape, columns, date format), what was found in them, and the mapping.
    options = models.JSONField(default=dict, blank=True)
    analysis = models.JSONField(default=dict, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    # created, updated, unchanged, skipped [{key, reason}], events, ... once done.
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="import_progress_at_most_100")]

    def __str__(self) -> str:
        return f"{self.source} import {self.pk} into {self.project_id} ({self.status})"

    @property
    def is_busy(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)


class ImportFile(models.Model):
    """An uploaded file, kept until the import has run (the worker reads it from here)."""

    upload = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    content = models.BinaryField()

    class Meta:
        ordering = ["upload", "id"]

    def __str__(self) -> str:
        return self.name


class ImportedIssue(models.Model):
    """The newest change of the source already written to a story's log: a re-import writes only later ones."""

    story = models.OneToOneField(Story, on_delete=models.CASCADE, primary_key=True, related_name="imported")
    last_change_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.story_id} up to {self.last_change_at.isoformat()}"
