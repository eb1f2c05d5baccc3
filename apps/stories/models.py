from __future__ import annotations

from datetime import date, timedelta, tzinfo

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.projects.models import Project, WorkflowState
from sprintboard.projection import StoryFlow, cycle_days


class RankField(models.CharField):
    """An order key from sprintboard.ranking: compared byte by byte (COLLATE "C" on PostgreSQL)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("max_length", 32)
        super().__init__(*args, **kwargs)

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params


# What search looks in (apps.core.search), and its weights: the stored ``search_vector``, GIN-indexed on
# PostgreSQL and rewritten by ``epic_save`` (and a restore) in the transaction of the change.
EPIC_SEARCH_FIELDS = (("name", "A"), ("description", "B"))


class Epic(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="epics")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    search_vector = SearchVectorField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["project", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="epic_unique_name")]

    def __str__(self) -> str:
        return self.name


class Label(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=50)
    color = models.CharField(max_length=7, default="#64748b")

    class Meta:
        ordering = ["project", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="label_unique_name")]

    def __str__(self) -> str:
        return self.name


class SprintStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"


class Sprint(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sprints")
    name = models.CharField(max_length=100)
    goal = models.TextField(blank=True)
    start = models.DateField()
    end = models.DateField(help_text="Inclusive, in the project's time zone.")
    status = models.CharField(max_length=8, choices=SprintStatus.choices, default=SprintStatus.PLANNED)
    started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The commitment recorded at start: [{"story": id, "key": "DATA-1", "points": 3}, ...].
    commitment = models.JSONField(default=list, blank=True)
    # The project's event seq just before the start: the sprint's report reads only the stories in it now
    # or moved in or out of it after this seq, not the whole log.
    start_seq = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["project", "start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"], condition=Q(status="active"), name="sprint_one_active_per_project"
            ),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="sprint_end_not_before_start"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def length_days(self) -> int:
        return (self.end - self.start).days + 1

    def next_dates(self) -> tuple[date, date]:
        length = timedelta(days=self.project.sprint_length_days)
        return self.end + timedelta(days=1), self.end + length


class StoryKind(models.TextChoices):
    STORY = "story", "Story"
    BUG = "bug", "Bug"
    CHORE = "chore", "Chore"
    SPIKE = "spike", "Spike"


class StoryQuerySet(models.QuerySet):
    def alive(self) -> StoryQuerySet:
        return self.filter(deleted_at__isnull=True)


class StoryManager(models.Manager.from_queryset(StoryQuerySet)):  # type: ignore[misc]
    """Stories without their search vector, which only search reads (by SQL): a page of cards does not carry
    it, and a ``save()`` of a story read here writes only what it read, never a stale vector."""

    def get_queryset(self) -> StoryQuerySet:
        return super().get_queryset().defer("search_vector")


class Story(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="stories")
    number = models.PositiveIntegerField()
    key = models.CharField(max_length=24, unique=True)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    acceptance_criteria = models.TextField(blank=True)
    kind = models.CharField(max_length=8, choices=StoryKind.choices, default=StoryKind.STORY)
    points = models.DecimalField(
        max_digits=6, decimal_places=1, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    state = models.ForeignKey(WorkflowState, on_delete=models.RESTRICT, related_name="stories")
    rank = RankField()
    # RESTRICT, not SET_NULL: unlinking stories is a change with events, made by the services that delete
    # an epic, a sprint or a deliverable (deleting the whole project still cascades).
    epic = models.ForeignKey(Epic, on_delete=models.RESTRICT, null=True, blank=True, related_name="stories")
    labels = models.ManyToManyField(Label, blank=True, related_name="stories")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_stories"
    )
    sprint = models.ForeignKey(Sprint, on_delete=models.RESTRICT, null=True, blank=True, related_name="stories")
    # The data product this story helps ship (named by string: apps.deliverables sits above this app).
    deliverable = models.ForeignKey(
        "deliverables.Deliverable", on_delete=models.RESTRICT, null=True, blank=True, related_name="stories"
    )
    blocked = models.BooleanField(default=False)
    blocked_reason = models.CharField(max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The story's key in the tool it was imported from (Jira's "DATA-12"): a re-import matches on it.
    external_key = models.CharField(max_length=64, blank=True, default="", editable=False)
    # The flow projection (sprintboard.projection.StoryFlow), advanced by the services with every event
    # they append, in the same row write: the board reads ages and the SLE here instead of the whole log.
    flow_state_since = models.DateTimeField(null=True, blank=True, editable=False)
    flow_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    flow_finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    flow_blocked_since = models.DateTimeField(null=True, blank=True, editable=False)
    flow_reopened = models.PositiveIntegerField(default=0, editable=False)
    # The cycle time in days of a finished story, in the project's time zone (what the board's SLE counts).
    flow_cycle_days = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # Search (PostgreSQL): key and title (weight A), description and acceptance criteria (B), comments (C),
    # rewritten by apps.stories.services.story_search_update in the transaction of every change to them.
    search_vector = SearchVectorField(null=True, blank=True, editable=False)

    objects = StoryManager()
    # Not a column: the label names a rank move's own statement read (apps.stories.services.events), for its answer.
    label_names_read: list[str] | None = None

    # The flow projection's columns: what set_flow writes, and what verify_events compares with the replay.
    FLOW_FIELDS = (
        "flow_state_since", "flow_started_at", "flow_finished_at", "flow_blocked_since", "flow_reopened",
        "flow_cycle_days",
    )  # fmt: skip

    class Meta:
        ordering = ["rank"]
        verbose_name_plural = "stories"
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="story_unique_number"),
            # Deferred so a rebalance can rewrite a neighbourhood of keys in one statement.
            models.UniqueConstraint(
                fields=["project", "rank"], name="story_unique_rank", deferrable=models.Deferrable.DEFERRED
            ),
            models.CheckConstraint(
                condition=Q(points__gte=0) | Q(points__isnull=True), name="story_points_not_negative"
            ),
            models.UniqueConstraint(
                fields=["project", "external_key"], condition=~Q(external_key=""), name="story_unique_external_key"
            ),
        ]
        indexes = [
            models.Index(fields=["project", "sprint", "rank"], name="story_project_sprint_rank"),
            models.Index(fields=["project", "state"], name="story_project_state"),
            # The board's service level reads the live stories finished in its window.
            models.Index(
                fields=["project", "flow_finished_at"],
                include=["flow_cycle_days"],  # the board's SLE reads only these: an index-only scan
                condition=Q(deleted_at__isnull=True),
                name="story_project_finished",
            ),
            # Search ranks a broad query's newest matches: in one project, walked newest first by this index.
            models.Index(fields=["project", "-id"], name="story_project_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def flow(self) -> StoryFlow | None:
        """The flow projection as at the story's latest event; None before its ``created`` event."""
        if self.flow_state_since is None:
            return None
        return StoryFlow(
            state_since=self.flow_state_since,
            started_at=self.flow_started_at,
            finished_at=self.flow_finished_at,
            blocked_since=self.flow_blocked_since,
            reopened=self.flow_reopened,
        )

    def set_flow(self, value: StoryFlow, *, zone: tzinfo) -> None:
        """Keep ``value`` on the row, with its cycle time in days in ``zone`` (the project's time zone)."""
        self.flow_state_since, self.flow_started_at = value.state_since, value.started_at
        self.flow_finished_at, self.flow_blocked_since = value.finished_at, value.blocked_since
        self.flow_reopened = value.reopened
        self.flow_cycle_days = cycle_days(value, zone)


class Comment(models.Model):
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.story_id}"


class EventKind(models.TextChoices):
    CREATED = "created"
    STATE = "state"
    SPRINT = "sprint"
    ASSIGNEE = "assignee"
    POINTS = "points"
    RANK = "rank"
    # A rebalance gave a neighbourhood of stories fresh rank keys (order unchanged): {key: new rank}.
    REBALANCED = "rebalanced"
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"
    UPDATED = "updated"
    DELETED = "deleted"
    RESTORED = "restored"
    # A link to another story added (field "added") or removed ("removed"), logged on both stories: to_value is
    # {"link": id, "kind", "direction": "outward" | "inward", "story": the other story's id, "key": its key}.
    LINK = "link"


class StoryEvent(models.Model):
    """The append-only log of every change to a story; reports are pure functions of it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=EventKind.choices)
    field = models.CharField(max_length=40, blank=True)
    from_value = models.JSONField(null=True, blank=True)
    to_value = models.JSONField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # Who made an imported change when they are not a Sprintboard user (a Jira author matched to nobody).
    actor_name = models.CharField(max_length=200, blank=True, default="")
    # How ``to_value`` read when it was written: the name behind an id (state, sprint, epic, deliverable) or the
    # assignee's full name. An imported assignee who is no Sprintboard user has only this (``to_value`` is null,
    # as the row's assignee is). History shows names as they were, not as they are now.
    to_name = models.CharField(max_length=200, blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        ordering = ["project", "seq"]
        constraints = [models.UniqueConstraint(fields=["project", "seq"], name="storyevent_unique_seq")]
        indexes = [models.Index(fields=["story", "at"], name="storyevent_story_at")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.story_id}"


class LinkKind(models.TextChoices):
    """How ``source`` relates to ``target``: it blocks it, relates to it, or duplicates it."""

    BLOCKS = "blocks", "blocks"
    RELATES = "relates", "relates to"
    DUPLICATES = "duplicates", "duplicates"


# How a link reads from its target's side ("DATA-3 is blocked by DATA-1").
INWARD_NAMES = {
    LinkKind.BLOCKS: "is blocked by",
    LinkKind.RELATES: "relates to",
    LinkKind.DUPLICATES: "is duplicated by",
}


class StoryLink(models.Model):
    """A link between two stories, in one project or two; added and removed only by ``services.links``, each
    change a ``link`` event on both stories. Kept when either story is soft-deleted (hidden while it is)."""

    source = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=10, choices=LinkKind.choices)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind"], name="storylink_unique"),
            models.CheckConstraint(condition=~Q(source=models.F("target")), name="storylink_not_itself"),
        ]
        indexes = [models.Index(fields=["target", "kind"], name="storylink_target_kind")]

    def __str__(self) -> str:
        return f"{self.source_id} {self.kind} {self.target_id}"
