"""Celery tasks of the reports: each takes ids, loads, and calls a service.

``report_compute_task`` computes one report (acks late, so a worker killed mid-task leaves the
message to be redelivered; the service makes a second run harmless). Database and Redis errors are
retried with exponential backoff; once retries run out the report is marked failed with the reason.
``reports_nightly_task`` queues the default flow, waste or forecast report of every active project
(the beat schedule in settings runs it each night, with ``expires`` so a stalled worker does not
pile up duplicates).
"""

from __future__ import annotations

from datetime import timedelta

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.projects.models import Project
from apps.reports import services
from apps.reports.models import ReportKind
from apps.stories.models import Sprint, SprintStatus, StoryEvent

TRANSIENT = (OperationalError, InterfaceError, BrokerError, RedisConnectionError, RedisTimeoutError)
NIGHTLY_KINDS = (ReportKind.FLOW, ReportKind.WASTE, ReportKind.FORECAST)
ACTIVE_WITHIN = timedelta(days=30)


class ReportTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # noqa: ANN001 - Celery's signature
        if self.name.endswith("report_compute_task") and args:
            services.report_fail(
                report_id=args[0], error=f"The computation failed after retries ({type(exc).__name__}): {exc}"
            )


@shared_task(
    bind=True,
    base=ReportTask,
    name="apps.reports.tasks.report_compute_task",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
def report_compute_task(self, report_id: int) -> str:
    return services.report_compute(report_id=report_id)


def active_projects() -> list[Project]:
    """Projects with an active sprint, or whose last event is at most 30 days old (one indexed query each)."""
    with_sprint = set(Sprint.objects.filter(status=SprintStatus.ACTIVE).values_list("project_id", flat=True))
    since = timezone.now() - ACTIVE_WITHIN
    found = []
    for project in Project.objects.order_by("key"):
        recent = StoryEvent.objects.filter(project=project, seq=project.last_event_seq, at__gte=since).exists()
        if project.pk in with_sprint or recent:
            found.append(project)
    return found


@shared_task(
    name="apps.reports.tasks.reports_nightly_task",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=3,
)
def reports_nightly_task(kind: str) -> int:
    """Queue the default ``kind`` report of every active project; returns how many were queued or current."""
    if kind not in NIGHTLY_KINDS:
        raise ValueError(f"the nightly reports are {', '.join(NIGHTLY_KINDS)}, not {kind!r}")
    projects = active_projects()
    for project in projects:
        services.report_request(project=project, kind=kind, parameters=services.default_parameters(kind))
    return len(projects)
