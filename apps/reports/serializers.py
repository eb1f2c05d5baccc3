"""API shapes of reports, for the OpenAPI documentation (answers are built by ``exports.report_body``)."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from apps.reports.models import ReportKind, ReportStatus


class InputsSerializer(serializers.Serializer):
    event_seq = serializers.IntegerField(
        allow_null=True, help_text="The project's event sequence number the result was computed at."
    )
    config_hash = serializers.CharField(
        allow_null=True, help_text="Hash of the workflow states, time zone and sprint dates read."
    )
    as_of_day = serializers.DateField(allow_null=True, help_text="The as-of day (a closed sprint's: its close day).")


class ReportStatusSerializer(serializers.Serializer):
    # Plain strings, not enums: "kind" and "status" name other enums in the schema already.
    kind = serializers.CharField(help_text="One of: " + ", ".join(ReportKind.values) + ".")
    parameters = serializers.DictField(help_text="The canonical parameters; null ones are resolved at computation.")
    status = serializers.CharField(
        help_text="One of: " + ", ".join(ReportStatus.values) + " (202 while pending or running)."
    )
    progress = serializers.IntegerField(min_value=0, max_value=100)
    computed_at = serializers.DateTimeField(allow_null=True)
    inputs = InputsSerializer()
    error = serializers.CharField(allow_null=True, help_text="Why a failed report failed; null otherwise.")


def _keys() -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(), help_text="Story keys.")


def _day_counts(name: str) -> serializers.ListField:
    return serializers.ListField(
        child=inline_serializer(name, fields={"date": serializers.DateField(), "count": serializers.IntegerField()})
    )


def _percentiles(name: str) -> serializers.Serializer:
    return inline_serializer(
        name,
        fields={
            "50": serializers.IntegerField(allow_null=True),
            "70": serializers.IntegerField(allow_null=True),
            "85": serializers.IntegerField(allow_null=True),
            "95": serializers.IntegerField(allow_null=True),
            "n": serializers.IntegerField(),
        },
    )


class SprintReportSerializer(ReportStatusSerializer):
    committed = _keys()
    completed = _keys()
    not_completed = _keys()
    added = _keys()
    removed = _keys()
    cancelled = _keys()
    already_done = _keys()
    unestimated = _keys()
    reestimated = serializers.ListField(
        child=inline_serializer(
            "Reestimate",
            fields={
                "key": serializers.CharField(),
                "old_points": serializers.FloatField(allow_null=True),
                "new_points": serializers.FloatField(allow_null=True),
            },
        )
    )
    committed_points = serializers.FloatField()
    completed_points = serializers.FloatField()
    added_points = serializers.FloatField()
    removed_points = serializers.FloatField()
    cancelled_points = serializers.FloatField()
    not_completed_points = serializers.FloatField()
    scope_churn = serializers.FloatField(allow_null=True)
    burndown = serializers.ListField(
        child=inline_serializer(
            "BurndownDay",
            fields={
                "date": serializers.DateField(),
                "remaining_points": serializers.FloatField(allow_null=True),
                "scope_points": serializers.FloatField(allow_null=True),
                "ideal_points": serializers.FloatField(),
                "completed_points": serializers.FloatField(allow_null=True),
            },
        )
    )
    published_deliverables = serializers.ListField(
        child=inline_serializer(
            "PublishedDeliverable",
            fields={
                "id": serializers.IntegerField(),
                "name": serializers.CharField(),
                "kind": serializers.CharField(
                    help_text="The deliverable's kind: dashboard, dataset, report, ml_model, ..."
                ),
                "published_at": serializers.DateTimeField(),
            },
        ),
        help_text="Deliverables published this sprint: after its start and up to its close (or the as-of moment), in order.",
    )


class FlowReportSerializer(ReportStatusSerializer):
    start = serializers.DateField(help_text="The window's first day.")
    end = serializers.DateField(help_text="The window's last day (inclusive).")
    cycle_times = serializers.ListField(
        child=inline_serializer(
            "CycleTime",
            fields={
                "key": serializers.CharField(),
                "start": serializers.DateTimeField(),
                "finish": serializers.DateTimeField(),
                "days": serializers.IntegerField(),
                "hours": serializers.FloatField(),
            },
        )
    )
    percentiles = _percentiles("Percentiles")
    throughput = _day_counts("ThroughputDay")
    wip = _day_counts("WipDay")
    cfd = serializers.ListField(
        child=inline_serializer(
            "CfdDay",
            fields={
                "date": serializers.DateField(),
                "counts": serializers.DictField(
                    child=serializers.IntegerField(), help_text="Stories per state id at the end of the day."
                ),
            },
        )
    )
    flow_efficiency = serializers.DictField(
        help_text="efficiency (ratio of sums, null when undefined), active_hours, wait_hours, n, stories."
    )
    state_names = serializers.DictField(child=serializers.CharField(), help_text="State id to name.")


class VelocityReportSerializer(ReportStatusSerializer):
    sprints = serializers.ListField(
        child=inline_serializer(
            "VelocitySprint",
            fields={
                "sprint_id": serializers.IntegerField(),
                "name": serializers.CharField(),
                "closed_at": serializers.DateTimeField(),
                "committed_points": serializers.FloatField(),
                "completed_points": serializers.FloatField(),
                "n_committed": serializers.IntegerField(),
                "n_completed": serializers.IntegerField(),
                "scope_churn": serializers.FloatField(allow_null=True),
            },
        )
    )
    average_velocity = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()


class WasteReportSerializer(ReportStatusSerializer):
    start = serializers.DateField()
    end = serializers.DateField()
    partially_done = serializers.ListField(child=serializers.DictField())
    waiting = serializers.DictField()
    task_switching = serializers.DictField()
    handoffs = serializers.DictField()
    rework = serializers.DictField()
    extra_features = serializers.DictField()
    backlog = serializers.DictField()
    relearning = serializers.DictField()


class ForecastReportSerializer(ReportStatusSerializer):
    mode = serializers.ChoiceField(choices=["how_many", "when"])
    likely = serializers.DictField(
        help_text='Per confidence ("50".."95"): at least this many stories (how_many) or done by this date (when).'
    )
    seed = serializers.IntegerField()
    trials = serializers.IntegerField()
    history = serializers.ListField(child=serializers.IntegerField(), help_text="The daily throughput samples.")
    reason = serializers.CharField(allow_null=True, help_text="Why no forecast was made, or null.")


class DataOpsReportSerializer(ReportStatusSerializer):
    as_of = serializers.DateTimeField(help_text="The moment the report sees up to.")
    deliverables = serializers.ListField(
        child=inline_serializer(
            "DeliverableTiming",
            fields={
                "deliverable_id": serializers.IntegerField(),
                "name": serializers.CharField(),
                "kind": serializers.CharField(),
                "published_at": serializers.DateTimeField(),
                "first_start": serializers.DateTimeField(
                    allow_null=True, help_text="Start of its first story (linked at publication)."
                ),
                "last_finish": serializers.DateTimeField(allow_null=True, help_text="The last Finish of its stories."),
                "time_to_insight_days": serializers.IntegerField(
                    allow_null=True, help_text="first Start -> publication, inclusive days."
                ),
                "validation_lag_days": serializers.IntegerField(
                    allow_null=True, help_text="last Finish -> publication, inclusive days."
                ),
                "n": serializers.IntegerField(help_text="Stories linked at publication."),
            },
        ),
        help_text="Each deliverable published by as-of, in publication order.",
    )
    time_to_insight = _percentiles("TimeToInsightPercentiles")
    validation_lag = _percentiles("ValidationLagPercentiles")
    by_kind = serializers.ListField(
        child=inline_serializer(
            "KindTimings",
            fields={
                "kind": serializers.CharField(),
                "n": serializers.IntegerField(help_text="Published deliverables of this kind."),
                "time_to_insight": _percentiles("KindTimeToInsight"),
                "validation_lag": _percentiles("KindValidationLag"),
            },
        ),
        help_text="The distribution (nearest-rank percentiles with n) per kind.",
    )
    throughput = serializers.ListField(
        child=inline_serializer(
            "SprintDeliverables",
            fields={
                "sprint_id": serializers.IntegerField(),
                "name": serializers.CharField(),
                "counts": serializers.DictField(
                    child=serializers.IntegerField(), help_text="Kind to deliverables published in the sprint."
                ),
                "n": serializers.IntegerField(),
            },
        ),
        help_text="Deliverables published per started sprint (start < publication <= close or as-of), by kind.",
    )
    kind_names = serializers.DictField(child=serializers.CharField(), help_text="Kind to its display name.")
