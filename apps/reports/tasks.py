"""Celery tasks of the reports: each takes ids or names, and calls a service (imported in its body).

``report_compute_task`` computes one report (acks late, so a worker killed mid-task leaves the
message to be redelivered; the service makes a second run harmless). Database and Redis errors are
retried with exponential backoff; once retries run out, ``_report_compute_failed`` marks the report
failed with the reason. ``reports_nightly_task`` queues the default flow, waste or forecast report of
every active project; ``reports_sweep_task`` queues again the reports whose worker died (each minute);
``reports_expire_task`` deletes the reports nobody asked for lately (each night). The beat schedule in
settings runs them on the nightly queue, each with ``expires`` so a stalled worker does not pile up
duplicates; ``report_compute_task`` goes to the queue its caller names (on demand or nightly).

The services import this module; this module imports them only inside the task bodies, so the two
never import each other at load time.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.core.retries import retrying

TRANSIENT = (OperationalError, InterfaceError, BrokerError, RedisConnectionError, RedisTimeoutError)
NIGHTLY_KINDS = ("flow", "waste", "forecast")


def _report_compute_failed(self: Any, exc: BaseException, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
    from apps.reports.services import report_fail

    report_id = args[0] if args else kwargs["report_id"]
    report_fail(report_id=report_id, error=f"The computation failed after retries ({type(exc).__name__}): {exc}")


@shared_task(
    bind=True,
    name="apps.reports.tasks.report_compute_task",
    on_failure=_report_compute_failed,
    **retrying(TRANSIENT, backoff=2, backoff_max=120, retries=5),
)
def report_compute_task(self: Any, report_id: int) -> str:
    from apps.reports.services import report_compute

    return report_compute(report_id=report_id)


@shared_task(name="apps.reports.tasks.reports_nightly_task", **retrying(TRANSIENT, backoff=1, retries=3))
def reports_nightly_task(kind: str) -> int:
    """Queue the default ``kind`` report of every active project; returns how many were queued or current."""
    from apps.reports.services import reports_nightly

    if kind not in NIGHTLY_KINDS:
        raise ValueError(f"the nightly reports are {', '.join(NIGHTLY_KINDS)}, not {kind!r}")
    return reports_nightly(kind=kind)


@shared_task(name="apps.reports.tasks.reports_sweep_task", acks_late=True)
def reports_sweep_task() -> int:
    """Queue again the reports whose task was lost (a worker killed whole); returns how many."""
    from apps.reports.services import reports_requeue_lost

    return reports_requeue_lost()


@shared_task(name="apps.reports.tasks.reports_expire_task", acks_late=True)
def reports_expire_task() -> int:
    """Delete the reports nobody asked for in REPORTS_UNUSED_DAYS (final sprint reports are kept)."""
    from apps.reports.services import reports_expire_unused

    return reports_expire_unused()
