"""Reports computed by Celery from the event log, stored with the inputs they were computed from.

One row per (project, kind, parameters). The row holds the latest stored result and its inputs:
the project's event sequence number (the watermark), a hash of the configuration the engine read
(workflow states and categories, time zone, sprint dates) and the as-of day. A request whose current
inputs equal the stored ones is served from the row; otherwise it queues a recomputation.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ReportKind(models.TextChoices):
    SPRINT = "sprint", "Sprint report"
    FLOW = "flow", "Flow"
    VELOCITY = "velocity", "Velocity"
    WASTE = "waste", "Lean waste"
    FORECAST = "forecast", "Forecast"
    DATAOPS = "dataops", "DataOps"


class ReportStatus(models.TextChoices):
    PENDING = "pending", "Queued"
    RUNNING = "running", "Computing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Report(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="reports")
    sprint = models.ForeignKey(
        "stories.Sprint", on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    kind = models.CharField(max_length=10, choices=ReportKind.choices)
    # Canonical parameters (sorted keys, ISO dates) and their hash: the row's identity with project and kind.
    parameters = models.JSONField(default=dict, blank=True)
    parameters_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=ReportStatus.choices, default=ReportStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    # The inputs of the stored result (or of the failure): null until something was computed.
    event_seq = models.PositiveBigIntegerField(null=True, blank=True)
    config_hash = models.CharField(max_length=64, blank=True)
    as_of_day = models.DateField(null=True, blank=True)
    inputs_read_at = models.DateTimeField(null=True, blank=True)
    # A closed sprint's report, computed as of its close, is final: never rewritten.
    final = models.BooleanField(default=False)
    # How many times a result was stored: a report with unchanged inputs is never recomputed.
    computations = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Who queued the latest computation: a person (on demand, counted against the caps, on the reports
    # queue) or nobody (the nightly run, a sprint's close: the nightly queue).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # When the report was last asked for (to the hour): a report unused for long is deleted.
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "kind", "parameters_hash"], name="report_unique_parameters"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="report_progress_at_most_100"),
        ]
        indexes = [
            # The caps count, and the sweep looks for, the few reports being computed.
            models.Index(
                fields=["status", "project"], condition=Q(status__in=["pending", "running"]), name="report_busy"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} report {self.parameters} of project {self.project_id} ({self.status})"

    @property
    def is_busy(self) -> bool:
        return self.status in (ReportStatus.PENDING, ReportStatus.RUNNING)
