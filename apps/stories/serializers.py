"""API shapes of stories, their events and comments, epics, labels and sprints."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api_base import StrictSerializer, id_field
from apps.core.api_support import LogEventSerializer
from apps.core.errors import InvalidInput
from apps.deliverables.models import Deliverable
from apps.projects.models import Category, Membership, Project, WorkflowState
from apps.stories import services
from apps.stories.models import Comment, Epic, Label, LinkKind, Sprint, Story, StoryEvent, StoryKind
from apps.stories.selectors import label_names, points_value

# --- Output -------------------------------------------------------------------------


class StorySerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.key", read_only=True)
    points = serializers.SerializerMethodField()
    state = serializers.IntegerField(source="state_id")
    state_name = serializers.CharField(source="state.name")
    category = serializers.CharField(source="state.category")
    sprint = serializers.IntegerField(source="sprint_id", allow_null=True)
    epic = serializers.IntegerField(source="epic_id", allow_null=True)
    deliverable = serializers.IntegerField(source="deliverable_id", allow_null=True)
    labels = serializers.SerializerMethodField()
    assignee = serializers.SerializerMethodField()
    deleted = serializers.BooleanField(source="is_deleted")

    class Meta:
        model = Story
        fields = [
            "key",
            "project",
            "title",
            "description",
            "acceptance_criteria",
            "kind",
            "points",
            "state",
            "state_name",
            "category",
            "sprint",
            "epic",
            "labels",
            "assignee",
            "blocked",
            "blocked_reason",
            "version",
            "rank",
            "created_at",
            "updated_at",
            "deleted",
            "deliverable",
            "external_key",
        ]
        read_only_fields = ["external_key"]

    @extend_schema_field(serializers.FloatField(allow_null=True, help_text="Story points; null when not estimated."))
    def get_points(self, story: Story) -> float | int | None:
        return points_value(story.points)

    def get_labels(self, story: Story) -> list[str]:
        return label_names(story)

    def get_assignee(self, story: Story) -> str | None:
        return story.assignee.username if story.assignee else None

    def to_representation(self, instance: Story) -> dict[str, Any]:
        """The fields above, written out: DRF's loop over a copy of its bound fields cost more than the rest of a
        write's answer (~1.5 ms a story). The declared fields still make the schema and the input;
        tests/apps/stories/test_api_shapes.py holds this equal to DRF's own ``to_representation``."""
        story, state = instance, instance.state
        return {
            "key": story.key,
            "project": story.project.key,
            "title": story.title,
            "description": story.description,
            "acceptance_criteria": story.acceptance_criteria,
            "kind": story.kind,
            "points": points_value(story.points),
            "state": story.state_id,
            "state_name": state.name,
            "category": state.category,
            "sprint": story.sprint_id,
            "epic": story.epic_id,
            "labels": label_names(story),
            "assignee": self.get_assignee(story),
            "blocked": story.blocked,
            "blocked_reason": story.blocked_reason,
            "version": story.version,
            "rank": story.rank,
            "created_at": TIMESTAMP.to_representation(story.created_at),
            "updated_at": TIMESTAMP.to_representation(story.updated_at),
            "deleted": story.is_deleted,
            "deliverable": story.deliverable_id,
            "external_key": story.external_key,
        }


TIMESTAMP = serializers.DateTimeField()  # a timestamp as the API writes every one (ISO 8601, in UTC)


class EventSerializer(LogEventSerializer):
    class Meta:
        model = StoryEvent
        fields = ["seq", "kind", "field", "from", "to", "to_name", "actor", "actor_name", "at"]
        extra_kwargs = {
            "to_name": {
                "help_text": "How `to` read when it was written (a name for an id); for an imported assignee "
                "who is no Sprintboard user, their name alone (`to` is null)."
            },
            "actor_name": {"help_text": "The imported author's name when they are no Sprintboard user (`actor` null)."},
        }


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = ["id", "author", "body", "created_at"]

    def get_author(self, comment: Comment) -> str | None:
        return comment.author.username if comment.author else None


class EpicSerializer(serializers.ModelSerializer):
    class Meta:
        model = Epic
        fields = ["id", "name", "description", "created_at"]


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "color"]


class SprintSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.key", read_only=True)

    class Meta:
        model = Sprint
        fields = ["id", "project", "name", "goal", "start", "end", "status", "started_at", "closed_at", "commitment"]


# --- Input --------------------------------------------------------------------------

POINTS: dict[str, Any] = {
    "max_digits": 6,
    "decimal_places": 1,
    "min_value": 0,
    "max_value": Decimal("99999.9"),
    "allow_null": True,
    "coerce_to_string": False,
    "help_text": "At most one decimal place.",
}


class StoryFieldsSerializer(StrictSerializer):
    required_fields: tuple[str, ...]  # each subclass names its own
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(max_length=20_000, allow_blank=True, trim_whitespace=False)
    acceptance_criteria = serializers.CharField(max_length=20_000, allow_blank=True, trim_whitespace=False)
    kind = serializers.ChoiceField(choices=StoryKind.choices)
    points = serializers.DecimalField(**POINTS)
    state = id_field()
    sprint = id_field(allow_null=True)
    epic = id_field(allow_null=True)
    deliverable = id_field(allow_null=True)
    labels = serializers.ListField(child=serializers.CharField(max_length=50), max_length=50)
    assignee = serializers.CharField(max_length=150, allow_null=True)
    blocked = serializers.BooleanField()
    blocked_reason = serializers.CharField(max_length=300, allow_blank=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.required = name in self.required_fields


class StoryCreateSerializer(StoryFieldsSerializer):
    required_fields = ("title",)
    position = serializers.ChoiceField(choices=["top", "bottom"], default="bottom")


class StoryUpdateSerializer(StoryFieldsSerializer):
    required_fields = ("version",)
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class StoryFilterSerializer(serializers.Serializer):
    """Query parameters of the story list; pagination parameters pass through."""

    state = id_field(required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    sprint = serializers.RegexField(
        r"^(none|[0-9]{1,18})$", required=False, error_messages={"invalid": "sprint is a sprint id or none."}
    )
    epic = id_field(required=False)
    deliverable = serializers.RegexField(
        r"^(none|[0-9]{1,18})$", required=False, error_messages={"invalid": "deliverable is a deliverable id or none."}
    )
    # A declared field, taken off the class by DRF's metaclass: not the Field.label attribute the stubs see.
    label = serializers.CharField(max_length=50, required=False)  # type: ignore[assignment]
    assignee = serializers.CharField(max_length=150, required=False)
    kind = serializers.ChoiceField(choices=StoryKind.choices, required=False)
    q = serializers.CharField(max_length=200, required=False)
    deleted = serializers.BooleanField(required=False, default=False)


class PlacementSerializer(StrictSerializer):
    one_of = ("before", "after", "position")
    before = serializers.CharField(max_length=24, required=False)
    after = serializers.CharField(max_length=24, required=False)
    position = serializers.ChoiceField(choices=["top", "bottom"], required=False)
    sprint = id_field(allow_null=True, required=False)


class StoryMoveSerializer(PlacementSerializer):
    version = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        help_text="The story's version as the client saw it: a stale one gets 409 and nothing moves.",
    )


class StoriesMoveSerializer(PlacementSerializer):
    keys = serializers.ListField(child=serializers.CharField(max_length=24), min_length=1, max_length=500)


class CommentCreateSerializer(StrictSerializer):
    body = serializers.CharField(max_length=10_000)


class EpicInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=20_000, allow_blank=True, required=False)


class LabelInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=50)
    color = serializers.RegexField(
        r"^#[0-9a-fA-F]{6}$", required=False, error_messages={"invalid": "color is a hex colour such as #1f77b4."}
    )


class EpicUpdateSerializer(EpicInputSerializer):
    name = serializers.CharField(max_length=200, required=False)


class LabelUpdateSerializer(LabelInputSerializer):
    name = serializers.CharField(max_length=50, required=False)


class SprintInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, required=False)
    goal = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)


class SprintCloseSerializer(StrictSerializer):
    unfinished = serializers.ChoiceField(choices=["next_sprint", "backlog"], default="next_sprint")


# --- From ids and names to rows of the project ----------------------------------------


def resolve_references(project: Project, data: dict[str, Any]) -> dict[str, Any]:
    """Turn ids, names and usernames of the input into the project's rows; unknown ones are a 400."""
    lookups = {
        "state": lambda v: WorkflowState.objects.filter(project=project, pk=v).first(),
        "sprint": lambda v: Sprint.objects.filter(project=project, pk=v).first(),
        "epic": lambda v: Epic.objects.filter(project=project, pk=v).first(),
        "deliverable": lambda v: Deliverable.objects.filter(project=project, pk=v).first(),
        "assignee": lambda v: (
            get_user_model()
            .objects.filter(username=v, pk__in=Membership.objects.filter(project=project).values("user"))
            .first()
        ),
    }
    resolved = dict(data)
    for field, lookup in lookups.items():
        value = data.get(field)
        if value is None:
            continue
        resolved[field] = lookup(value)
        if resolved[field] is None:
            raise InvalidInput(f"{project.key} has no {field} {value}.", field=field)
    if "labels" in data:
        names = set(data["labels"])
        labels = list(Label.objects.filter(project=project, name__in=names))
        missing = names - {label.name for label in labels}
        if missing:
            raise InvalidInput(f"{project.key} has no label {sorted(missing)[0]!r}: create it first.", field="labels")
        resolved["labels"] = labels
    return resolved


def resolve_destination(project: Project, data: dict[str, Any]) -> Sprint | None:  # or UNSET, typed Any
    """The ``sprint`` of a move: a sprint, None for the backlog, or ``services.UNSET`` when not given."""
    if "sprint" not in data:
        return services.UNSET
    return resolve_references(project, {"sprint": data["sprint"]})["sprint"]


# --- Story links ----------------------------------------------------------------------


class LinkSerializer(serializers.Serializer):
    """A link as seen from the story in the URL; ``story``, ``title`` and ``state`` are the other story's."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=LinkKind.choices)
    direction = serializers.ChoiceField(
        choices=[("outward", "outward"), ("inward", "inward")],
        help_text="outward: this story blocks / relates to / duplicates the other; inward: the other way round.",
    )
    story = serializers.CharField(source="key", help_text="The other story's key.")
    title = serializers.CharField()
    state = serializers.CharField(help_text="The other story's state (its name).")


class LinkCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=LinkKind.choices)
    target = serializers.CharField(max_length=24, help_text="The key of the other story (this project or another).")
