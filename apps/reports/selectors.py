"""Reads shared by the report pages, the API and the tasks: inputs, their hash, stored reports.

A report's inputs are the project's event sequence number, a hash of the configuration the
engine reads for that kind (workflow states with names, categories and positions; the time zone;
the dates of the sprints it covers; for the kinds that read deliverables, their fingerprint) and the
as-of day. ``current_inputs`` reads them in at most four indexed queries; the task computes the same
hash from the very records it hands to the engine.

Publishing or retiring a deliverable writes no story event, so the event sequence number does not
move: the deliverables' fingerprint (``apps.deliverables.selectors.dataops_fingerprint``: each one's
name, kind, publication and retirement) is part of the configuration hash of every kind that reads
them, and a publication makes the next request recompute.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.deliverables.selectors import dataops_fingerprint
from apps.projects.models import Project
from apps.reports.models import Report, ReportKind
from apps.reports.parameters import parameters_hash
from apps.stories.models import Sprint, SprintStatus
from apps.stories.selectors import engine_sprints, engine_workflow
from sprintboard import records

# Kinds whose result depends on sprint dates (the sprint report depends on its own sprint only).
USES_ALL_SPRINTS = {ReportKind.VELOCITY, ReportKind.WASTE, ReportKind.DATAOPS}
# Kinds whose result depends on deliverables: "published this sprint", retired unpublished, the DataOps metrics.
USES_DELIVERABLES = {ReportKind.SPRINT, ReportKind.WASTE, ReportKind.DATAOPS}


@dataclass(frozen=True)
class Inputs:
    """What a report is a function of. Two computations with equal inputs give the same report."""

    event_seq: int
    config_hash: str
    as_of_day: date

    def matches(self, report: Report) -> bool:
        return (report.event_seq, report.config_hash, report.as_of_day) == (
            self.event_seq,
            self.config_hash,
            self.as_of_day,
        )


def config_hash(
    *,
    kind: str,
    tz: str,
    workflow: Iterable[records.State],
    sprints: Iterable[records.Sprint],
    sprint_id: int | None,
    deliverables: str = "",
) -> str:
    """A hash of the configuration a ``kind`` report reads; ``deliverables`` is their fingerprint (kinds that read them)."""
    if kind == ReportKind.SPRINT:
        covered = [s for s in sprints if s.id == sprint_id]
    elif kind in USES_ALL_SPRINTS:
        covered = list(sprints)
    else:
        covered = []
    payload = {
        "tz": tz,
        "states": [[s.id, s.name, s.category, s.position] for s in workflow],
        "sprints": [[s.id, s.start, s.end, s.started_at, s.closed_at] for s in sorted(covered, key=lambda s: s.id)],
    }
    if kind in USES_DELIVERABLES:
        payload["deliverables"] = deliverables
    encoded = json.dumps(records.to_jsonable(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def local_today(project: Project, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(project.tzinfo).date()


def as_of_day(project: Project, sprint: Sprint | None, now: datetime | None = None) -> date:
    """The as-of day: a closed sprint's close day, otherwise today, in the project's time zone."""
    if sprint is not None and sprint.closed_at is not None:
        return sprint.closed_at.astimezone(project.tzinfo).date()
    return local_today(project, now)


def deliverables_fingerprint(project: Project, kind: str) -> str:
    """The fingerprint of the deliverables a ``kind`` report reads ("" for kinds that read none): one query."""
    return dataops_fingerprint(project) if kind in USES_DELIVERABLES else ""


def current_inputs(project: Project, kind: str, sprint: Sprint | None = None) -> Inputs:
    watermark = Project.objects.filter(pk=project.pk).values_list("last_event_seq", flat=True).get()
    sprints = engine_sprints(project) if kind in USES_ALL_SPRINTS or kind == ReportKind.SPRINT else ()
    digest = config_hash(
        kind=kind,
        tz=project.timezone,
        workflow=engine_workflow(project),
        sprints=sprints,
        sprint_id=sprint.pk if sprint else None,
        deliverables=deliverables_fingerprint(project, kind),
    )
    return Inputs(watermark, digest, as_of_day(project, sprint))


def report_find(project: Project, kind: str, parameters: dict[str, Any]) -> Report | None:
    return Report.objects.filter(project=project, kind=kind, parameters_hash=parameters_hash(parameters)).first()


def sprint_parameters(sprint: Sprint) -> dict[str, Any]:
    return {"sprint": sprint.pk}


def reportable_sprints(project: Project) -> list[Sprint]:
    """Sprints that have a report: started ones, newest first."""
    return list(Sprint.objects.filter(project=project, started_at__isnull=False).order_by("-start", "-id"))


ACTIVE_WITHIN = timedelta(days=30)


def active_projects(*, now: datetime | None = None) -> QuerySet[Project]:
    """Projects with an active sprint, or whose last change is at most 30 days old (one query)."""
    since = (now or timezone.now()) - ACTIVE_WITHIN
    running = Sprint.objects.filter(project=OuterRef("pk"), status=SprintStatus.ACTIVE)
    return Project.objects.filter(Q(Exists(running)) | Q(last_event_at__gte=since)).order_by("key")
