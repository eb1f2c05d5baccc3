"""The only writers of reports: queue a (re)computation, compute and store one, record a failure.

A request looks at the stored row: a done report whose inputs equal the current inputs is served as
it is; a closed sprint's report, once computed as of its close, is final. Anything else is queued,
once: only the request that moves the row to ``pending`` enqueues the task (after its commit). A
report being computed is returned to whoever asks for the same parameters. What people ask for goes to
the on-demand queue, capped per person and per project (``REPORTS_MAX_PENDING_PER_*``: past a cap,
``TooManyRequests``); what the nightly run and a sprint's close queue goes to the nightly queue.
A report whose task was lost (a worker killed whole) is queued again by the sweep once the hard
time limit plus a margin has passed; reports nobody asked for lately are deleted each night.

The task body is :func:`report_compute`. It reads the stored inputs, loads the event log by indexed
range, replays and computes in ``sprintboard/``, and stores with a compare-and-swap on the inputs
it saw at the start (``filter(pk=..., event_seq=..., config_hash=..., ...).update(...)``): if
another worker stored in between, the result is stored only if it is fresher, so a stale result never
replaces a fresh one. Recomputing from the same inputs gives the same report, so a task delivered
twice (a worker killed mid-task, a broker redelivery) is harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.errors import Conflict, InvalidInput, TooManyRequests
from apps.deliverables.models import DeliverableKind
from apps.deliverables.selectors import engine_deliverables
from apps.projects.models import Project
from apps.reports import parameters as params
from apps.reports.memory import MemoryCapExceeded, memory_cap
from apps.reports.models import Report, ReportKind, ReportStatus
from apps.reports.selectors import (
    USES_DELIVERABLES,
    Inputs,
    active_projects,
    config_hash,
    current_inputs,
    deliverables_fingerprint,
    sprint_parameters,
)
from apps.reports.tasks import report_compute_task
from apps.stories.models import Sprint
from apps.stories.selectors import EngineInput, engine_input
from sprintboard import dataops, flow, forecast, records, sprints, waste
from sprintboard.errors import EngineError
from sprintboard.history import History, replay
from sprintboard.records import to_jsonable

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError)
CAS_ATTEMPTS = 5


@dataclass(frozen=True)
class Stored:
    """The inputs of what a row holds, with the moment they were read: the key of the compare-and-swap."""

    event_seq: int | None
    config_hash: str
    as_of_day: date | None
    inputs_read_at: datetime | None

    @classmethod
    def of(cls, report: Report) -> Stored:
        return cls(report.event_seq, report.config_hash, report.as_of_day, report.inputs_read_at)

    def freshness(self) -> tuple:
        # The event log only grows and days only pass: a later read has a later day or a higher seq.
        return (
            self.as_of_day or date.min,
            self.event_seq or 0,
            self.inputs_read_at or datetime.min.replace(tzinfo=UTC),
        )

    def as_filter(self) -> dict[str, Any]:
        return {
            "event_seq": self.event_seq,
            "config_hash": self.config_hash,
            "as_of_day": self.as_of_day,
            "inputs_read_at": self.inputs_read_at,
        }


# --- Queueing -------------------------------------------------------------------------------------

BUSY = (ReportStatus.PENDING, ReportStatus.RUNNING)
RETRY_AFTER_SECONDS = 30  # what a refused request is told: most reports take seconds
READ_MARK_EVERY = timedelta(hours=1)  # read_at is kept to the hour: a GET writes at most once an hour


def _running_lost_after() -> timedelta:
    """A report "running" longer than the hard time limit plus a margin lost its worker: no task runs longer."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + settings.REPORTS_STUCK_MARGIN_SECONDS)


def _queued_lost_after() -> timedelta:
    """A report queued longer than this has no message left: it expired unstarted, or the broker lost it."""
    return timedelta(seconds=settings.REPORTS_QUEUED_EXPIRY_SECONDS)


def _lost(report: Report, now: datetime) -> bool:
    """Whether a queued or running report lost its task (a worker killed whole, a broker flushed)."""
    if report.status == ReportStatus.RUNNING:
        return report.started_at is None or now - report.started_at > _running_lost_after()
    return report.queued_at is None or now - report.queued_at > _queued_lost_after()


def _settled(report: Report, now: datetime) -> bool:
    """Nothing to queue, whatever the inputs: a final report, or one whose computation is under way."""
    if report.final and report.status == ReportStatus.DONE:
        return True
    return report.is_busy and not _lost(report, now)


def _needs_computing(report: Report, inputs: Inputs, *, force: bool, now: datetime) -> bool:
    if _settled(report, now):
        return False
    if report.is_busy:  # lost its task; or queued_at is None: a row just created, not yet queued
        return True
    if report.status == ReportStatus.DONE:
        return not inputs.matches(report)
    return force or not inputs.matches(report)  # failed: retried on demand, or when an input changed


def _queue(requested_by_id: int | None) -> str:
    """On-demand work (a person asked) and the nightly run's (nobody did) go to separate queues."""
    return settings.REPORTS_QUEUE if requested_by_id is not None else settings.NIGHTLY_QUEUE


def _enqueue(report_id: int, queue: str) -> None:
    try:
        report_compute_task.apply_async(args=[report_id], queue=queue, expires=_queued_lost_after().total_seconds())
    except Exception as exc:  # noqa: BLE001 - the broker is down, or (eagerly) the task failed: never a 500
        logger.exception("could not run report %s", report_id)
        Report.objects.filter(pk=report_id, status__in=BUSY).update(
            status=ReportStatus.FAILED,
            error=f"The computation could not be queued or run ({type(exc).__name__}); retry.",
            config_hash="",
            event_seq=None,
        )


def _mark_read(report: Report, now: datetime) -> Report:
    if report.read_at is None or now - report.read_at >= READ_MARK_EVERY:
        Report.objects.filter(pk=report.pk).update(read_at=now)
        report.read_at = now
    return report


def _check_caps(project: Project, user: User, report_id: int) -> None:
    """Refuse a computation past the caps of on-demand work in flight, per person and per project.

    The caller holds the project's and the person's row locks, so two requests never both pass.
    """
    busy = Report.objects.filter(status__in=BUSY).exclude(pk=report_id)
    mine = busy.filter(requested_by=user).count()
    if mine >= settings.REPORTS_MAX_PENDING_PER_USER:
        raise TooManyRequests(
            f"You have {mine} reports being computed, the most one person may have at once: "
            f"retry when one of them is done.",
            retry_after=RETRY_AFTER_SECONDS,
            code="too_many_reports",
        )
    theirs = busy.filter(project=project, requested_by__isnull=False).count()
    if theirs >= settings.REPORTS_MAX_PENDING_PER_PROJECT:
        raise TooManyRequests(
            f"{project.key} has {theirs} reports being computed, the most a project may have at once: "
            f"retry when one of them is done.",
            retry_after=RETRY_AFTER_SECONDS,
            code="too_many_reports",
        )


def _lock_for_caps(project: Project, user: User) -> None:
    """Lock the project's row, then the person's (the project first, as every writer does)."""
    list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True))
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


def report_request(
    *,
    project: Project,
    kind: str,
    parameters: dict[str, Any],
    sprint: Sprint | None = None,
    force: bool = False,
    requested_by: User | None = None,
) -> Report:
    """The stored report if its inputs are current; otherwise queue its computation (once) and return the row.

    What exists is looked at first: a report being computed is returned as it is, whoever queued it.
    ``requested_by`` is the person asking (pages, API): their computation goes to the on-demand
    queue and counts against the caps (``TooManyRequests`` past either); without one (the nightly
    run, a sprint's close) it goes to the nightly queue, uncapped. ``force`` retries a failed report
    whose inputs did not change. A done, current report is never recomputed, forced or not.
    """
    if kind not in ReportKind.values:
        raise InvalidInput(f"{kind!r} is not a kind of report.", field="kind")
    if kind == ReportKind.SPRINT:
        if sprint is None or sprint.started_at is None:
            raise Conflict("This sprint has not started: its report begins at its start.", code="not_started")
        parameters = sprint_parameters(sprint)
    digest = params.parameters_hash(parameters)
    now = timezone.now()
    found = Report.objects.filter(project=project, kind=kind, parameters_hash=digest).first()
    if found is not None and _settled(found, now):
        return _mark_read(found, now)
    inputs = current_inputs(project, kind, sprint)
    if found is not None and not _needs_computing(found, inputs, force=force, now=now):
        return _mark_read(found, now)
    with transaction.atomic():
        if requested_by is not None:
            _lock_for_caps(project, requested_by)
        report, _ = Report.objects.get_or_create(
            project=project,
            kind=kind,
            parameters_hash=digest,
            defaults={"parameters": parameters, "sprint": sprint, "status": ReportStatus.PENDING, "read_at": now},
        )
        if not _needs_computing(report, inputs, force=force, now=now):  # another request queued it meanwhile
            return _mark_read(report, now)
        if requested_by is not None:
            _check_caps(project, requested_by, report.pk)  # refused: the row just created is rolled back
        queued = Report.objects.filter(pk=report.pk, status=report.status, queued_at=report.queued_at).update(
            status=ReportStatus.PENDING,
            progress=0,
            error="",
            queued_at=now,
            read_at=now,
            requested_by=requested_by,
        )
        if queued:
            transaction.on_commit(partial(_enqueue, report.pk, _queue(requested_by.pk if requested_by else None)))
    report.refresh_from_db()
    return report


def reports_requeue_lost(*, now: datetime | None = None) -> int:
    """Queue again every report whose task was lost (the sweep the beat runs each minute); returns how many.

    A report "running" past the hard time limit plus a margin lost its worker: killed whole, its
    message waits for the broker's visibility timeout, or was lost with the broker. One queued
    longer than its message lives was never started. Each goes back to the queue it came from,
    with a compare-and-swap so a report that moved on meanwhile is left alone; should the old
    message come back too, the second run finds the report done and stores nothing.
    """
    now = now or timezone.now()
    lost = Report.objects.filter(
        Q(status=ReportStatus.RUNNING, started_at__lt=now - _running_lost_after())
        | Q(status=ReportStatus.RUNNING, started_at__isnull=True)
        | Q(status=ReportStatus.PENDING, queued_at__lt=now - _queued_lost_after())
        | Q(status=ReportStatus.PENDING, queued_at__isnull=True, created_at__lt=now - _queued_lost_after())
    ).values_list("pk", "status", "queued_at", "started_at", "requested_by_id")
    requeued = 0
    for report_id, status, queued_at, started_at, requested_by_id in lost:
        with transaction.atomic():
            if Report.objects.filter(pk=report_id, status=status, queued_at=queued_at, started_at=started_at).update(
                status=ReportStatus.PENDING, progress=0, queued_at=now
            ):
                logger.warning("report %s was %s and lost its task: queued again", report_id, status)
                transaction.on_commit(partial(_enqueue, report_id, _queue(requested_by_id)))
                requeued += 1
    return requeued


def reports_expire_unused(*, now: datetime | None = None) -> int:
    """Delete the reports nobody asked for in ``REPORTS_UNUSED_DAYS`` (the nightly clean-up); returns how many.

    A closed sprint's final report is kept: it is never recomputed. Any other report is rebuilt from
    the event log when it is asked for again.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.REPORTS_UNUSED_DAYS)
    unused = Q(read_at__lt=cutoff) | Q(read_at__isnull=True, created_at__lt=cutoff)
    deleted, _ = Report.objects.filter(unused, final=False).delete()
    return deleted


# --- Computing --------------------------------------------------------------------------------------


def _progress(report_id: int, percent: int) -> None:
    Report.objects.filter(pk=report_id, status=ReportStatus.RUNNING).update(progress=percent)


def _engine_config(data: EngineInput, kind: str, sprint_id: int | None, fingerprint: str) -> str:
    return config_hash(
        kind=kind,
        tz=data.timezone,
        workflow=data.workflow,
        sprints=data.sprints,
        sprint_id=sprint_id,
        deliverables=fingerprint,
    )


def _sprint_record(data: EngineInput, sprint_id: int | None) -> records.Sprint:
    found = [s for s in data.sprints if s.id == sprint_id]
    if not found:
        raise EngineError(f"sprint {sprint_id} no longer exists")
    return found[0]


def _figures(report: object) -> dict[str, Any]:
    """An engine report (a dataclass) as the JSON object a report stores."""
    figures = to_jsonable(report)
    if not isinstance(figures, dict):
        raise TypeError(f"{type(report).__name__} is not a report of named figures")
    return figures


def _published(shipped: list[records.Deliverable]) -> list[dict[str, Any]]:
    return [{"id": d.id, "name": d.name, "kind": d.kind, "published_at": to_jsonable(d.published_at)} for d in shipped]


def _compute(
    report: Report, data: EngineInput, history: History, deliverables: tuple[records.Deliverable, ...]
) -> dict[str, Any]:
    kind, parameters = report.kind, report.parameters
    if kind == ReportKind.SPRINT:
        sprint = _sprint_record(data, report.sprint_id)
        result = _figures(sprints.sprint_report(history, sprint=sprint))
        result["published_deliverables"] = _published(dataops.published_in_sprint(deliverables, sprint, history.as_of))
        return result
    if kind == ReportKind.DATAOPS:
        result = _figures(dataops.dataops_report(history, deliverables=deliverables, sprints=data.sprints))
        result["kind_names"] = dict(DeliverableKind.choices)
        return result
    if kind == ReportKind.VELOCITY:
        return _figures(sprints.velocity_report(history, sprints=data.sprints))
    if kind == ReportKind.FLOW:
        start, end = params.window_of(parameters, history.as_of_day)
        result = _figures(flow.flow_report(history, start=start, end=end))
        result["state_names"] = {str(s.id): s.name for s in data.workflow}
        return result
    if kind == ReportKind.WASTE:
        start, end = params.window_of(parameters, history.as_of_day)
        result = _figures(
            waste.waste_report(history, sprints=data.sprints, deliverables=deliverables, start=start, end=end)
        )
        result["trend"] = to_jsonable(
            waste.waste_trend(history, sprints=data.sprints)
        )  # per closed sprint, oldest first
        result["state_names"] = {str(s.id): s.name for s in data.workflow}
        return result
    return _forecast(report, history)


def _forecast(report: Report, history: History) -> dict[str, Any]:
    parameters, seed = report.parameters, report.parameters.get("seed", 0)
    if parameters.get("items"):
        result = _figures(forecast.forecast_when(history, items=parameters["items"], seed=seed))
        return {"mode": "when", **result}
    by = (
        date.fromisoformat(parameters["date"])
        if parameters.get("date")
        else (history.as_of_day + timedelta(days=report.project.sprint_length_days))
    )
    result = _figures(forecast.forecast_how_many(history, by=max(by, history.as_of_day), seed=seed))
    return {"mode": "how_many", **result}


def _as_of(report: Report, data: EngineInput) -> datetime:
    if report.kind == ReportKind.SPRINT:
        closed_at = _sprint_record(data, report.sprint_id).closed_at
        if closed_at is not None:
            return closed_at
    return timezone.now()


def _inputs_day(report: Report, data: EngineInput, history: History) -> date:
    """The as-of day, as ``selectors.as_of_day`` reads it: a closed sprint's (real) close day, else today."""
    if report.kind == ReportKind.SPRINT:
        raw = next((s for s in data.sprints if s.id == report.sprint_id), None)
        if raw is not None and raw.closed_at is not None:
            return raw.closed_at.astimezone(history.zone).date()
    return history.as_of_day


def report_compute(*, report_id: int) -> str:
    """Compute one report and store it; returns what happened (``stored``, ``unchanged``, ``stale``, ...).

    Engine errors (and a soft time limit) become a failed report with its message; database and
    broker errors propagate so the task retries them with backoff.
    """
    report = Report.objects.select_related("project", "sprint").filter(pk=report_id).first()
    if report is None:
        return "gone"
    if report.final and report.status == ReportStatus.DONE:
        return "final"
    seen = Stored.of(report)
    if report.status == ReportStatus.DONE and current_inputs(report.project, report.kind, report.sprint).matches(
        report
    ):
        return "unchanged"
    Report.objects.filter(pk=report_id).exclude(status=ReportStatus.DONE).update(
        status=ReportStatus.RUNNING, progress=5, started_at=timezone.now(), attempts=F("attempts") + 1
    )
    _progress(report_id, 10)
    try:
        with memory_cap(settings.REPORT_MAX_MEMORY_MB):
            read_at = timezone.now()
            inputs, result, final = _computed(report)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:  # noqa: BLE001 - engine errors, a soft time limit, the memory cap: the report says why
        logger.warning("report %s failed: %s", report_id, exc)
        return report_fail(report_id=report_id, error=_message(exc))
    return _store(
        report_id, seen, Stored(inputs.event_seq, inputs.config_hash, inputs.as_of_day, read_at), result, final
    )


def _computed(report: Report) -> tuple[Inputs, dict[str, Any], bool]:
    """Read the log, replay and compute: the inputs read, the result, and whether it is final.

    Everything the computation holds lives in this frame, so it is all freed when it returns or fails.
    """
    data = engine_input(report.project)
    # The fingerprint is read before the deliverables: a publication in between makes the stored
    # inputs older than the data, so the next request recomputes (never the other way round).
    fingerprint = deliverables_fingerprint(report.project, report.kind)
    deliverables = engine_deliverables(report.project) if report.kind in USES_DELIVERABLES else ()
    _progress(report.pk, 40)
    as_of = _as_of(report, data)
    history = replay(data.events, stories=data.stories, workflow=data.workflow, tz=data.timezone, as_of=as_of)
    _progress(report.pk, 70)
    config = _engine_config(data, report.kind, report.sprint_id, fingerprint)
    inputs = Inputs(data.watermark, config, _inputs_day(report, data, history))
    result = _compute(report, data, history, deliverables)
    _progress(report.pk, 90)
    final = report.kind == ReportKind.SPRINT and _sprint_record(data, report.sprint_id).closed_at is not None
    return inputs, result, final


def _message(exc: Exception) -> str:
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(exc, SoftTimeLimitExceeded):
        return f"The computation took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} seconds and was stopped."
    if isinstance(exc, MemoryCapExceeded):
        return (
            f"This report needs more than {exc.megabytes} MB of memory, the most one report may use here, "
            "so it was stopped. A shorter window needs less; an administrator can raise the cap "
            "(SPRINTBOARD_REPORT_MAX_MEMORY_MB)."
        )
    if isinstance(exc, EngineError):
        return f"The event log could not be computed into this report: {exc}"
    return f"The computation failed ({type(exc).__name__}: {exc})."


def _store(report_id: int, seen: Stored, ours: Stored, result: dict[str, Any], final: bool) -> str:
    fields = {
        "status": ReportStatus.DONE,
        "progress": 100,
        "result": result,
        "error": "",
        "computed_at": timezone.now(),
        "final": final,
        "computations": F("computations") + 1,
        **ours.as_filter(),
    }
    for _ in range(CAS_ATTEMPTS):
        if Report.objects.filter(pk=report_id, final=False, **seen.as_filter()).update(**fields):
            return "stored"
        now_stored = Report.objects.filter(pk=report_id).first()
        if now_stored is None:
            return "gone"
        if now_stored.final or Stored.of(now_stored).freshness() >= ours.freshness():
            return "stale"  # another worker stored a result at least as fresh: keep it
        seen = Stored.of(now_stored)
    return "stale"


def report_fail(*, report_id: int, error: str) -> str:
    """Record a failure unless a result at least as fresh was stored meanwhile; the report can be retried."""
    updated = Report.objects.filter(pk=report_id, status__in=[ReportStatus.PENDING, ReportStatus.RUNNING]).update(
        status=ReportStatus.FAILED, error=error[:2000], progress=0
    )
    if updated:
        # The failure belongs to the inputs of this moment: the same request will not loop, a change will retry.
        report = Report.objects.select_related("project", "sprint").get(pk=report_id)
        inputs = current_inputs(report.project, report.kind, report.sprint)
        Report.objects.filter(pk=report_id, status=ReportStatus.FAILED).update(
            event_seq=inputs.event_seq,
            config_hash=inputs.config_hash,
            as_of_day=inputs.as_of_day,
        )
    return "failed"


def report_sprint_closed(*, sprint: Sprint) -> Report | None:
    """Queue a closed sprint's report, as of its close (the sprint-closed signal calls this)."""
    try:
        return report_request(project=sprint.project, kind=ReportKind.SPRINT, parameters={}, sprint=sprint)
    except (DatabaseError, Conflict):
        logger.exception("could not queue the report of sprint %s", sprint.pk)
        return None


def is_current(report: Report) -> bool:
    """Whether a done report's inputs are the current ones (a final report always is)."""
    if report.final:
        return True
    return current_inputs(report.project, report.kind, report.sprint).matches(report)


def default_parameters(kind: str) -> dict[str, Any]:
    """The parameters of a kind's default report (the one the pages show first and the nightly run computes)."""
    return params.parse(kind, {}, today=date.today())


def reports_nightly(*, kind: str) -> int:
    """Queue the default ``kind`` report of every active project; returns how many were queued or current."""
    projects = list(active_projects())
    for project in projects:
        report_request(project=project, kind=kind, parameters=default_parameters(kind))
    return len(projects)
