"""Reads of deliverables shared by pages, the API and reports.

Stories are reached through the reverse relation ``deliverable.stories`` (the foreign key lives on
the story, in an app below this one), so nothing here imports apps.stories.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone

from apps.core import search
from apps.deliverables.models import (
    DEFAULT_CHECKLISTS,
    FINAL_STATUSES,
    ChecklistItem,
    ChecklistTemplate,
    Deliverable,
    DeliverableConsumer,
    DeliverableEvent,
    DeliverableEventKind,
    DeliverableKind,
    DeliverableStatus,
    PipelineRun,
    RunSource,
)
from apps.projects.models import CLOSED_CATEGORIES, Category, Membership, Project, Role
from sprintboard import pipelines, records

ALIVE = Q(stories__deleted_at__isnull=True)
# A cancelled ("won't do") story leaves the flow: it is neither progress nor a reason to hold publication.
COUNTED = ALIVE & ~Q(stories__state__category=Category.CANCELLED)
DONE = ALIVE & Q(stories__state__category=Category.DONE)


@dataclass(frozen=True)
class Progress:
    stories_done: int = 0
    stories_total: int = 0
    points_done: Decimal | int = 0
    points_total: Decimal | int = 0
    items_done: int = 0
    items_total: int = 0

    @property
    def percent(self) -> int | None:
        """Done points over total points (by count when nothing is estimated); None with no stories."""
        if self.points_total:
            return round(100 * self.points_done / self.points_total)
        if self.stories_total:
            return round(100 * self.stories_done / self.stories_total)
        return None

    @property
    def checklist_complete(self) -> bool:
        return self.items_done == self.items_total


@dataclass(frozen=True)
class Blockers:
    open_items: list[ChecklistItem] = field(default_factory=list)
    unfinished_stories: list[Any] = field(default_factory=list)
    proposed: bool = False  # only proposed: its development starts before it can be published
    no_stories: bool = False  # not a blocker: publishing with no linked story is allowed, with a warning

    @property
    def ready(self) -> bool:
        return not self.open_items and not self.unfinished_stories

    @property
    def listed(self) -> bool:
        """Anything the page lists under "Before it can be published"."""
        return bool(self.open_items or self.unfinished_stories or self.proposed or self.no_stories)


# --- Lists ------------------------------------------------------------------------------------


def deliverables_for(
    project: Project, *, kind: str | None = None, status: str | None = None, consumer: str | None = None
) -> QuerySet[Deliverable]:
    """A project's deliverables, filtered; ``consumer`` is a username or a consumer group's name."""
    rows = Deliverable.objects.filter(project=project)
    if kind:
        rows = rows.filter(kind=kind)
    if status:
        rows = rows.filter(status=status)
    if consumer:
        by_user = DeliverableConsumer.objects.filter(user__username=consumer).values("deliverable_id")
        groups = [
            d
            for d, names in Deliverable.objects.filter(project=project).values_list("pk", "consumer_groups")
            if any(isinstance(n, str) and n.casefold() == consumer.casefold() for n in names or [])
        ]
        rows = rows.filter(Q(pk__in=by_user) | Q(pk__in=groups))
    return with_people(rows).order_by("name", "id")


def with_people(rows: QuerySet[Deliverable]) -> QuerySet[Deliverable]:
    consumers = Prefetch(
        "consumer_links", DeliverableConsumer.objects.select_related("user").order_by("user__username")
    )
    return rows.select_related("project", "owner").prefetch_related(consumers)


def progress_by_deliverable(ids: Iterable[int]) -> dict[int, Progress]:
    """Stories done/total (count and points) and checklist ticked/total, for many deliverables in two queries."""
    ids = list(ids)
    stories = (
        Deliverable.objects.filter(pk__in=ids)
        .values("pk")
        .annotate(
            stories_total=Count("stories", filter=COUNTED),
            stories_done=Count("stories", filter=DONE),
            points_total=Sum("stories__points", filter=COUNTED),
            points_done=Sum("stories__points", filter=DONE),
        )
        .order_by()
    )
    items = {
        row["deliverable_id"]: row
        for row in ChecklistItem.objects.filter(deliverable_id__in=ids)
        .values("deliverable_id")
        .annotate(items_total=Count("id"), items_done=Count("id", filter=Q(done=True)))
        .order_by()
    }
    out = {}
    for row in stories:
        checklist: Mapping[str, Any] = items.get(row["pk"], {})
        out[row["pk"]] = Progress(
            row["stories_done"],
            row["stories_total"],
            row["points_done"] or 0,
            row["points_total"] or 0,
            checklist.get("items_done", 0),
            checklist.get("items_total", 0),
        )
    return out


def is_late(deliverable: Deliverable, today: date | None = None) -> bool:
    """Past its target date and not yet published (or retired)."""
    if deliverable.target_date is None or deliverable.status in FINAL_STATUSES:
        return False
    today = today or timezone.now().astimezone(deliverable.project.tzinfo).date()
    return deliverable.target_date < today


def freshness_of(deliverable: Deliverable, now: datetime | None = None) -> pipelines.Freshness:
    """Time since its last successful pipeline run, against the interval its owner expects."""
    return pipelines.freshness(
        deliverable.last_success_at, expected_hours=deliverable.expected_interval_hours, now=now or timezone.now()
    )


def runs(deliverable: Deliverable) -> QuerySet[PipelineRun]:
    """A deliverable's pipeline runs, newest first."""
    return (
        PipelineRun.objects.filter(deliverable=deliverable)
        .select_related("reported_by")
        .order_by("-received_at", "-id")
    )


def consumer_choices(project: Project) -> list[tuple[str, str]]:
    """Every consumer named in the project: its users (by username) and its groups, for the catalogue's filter."""
    users = (
        DeliverableConsumer.objects.filter(deliverable__project=project)
        .values_list("user__username", flat=True)
        .distinct()
    )
    groups: set[str] = set()
    for names in Deliverable.objects.filter(project=project).values_list("consumer_groups", flat=True):
        groups.update(n for n in names or [] if isinstance(n, str))
    return [(u, u) for u in sorted(set(users))] + [(g, f"{g} (group)") for g in sorted(groups, key=str.casefold)]


# --- One deliverable ---------------------------------------------------------------------------


def checklist(deliverable: Deliverable) -> QuerySet[ChecklistItem]:
    return (
        ChecklistItem.objects.filter(deliverable=deliverable)
        .select_related("assignee", "ticked_by")
        .order_by("position", "id")
    )


def linked_stories(deliverable: Deliverable) -> QuerySet:
    """The deliverable's stories (not deleted), in rank order, with their states."""
    return deliverable.stories.filter(deleted_at__isnull=True).select_related("state", "assignee").order_by("rank")


def publish_blockers(deliverable: Deliverable) -> Blockers:
    """What stands between the deliverable and its publication: open items and unfinished linked stories."""
    open_items = list(checklist(deliverable).filter(done=False))
    stories = linked_stories(deliverable)
    unfinished = list(stories.exclude(state__category__in=CLOSED_CATEGORIES))
    return Blockers(
        open_items,
        unfinished,
        proposed=deliverable.status == DeliverableStatus.PROPOSED,
        no_stories=not unfinished and not stories.exists(),
    )


def events(deliverable: Deliverable) -> QuerySet[DeliverableEvent]:
    return DeliverableEvent.objects.filter(deliverable=deliverable).select_related("actor").order_by("at", "id")


STATUS_NAMES: dict[Any, str] = dict(DeliverableStatus.choices)


def describe(event: DeliverableEvent) -> str:
    """One line of the timeline, after the actor's name: "moved it from In development to Published"."""

    def value(v: Any) -> str:
        if isinstance(v, list):
            return ", ".join(map(str, v)) or "nothing"
        return "nothing" if v in (None, "") else str(v)

    kind, old, new = event.kind, event.from_value, event.to_value
    if kind == DeliverableEventKind.CREATED:
        status = new.get("status") if isinstance(new, dict) else None
        return f"created it ({STATUS_NAMES.get(status, status)})"
    if kind == DeliverableEventKind.STATUS:
        return f"moved it from {STATUS_NAMES.get(old, old)} to {STATUS_NAMES.get(new, new)}"
    if kind == DeliverableEventKind.ITEM_TICKED:
        return f"ticked “{new}”"
    if kind == DeliverableEventKind.ITEM_UNTICKED:
        return f"reopened “{new}”"
    if kind == DeliverableEventKind.ITEM_ADDED:
        return f"added the checklist item “{new}”"
    if kind == DeliverableEventKind.ITEM_REMOVED:
        return f"removed the checklist item “{old}”"
    if kind in (DeliverableEventKind.RUN, DeliverableEventKind.FLAGGED, DeliverableEventKind.UNFLAGGED):
        return _describe_run(kind, new if isinstance(new, dict) else {})
    label = event.field.replace("_", " ")
    if kind == DeliverableEventKind.ITEM_UPDATED and isinstance(new, dict):
        return f"changed the {label} of “{new.get('item')}” to {value(new.get(event.field))}"
    if event.field == "description":
        return "changed the description"
    return f"changed the {label} from {value(old)} to {value(new)}"


RUN_SOURCE_NAMES = dict(RunSource.choices)


def _describe_run(kind: str, run: dict[str, Any]) -> str:
    source = RUN_SOURCE_NAMES.get(run.get("source", ""), run.get("source", "pipeline"))
    job = f" ({run['job']})" if run.get("job") else ""
    failures = run.get("failures") or []
    named = f": {', '.join(map(str, failures))}" if failures else ""
    if kind == DeliverableEventKind.FLAGGED:
        return f"flagged it: a {source} run{job} {run.get('status', 'failed')}{named}"
    if kind == DeliverableEventKind.UNFLAGGED:
        return f"cleared its flag: a {source} run{job} passed"
    return f"reported a {source} run{job} that {run.get('status')}{named}"


def may_change_item(membership: Membership | None, item: ChecklistItem, fields: Iterable[str]) -> bool:
    """Members change any item; a stakeholder may tick (and attach evidence to) an item assigned to them."""
    if membership is None:
        return False
    if membership.allows(Role.MEMBER):
        return True
    return item.assignee_id == membership.user_id and set(fields) <= {"done", "evidence_url"}


# --- Templates ---------------------------------------------------------------------------------


def template_items(project: Project) -> dict[str, list[str]]:
    """Each kind's checklist template: the project's own where it has one, the default otherwise (nothing written)."""
    saved = dict(ChecklistTemplate.objects.filter(project=project).values_list("kind", "items"))
    return {kind: list(saved.get(kind, DEFAULT_CHECKLISTS[kind])) for kind in DeliverableKind.values}


# --- For the engine ------------------------------------------------------------------------------


def engine_deliverables(project: Project) -> tuple[records.Deliverable, ...]:
    """The project's deliverables as the engine's records, with their status history (two queries)."""
    history: dict[int, list[records.DeliverableStatus]] = {}
    failed_runs: dict[int, list[datetime]] = {}
    kinds = (DeliverableEventKind.STATUS, DeliverableEventKind.CREATED, DeliverableEventKind.FLAGGED)
    rows = DeliverableEvent.objects.filter(project=project, kind__in=kinds)
    for deliverable_id, kind, to_value, at in rows.order_by("at", "id").values_list(
        "deliverable_id", "kind", "to_value", "at"
    ):
        if kind == DeliverableEventKind.FLAGGED:
            failed_runs.setdefault(deliverable_id, []).append(at)
            continue
        status = (
            to_value.get("status") if kind == DeliverableEventKind.CREATED and isinstance(to_value, dict) else to_value
        )
        if isinstance(status, str):
            label = dict(DeliverableStatus.choices).get(status, status).lower()
            history.setdefault(deliverable_id, []).append(records.DeliverableStatus(at=at, status=label))
    return tuple(
        records.Deliverable(
            id=pk,
            name=name,
            kind=kind,
            published_at=published,
            retired_at=retired,
            status_history=tuple(history.get(pk, ())),
            failed_runs=tuple(failed_runs.get(pk, ())),
        )
        for pk, name, kind, published, retired in Deliverable.objects.filter(project=project)
        .order_by("id")
        .values_list("id", "name", "kind", "published_at", "retired_at")
    )


def story_links(project: Project) -> dict[int, int]:
    """story id → deliverable id for the project's linked stories (through the reverse relation)."""
    pairs = Deliverable.objects.filter(project=project, stories__isnull=False).values_list("stories__id", "id")
    return dict(pairs)


def dataops_fingerprint(project: Project) -> str:
    """A hash of what the DataOps metrics read besides the story log: each deliverable's kind, name and
    publication and retirement moments, and how often a failing pipeline run flagged it. Publishing writes no
    story event, so a report cached against the event watermark must also compare this (linking a story is a
    story event, so links need not be in it)."""
    rows = (
        Deliverable.objects.filter(project=project)
        .annotate(flags=Count("events", filter=Q(events__kind=DeliverableEventKind.FLAGGED)))
        .order_by("id")
        .values_list("id", "name", "kind", "published_at", "retired_at", "flags")
    )
    text = "|".join(
        f"{i}:{n}:{k}:{p.isoformat() if p else ''}:{r.isoformat() if r else ''}:{f}" for i, n, k, p, r, f in rows
    )
    return hashlib.sha256(text.encode()).hexdigest()


# --- Search (apps.core.search) -------------------------------------------------------------------

DELIVERABLE_FALLBACK = search.Fallback(fields=("name", "description"), title="name")
_FINAL = ", ".join(f"'{status}'" for status in FINAL_STATUSES)
DELIVERABLE_SOURCE = search.Source(
    kind="deliverable",
    table=Deliverable._meta.db_table,
    vector="{t}.search_vector",
    states={search.CLOSED: f"{{t}}.status IN ({_FINAL})", search.OPEN: f"{{t}}.status NOT IN ({_FINAL})"},
)


def deliverables_search(
    *, project_ids: Collection[int], text: str, state: str | None = None, limit: int
) -> search.Ranked:
    """The deliverables of ``project_ids`` that match ``text``; closed: published or retired."""
    rows = Deliverable.objects.filter(project_id__in=project_ids)
    rows = search.in_state(rows, state, closed=Q(status__in=FINAL_STATUSES))
    return search.ranked(rows, text, vector=F("search_vector"), fallback=DELIVERABLE_FALLBACK, limit=limit)


def _deliverable_shown(item: Deliverable) -> search.Shown:
    url = reverse("deliverable-detail", args=[item.project.key, item.pk])
    return search.Shown(title=item.name, url=url, state=item.get_status_display())


def deliverable_hits(ids: Collection[int], text: str) -> dict[int, search.Hit]:
    rows = Deliverable.objects.filter(pk__in=list(ids)).select_related("project")
    return search.hits(rows, text, kind="deliverable", shown=_deliverable_shown, fields=("name", "description"))
