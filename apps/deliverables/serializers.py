"""API shapes of deliverables, their checklist items, events and checklist templates."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from apps.core.api_base import StrictSerializer
from apps.core.api_support import LogEventSerializer
from apps.core.errors import InvalidInput
from apps.deliverables.models import (
    MAX_INTERVAL_HOURS,
    WORKING_STATUSES,
    ChecklistItem,
    Deliverable,
    DeliverableEvent,
    DeliverableKind,
    DeliverableStatus,
    PipelineRun,
    RunSource,
    RunStatus,
)
from apps.deliverables.selectors import Progress, freshness_of, is_late
from apps.projects.models import Membership, Project
from sprintboard.pipelines import FRESHNESS

# --- Output ---------------------------------------------------------------------------------

ProgressSerializer = inline_serializer(
    "DeliverableProgress",
    fields={
        "stories_done": serializers.IntegerField(),
        "stories_total": serializers.IntegerField(help_text="Linked stories, not deleted and not cancelled."),
        "points_done": serializers.FloatField(),
        "points_total": serializers.FloatField(),
        "items_done": serializers.IntegerField(),
        "items_total": serializers.IntegerField(),
        "percent": serializers.IntegerField(
            allow_null=True, help_text="Done points / total points (by count when unestimated)."
        ),
    },
)


FreshnessSerializer = inline_serializer(
    "DeliverableFreshness",
    fields={
        "state": serializers.ChoiceField(
            choices=FRESHNESS,
            help_text="fresh: a successful run within the expected interval; stale: none within it; never: no "
            "successful run yet; unchecked: no expected interval set.",
        ),
        "hours_since_success": serializers.FloatField(allow_null=True),
        "expected_interval_hours": serializers.IntegerField(allow_null=True),
        "last_success_at": serializers.DateTimeField(allow_null=True),
        "stale": serializers.BooleanField(help_text="Stale, or never successful against an expected interval."),
    },
)


def _number(value: Any) -> int | float:
    number = float(value or 0)
    return int(number) if number.is_integer() else number


class DeliverableSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.key", read_only=True)
    owner = serializers.SerializerMethodField()
    consumers = serializers.SerializerMethodField()
    consumer_groups = serializers.ListField(child=serializers.CharField())
    data_sources = serializers.ListField(child=serializers.CharField())
    progress = serializers.SerializerMethodField()
    late = serializers.SerializerMethodField()
    freshness = serializers.SerializerMethodField()
    last_run_status = serializers.SerializerMethodField()
    flagged = serializers.SerializerMethodField()

    class Meta:
        model = Deliverable
        fields = [
            "id",
            "project",
            "name",
            "kind",
            "description",
            "owner",
            "consumers",
            "consumer_groups",
            "data_sources",
            "link",
            "target_date",
            "status",
            "published_at",
            "retired_at",
            "version",
            "created_at",
            "updated_at",
            "progress",
            "late",
            "expected_interval_hours",
            "freshness",
            "last_run_status",
            "flagged",
            "flagged_at",
        ]

    def get_owner(self, deliverable: Deliverable) -> str | None:
        return deliverable.owner.username if deliverable.owner else None

    def get_consumers(self, deliverable: Deliverable) -> list[str]:
        return sorted(link.user.username for link in deliverable.consumer_links.all())

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, deliverable: Deliverable) -> dict[str, Any]:
        progress: Progress = self.context.get("progress", {}).get(deliverable.pk, Progress())
        return {
            "stories_done": progress.stories_done,
            "stories_total": progress.stories_total,
            "points_done": _number(progress.points_done),
            "points_total": _number(progress.points_total),
            "items_done": progress.items_done,
            "items_total": progress.items_total,
            "percent": progress.percent,
        }

    def get_late(self, deliverable: Deliverable) -> bool:
        return is_late(deliverable)

    @extend_schema_field(FreshnessSerializer)
    def get_freshness(self, deliverable: Deliverable) -> dict[str, Any]:
        fresh = freshness_of(deliverable)
        return {
            "state": fresh.state,
            "hours_since_success": None if fresh.hours_since is None else round(fresh.hours_since, 2),
            "expected_interval_hours": fresh.expected_hours,
            "last_success_at": serializers.DateTimeField().to_representation(deliverable.last_success_at)
            if deliverable.last_success_at
            else None,
            "stale": fresh.stale,
        }

    @extend_schema_field(serializers.ChoiceField(choices=RunStatus.choices, allow_null=True))
    def get_last_run_status(self, deliverable: Deliverable) -> str | None:
        return deliverable.last_run_status or None

    def get_flagged(self, deliverable: Deliverable) -> bool:
        """A published deliverable whose bound pipeline run failed (cleared by the next passing run)."""
        return deliverable.flagged_at is not None


class ChecklistItemSerializer(serializers.ModelSerializer):
    assignee = serializers.SerializerMethodField()
    ticked_by = serializers.SerializerMethodField()

    class Meta:
        model = ChecklistItem
        fields = [
            "id",
            "text",
            "position",
            "assignee",
            "done",
            "ticked_by",
            "ticked_at",
            "evidence_url",
            "evidence_run",
            "bound_source",
            "bound_job",
        ]
        extra_kwargs = {
            "evidence_run": {"help_text": "The pipeline run that ticked it, when a run did."},
            "bound_source": {"help_text": "Runs from this source tick and reopen the item ('' when not bound)."},
            "bound_job": {"help_text": "Only runs of this job (dbt command, suite, DAG, OpenLineage job) count."},
        }

    def get_assignee(self, item: ChecklistItem) -> str | None:
        return item.assignee.username if item.assignee else None

    def get_ticked_by(self, item: ChecklistItem) -> str | None:
        return item.ticked_by.username if item.ticked_by else None


class DeliverableEventSerializer(LogEventSerializer):
    class Meta:
        model = DeliverableEvent
        fields = ["id", "kind", "field", "from", "to", "actor", "at"]


class PipelineRunSerializer(serializers.ModelSerializer):
    failures = serializers.ListField(child=serializers.CharField(), help_text="The failing tests (or tasks), by name.")
    reported_by = serializers.SerializerMethodField()

    class Meta:
        model = PipelineRun
        fields = [
            "id",
            "source",
            "job",
            "namespace",
            "external_id",
            "status",
            "started_at",
            "finished_at",
            "passed",
            "failed",
            "errored",
            "failures",
            "url",
            "message",
            "reported_by",
            "received_at",
            "updated_at",
        ]

    def get_reported_by(self, run: PipelineRun) -> str | None:
        return run.reported_by.username if run.reported_by else None


class RunQuerySerializer(StrictSerializer):
    url = serializers.CharField(
        max_length=500, required=False, help_text="A link back to the run (CI job, Airflow grid), if the body has none."
    )
    job = serializers.CharField(
        max_length=300, required=False, help_text="The job's name, for items bound to one job (overrides the body's)."
    )


class ChecklistTemplateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DeliverableKind.choices)
    items = serializers.ListField(child=serializers.CharField())


# --- Input -------------------------------------------------------------------------------------

NAMES: dict[str, Any] = {"child": serializers.CharField(max_length=300, allow_blank=True), "max_length": 50}


# What a create or an edit may set (the schema's DeliverableWorkingStatusEnum); publish and retire are actions.
WORKING_STATUS_CHOICES = [(status.value, status.label) for status in WORKING_STATUSES]


class DeliverableFieldsSerializer(StrictSerializer):
    required_fields: tuple[str, ...] = ()
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=DeliverableKind.choices)
    description = serializers.CharField(max_length=20_000, allow_blank=True, trim_whitespace=False)
    owner = serializers.CharField(max_length=150, allow_null=True)
    consumers = serializers.ListField(child=serializers.CharField(max_length=150), max_length=100)
    consumer_groups = serializers.ListField(
        child=serializers.CharField(max_length=100, allow_blank=True), max_length=20
    )
    data_sources = serializers.ListField(**NAMES)
    link = serializers.CharField(max_length=500, allow_blank=True)
    target_date = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(
        choices=WORKING_STATUS_CHOICES,
        help_text="proposed, in_development or validating; publish and retire are actions of their own.",
    )
    expected_interval_hours = serializers.IntegerField(
        min_value=1,
        max_value=MAX_INTERVAL_HOURS,
        allow_null=True,
        help_text="How often a pipeline run should succeed, in hours: past it the deliverable is stale.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.required = name in self.required_fields


class DeliverableCreateSerializer(DeliverableFieldsSerializer):
    required_fields = ("name", "kind")


class DeliverableUpdateSerializer(DeliverableFieldsSerializer):
    required_fields = ("version",)
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class DeliverableFilterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DeliverableKind.choices, required=False)
    status = serializers.ChoiceField(choices=DeliverableStatus.choices, required=False)
    consumer = serializers.CharField(
        max_length=150, required=False, help_text="A consumer's username or a consumer group."
    )


def bound_source_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=[("", "Not bound"), *RunSource.choices],
        allow_blank=True,
        required=False,
        help_text="dbt, great_expectations, airflow or openlineage: its runs tick and reopen the item; '' unbinds.",
    )


class ChecklistItemCreateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=300)
    assignee = serializers.CharField(max_length=150, allow_null=True, required=False)
    evidence_url = serializers.CharField(max_length=500, allow_blank=True, required=False)
    bound_source = bound_source_field()
    bound_job = serializers.CharField(max_length=300, allow_blank=True, required=False)


class ChecklistItemUpdateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=300, required=False)
    assignee = serializers.CharField(max_length=150, allow_null=True, required=False)
    done = serializers.BooleanField(required=False)
    evidence_url = serializers.CharField(max_length=500, allow_blank=True, required=False)
    bound_source = bound_source_field()
    bound_job = serializers.CharField(max_length=300, allow_blank=True, required=False)


class ChecklistTemplateUpdateSerializer(StrictSerializer):
    items = serializers.ListField(child=serializers.CharField(max_length=300), max_length=50)


# --- From usernames to members of the project ------------------------------------------------------


def resolve_people(project: Project, data: dict[str, Any]) -> dict[str, Any]:
    """Turn the usernames of ``owner``, ``assignee`` and ``consumers`` into members of the project; others are a 400."""
    members = get_user_model().objects.filter(pk__in=Membership.objects.filter(project=project).values("user"))
    resolved = dict(data)
    for field in ("owner", "assignee"):
        if data.get(field) is not None:
            resolved[field] = members.filter(username=data[field]).first()
            if resolved[field] is None:
                raise InvalidInput(f"{data[field]} is not a member of {project.key}.", field=field)
    if "consumers" in data:
        users = list(members.filter(username__in=set(data["consumers"])))
        missing = set(data["consumers"]) - {u.username for u in users}
        if missing:
            raise InvalidInput(f"{sorted(missing)[0]} is not a member of {project.key}.", field="consumers")
        resolved["consumers"] = users
    return resolved
