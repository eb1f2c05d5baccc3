"""Data-analytics deliverables, their definition-of-done checklist, and the log of what happened to them.

Stories link to a deliverable with ``Story.deliverable`` (declared in apps.stories, which sits below
this app); this side reaches them through the reverse relation ``deliverable.stories``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q

from apps.projects.models import Project


class DeliverableKind(models.TextChoices):
    DASHBOARD = "dashboard", "Dashboard"
    DATASET = "dataset", "Dataset"
    REPORT = "report", "Report"
    ML_MODEL = "ml_model", "ML model"
    PIPELINE = "pipeline", "Pipeline"
    DATA_QUALITY_CHECK = "data_quality_check", "Data-quality check"
    ANALYSIS = "analysis", "Analysis"


class DeliverableStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    IN_DEVELOPMENT = "in_development", "In development"
    VALIDATING = "validating", "Validating"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


# Statuses a deliverable moves between freely while it is being built; publish and retire are transitions of their own.
WORKING_STATUSES = (DeliverableStatus.PROPOSED, DeliverableStatus.IN_DEVELOPMENT, DeliverableStatus.VALIDATING)
FINAL_STATUSES = (DeliverableStatus.PUBLISHED, DeliverableStatus.RETIRED)
MAX_INTERVAL_HOURS = 24 * 366  # the longest expected interval between successful pipeline runs

# The definition of done a project starts with, per kind; an admin edits a project's copy.
DEFAULT_CHECKLISTS: dict[str, tuple[str, ...]] = {
    DeliverableKind.DASHBOARD: (
        "Figures reconciled with the source",
        "Refresh schedule set",
        "Every tile has a definition",
        "Stakeholder sign-off",
    ),
    DeliverableKind.DATASET: (
        "Schema documented",
        "Data-quality tests pass",
        "Lineage recorded",
        "Access granted to consumers",
    ),
    DeliverableKind.REPORT: (
        "Figures reconciled with the source",
        "Method and definitions written down",
        "Stakeholder sign-off",
    ),
    DeliverableKind.ML_MODEL: (
        "Validation metrics recorded",
        "Monitoring in place",
        "Model card written",
        "Stakeholder sign-off",
    ),
    DeliverableKind.PIPELINE: (
        "Idempotent re-run tested",
        "Alerting configured",
        "Runbook written",
    ),
    DeliverableKind.DATA_QUALITY_CHECK: (
        "Check runs on every load",
        "Failures alert the owning team",
        "Known exceptions documented",
    ),
    DeliverableKind.ANALYSIS: (
        "Question and method written up",
        "Peer-reviewed",
        "Findings shared with stakeholders",
    ),
}


# What search looks in (apps.core.search), and its weights: the stored ``search_vector``, rewritten by the
# services that change these fields, GIN-indexed on PostgreSQL by migration 0004 (AddSearchIndex keeps the
# index out of the models' state, so SQLite never tries to build it).
DELIVERABLE_SEARCH_FIELDS = (("name", "A"), ("description", "B"))


class RunSource(models.TextChoices):
    DBT = "dbt", "dbt tests"
    GREAT_EXPECTATIONS = "great_expectations", "Great Expectations"
    AIRFLOW = "airflow", "Airflow"
    OPENLINEAGE = "openlineage", "OpenLineage"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERRORED = "errored", "Errored"
    ABORTED = "aborted", "Aborted"


FAILING_RUN_STATUSES = (RunStatus.FAILED, RunStatus.ERRORED)


class Deliverable(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="deliverables")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=DeliverableKind.choices)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="owned_deliverables"
    )
    # Named groups of consumers ("Finance", "Sales leadership"); consumer users are DeliverableConsumer rows.
    consumer_groups = models.JSONField(default=list, blank=True)
    data_sources = models.JSONField(default=list, blank=True)
    link = models.URLField(max_length=500, blank=True, help_text="Where the published thing lives.")
    target_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=DeliverableStatus.choices, default=DeliverableStatus.PROPOSED)
    published_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Freshness: the owner's expectation of how often a pipeline run succeeds, in hours (None: no expectation).
    expected_interval_hours = models.PositiveIntegerField(null=True, blank=True)
    # Kept by the pipeline-run service (under the deliverable's lock) so the catalogue and the board's cards
    # read them with the deliverable, in the same query: the latest reported run's status, the last success,
    # and since when a published deliverable's bound run has been failing.
    last_run_status = models.CharField(max_length=10, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)
    search_vector = SearchVectorField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["project", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="deliverable_unique_name"),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="deliverable_published_has_moment",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "status"], name="deliverable_project_status"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class DeliverableConsumer(models.Model):
    """A person who uses the deliverable (often a stakeholder of the project)."""

    deliverable = models.ForeignKey(Deliverable, on_delete=models.CASCADE, related_name="consumer_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consumed_deliverables")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deliverable", "user"], name="deliverableconsumer_unique")]

    def __str__(self) -> str:
        return f"{self.user} uses {self.deliverable_id}"


class ChecklistTemplate(models.Model):
    """A project's definition of done for one kind of deliverable; copied into each new deliverable."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="checklist_templates")
    kind = models.CharField(max_length=20, choices=DeliverableKind.choices)
    items = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "kind"]
        constraints = [models.UniqueConstraint(fields=["project", "kind"], name="checklisttemplate_unique_kind")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.kind}"


class ChecklistItem(models.Model):
    deliverable = models.ForeignKey(Deliverable, on_delete=models.CASCADE, related_name="checklist")
    text = models.CharField(max_length=300)
    position = models.PositiveIntegerField(default=0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="checklist_items"
    )
    done = models.BooleanField(default=False)
    ticked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ticked_at = models.DateTimeField(null=True, blank=True)
    evidence_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    # Ticked by the pipelines: runs from this source (and, when set, this job) tick and untick the item.
    bound_source = models.CharField(max_length=20, choices=RunSource.choices, blank=True)
    bound_job = models.CharField(max_length=300, blank=True)
    evidence_run = models.ForeignKey("PipelineRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["deliverable", "position", "id"]

    def __str__(self) -> str:
        return self.text


class DeliverableEventKind(models.TextChoices):
    CREATED = "created"
    STATUS = "status"
    UPDATED = "updated"
    ITEM_ADDED = "item_added"
    ITEM_REMOVED = "item_removed"
    ITEM_TICKED = "item_ticked"
    ITEM_UNTICKED = "item_unticked"
    ITEM_UPDATED = "item_updated"
    RUN = "run"  # a pipeline run that ticked or reopened bound checklist items
    FLAGGED = "flagged"  # a published deliverable's bound run failed
    UNFLAGGED = "unflagged"  # a bound run passed again


class DeliverableEvent(models.Model):
    """The append-only log of a deliverable: status changes (who, when) feed the DataOps reports."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="deliverable_events")
    deliverable = models.ForeignKey(Deliverable, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=DeliverableEventKind.choices)
    field = models.CharField(max_length=40, blank=True)
    from_value = models.JSONField(null=True, blank=True)
    to_value = models.JSONField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["deliverable", "at", "id"]
        indexes = [
            models.Index(fields=["deliverable", "at"], name="deliverableevent_at"),
            models.Index(fields=["project", "kind", "at"], name="deliverableevent_project_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.deliverable_id} at {self.at:%Y-%m-%d}"


class PipelineRun(models.Model):
    """One run a pipeline reported (dbt, Great Expectations, Airflow, OpenLineage), normalized.

    A run with an id at its source (dbt's invocation, an OpenLineage runId, a DAG run) is one row however
    many times it is reported: OpenLineage's START then COMPLETE update the same run.
    """

    deliverable = models.ForeignKey(Deliverable, on_delete=models.CASCADE, related_name="runs")
    source = models.CharField(max_length=20, choices=RunSource.choices)
    external_id = models.CharField(max_length=300, blank=True)
    job = models.CharField(max_length=300, blank=True)
    namespace = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errored = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=list, blank=True)
    url = models.URLField(max_length=500, blank=True)
    message = models.TextField(blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["deliverable", "-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deliverable", "source", "external_id"],
                condition=~Q(external_id=""),
                name="pipelinerun_unique_external_id",
            ),
        ]
        indexes = [models.Index(fields=["deliverable", "-received_at", "-id"], name="pipelinerun_newest")]

    def __str__(self) -> str:
        return f"{self.source} run {self.external_id or self.pk} {self.status}"
