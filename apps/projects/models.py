from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (for example Europe/Amsterdam or UTC).")


class Role(models.TextChoices):
    """Roles are cumulative: each includes everything the ones before it may do."""

    STAKEHOLDER = "stakeholder", "Stakeholder"
    MEMBER = "member", "Member"
    PRODUCT_OWNER = "product_owner", "Product owner"
    ADMIN = "admin", "Admin"

    @classmethod
    def rank(cls, role: str) -> int:
        return list(cls.values).index(role)


class WipPolicy(models.TextChoices):
    WARN = "warn", "Warn when a column is over its limit"
    BLOCK = "block", "Refuse moves into a full column"


class Category(models.TextChoices):
    BACKLOG = "backlog", "Backlog"
    TODO = "todo", "To do"
    ACTIVE = "active", "Active"
    WAITING = "waiting", "Waiting"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


STARTED_CATEGORIES = (Category.ACTIVE, Category.WAITING)
CLOSED_CATEGORIES = (Category.DONE, Category.CANCELLED)

DEFAULT_WORKFLOW = (
    ("Backlog", Category.BACKLOG),
    ("Ready", Category.TODO),
    ("In progress", Category.ACTIVE),
    ("Waiting", Category.WAITING),
    ("Validating", Category.ACTIVE),
    ("Done", Category.DONE),
    ("Won't do", Category.CANCELLED),
)

project_key_validator = RegexValidator(r"^[A-Z]{2,10}$", "A project key is 2 to 10 capital letters, such as DATA.")


class Project(models.Model):
    key = models.CharField(max_length=10, unique=True, validators=[project_key_validator])
    name = models.CharField(max_length=200)
    sprint_length_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(1), MaxValueValidator(90)]
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    wip_policy = models.CharField(max_length=5, choices=WipPolicy.choices, default=WipPolicy.WARN)
    created_at = models.DateTimeField(auto_now_add=True)
    # Counters allocated under the project's row lock: story numbers and the event sequence.
    last_story_number = models.PositiveIntegerField(default=0, editable=False)
    last_event_seq = models.PositiveBigIntegerField(default=0, editable=False)
    # The time of the event at last_event_seq: no later event may be earlier (the log's order is its time).
    last_event_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The last event that can change a board's WIP counts or SLE for stories it has no card for (a story
    # created, moved between states, deleted or restored): open boards poll it instead of the whole log.
    flow_seq = models.PositiveBigIntegerField(default=0, editable=False)
    # Whether an active webhook listens (kept by the webhooks services under this row's lock): a story write
    # reads it with the lock it takes anyway, so a project without webhooks pays no query for them.
    webhooks_active = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} · {self.name}"

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="membership_unique_user_project")]
        ordering = ["project", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.project.key} as {self.role}"

    def allows(self, minimum: str) -> bool:
        return Role.rank(self.role) >= Role.rank(minimum)


class LiveStateManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


class WorkflowState(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="states")
    name = models.CharField(max_length=60)
    position = models.PositiveIntegerField()
    category = models.CharField(max_length=10, choices=Category.choices)
    wip_limit = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    # A deleted state leaves the workflow but stays for the history: the log's past events name it, and
    # every report replays them with its category.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    # The workflow as people see it (and project.states); all_objects, with deleted states, for the engine.
    objects = LiveStateManager()
    all_objects = models.Manager()  # noqa: DJ012  (ruff takes the custom manager above for a field)

    class Meta:
        ordering = ["project", "position", "id"]
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"], condition=Q(deleted_at__isnull=True), name="workflowstate_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_started(self) -> bool:
        return self.category in STARTED_CATEGORIES

    @property
    def is_closed(self) -> bool:
        return self.category in CLOSED_CATEGORIES
