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
    WORKING_STATUSES,
    ChecklistItem,
    Deliverable,
    DeliverableEvent,
    DeliverableKind,
    DeliverableStatus,
)
from apps.deliverables.selectors import Progress, is_late
from apps.projects.models import Membership, Project

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
        ]

    def get_owner(self, deliverable: Deliverable) -> str | None:
        return deliverable.owner.username if deliverable.owner_id else None

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


class ChecklistItemSerializer(serializers.ModelSerializer):
    assignee = serializers.SerializerMethodField()
    ticked_by = serializers.SerializerMethodField()

    class Meta:
        model = ChecklistItem
        fields = ["id", "text", "position", "assignee", "done", "ticked_by", "ticked_at", "evidence_url"]

    def get_assignee(self, item: ChecklistItem) -> str | None:
        return item.assignee.username if item.assignee_id else None

    def get_ticked_by(self, item: ChecklistItem) -> str | None:
        return item.ticked_by.username if item.ticked_by_id else None


class DeliverableEventSerializer(LogEventSerializer):
    class Meta:
        model = DeliverableEvent
        fields = ["id", "kind", "field", "from", "to", "actor", "at"]


class ChecklistTemplateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DeliverableKind.choices)
    items = serializers.ListField(child=serializers.CharField())


# --- Input -------------------------------------------------------------------------------------

NAMES = {"child": serializers.CharField(max_length=300, allow_blank=True), "max_length": 50}


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


class ChecklistItemCreateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=300)
    assignee = serializers.CharField(max_length=150, allow_null=True, required=False)
    evidence_url = serializers.CharField(max_length=500, allow_blank=True, required=False)


class ChecklistItemUpdateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=300, required=False)
    assignee = serializers.CharField(max_length=150, allow_null=True, required=False)
    done = serializers.BooleanField(required=False)
    evidence_url = serializers.CharField(max_length=500, allow_blank=True, required=False)


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
