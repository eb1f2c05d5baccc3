"""Prometheus metrics, served at ``/metrics`` by the web pods.

=========================================== ========= ==================== ===========================================
metric                                      type      labels               recorded
=========================================== ========= ==================== ===========================================
sprintboard_http_request_duration_seconds   histogram method, route,       by ``PrometheusMiddleware`` in each gunicorn
                                                      status               worker
sprintboard_celery_tasks_total              counter   task, state          by Celery signals in the worker, in Redis
sprintboard_celery_task_failures_total      counter   task, exception      by ``task_failure`` in the worker, in Redis
sprintboard_celery_task_duration_seconds    histogram task                 by ``task_prerun``/``task_postrun``, in Redis
sprintboard_report_age_seconds              gauge     kind                 read from ``apps.reports.Report`` at scrape
=========================================== ========= ==================== ===========================================

Where each number lives:

- Request latency is observed in every gunicorn worker process. With
  ``PROMETHEUS_MULTIPROC_DIR`` set (the chart sets it on web pods) prometheus_client
  keeps each process's values in files there and a scrape adds all workers up;
  ``gunicorn.conf.py`` marks exited workers dead. Without it (runserver, tests)
  the metrics live in the process's default registry.
- Celery tasks run in worker pods, which nothing scrapes. The worker's signal
  handlers add each finished task to one Redis hash (``PROMETHEUS_CELERY_KEY``,
  one pipelined round trip per task), and a web pod reads the hash when scraped.
  Redis's HINCRBY is atomic, so any number of worker processes and pods add up.
- Report ages are computed from the database at scrape time: the newest
  ``computed_at`` per ``kind`` of ``apps.reports.models.Report``. Until that
  model exists (or while the database is unreachable) no series is emitted.

The Celery and report series describe the whole installation, so every web pod
reports the same values: aggregate them with ``max``, not ``sum``, e.g.
``max by (task, state) (rate(sprintboard_celery_tasks_total[5m]))``.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import redis
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

__all__ = [
    "PrometheusMiddleware",
    "metrics_response",
    "task_failed",
    "task_finished",
    "task_started",
]

logger = logging.getLogger(__name__)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
TASK_DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, float("inf"))

REQUEST_DURATION = Histogram(
    "sprintboard_http_request_duration_seconds",
    "Time from the request reaching Django's middleware to its response, by URL pattern.",
    ["method", "route", "status"],
)


# --- Web requests -------------------------------------------------------------------


class PrometheusMiddleware:
    """Times every request that reaches it; placed after the probes, so they are not counted."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        REQUEST_DURATION.labels(
            method=request.method if request.method in METHODS else "other",
            route=route_of(request),
            status=str(response.status_code),
        ).observe(time.perf_counter() - started)
        return response


def route_of(request: HttpRequest) -> str:
    """The URL pattern that matched ("/p/<str:key>/"), never the path: labels must stay few."""
    match = getattr(request, "resolver_match", None)
    return "/" + match.route if match is not None else "unmatched"


def metrics_response() -> HttpResponse:
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    registry.register(CeleryTaskCollector())
    registry.register(ReportAgeCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


# --- Celery tasks: written by the worker's signal handlers, read by the web pod ----------

_started: dict[str, float] = {}


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def _add_to_task_metrics(increments: dict[str, float]) -> None:
    """Add to fields of the metrics hash; a Redis failure is logged, never raised into the task."""
    if not settings.REDIS_URL:
        return  # tasks run eagerly in process: no worker, nothing to report
    try:
        with _redis(settings.REDIS_URL).pipeline(transaction=False) as pipe:
            for field, amount in increments.items():
                if isinstance(amount, int):
                    pipe.hincrby(settings.PROMETHEUS_CELERY_KEY, field, amount)
                else:
                    pipe.hincrbyfloat(settings.PROMETHEUS_CELERY_KEY, field, amount)
            pipe.execute()
    except redis.RedisError as exc:
        logger.warning("Celery task metrics were not recorded: %s", exc)


def task_started(task_id: str | None = None, **_: Any) -> None:
    """task_prerun: runs in the worker process that runs the task."""
    if task_id:
        _started[task_id] = time.perf_counter()


def task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    """task_postrun: one count by outcome, and the duration."""
    started = _started.pop(task_id, None) if task_id else None
    if task is None:
        return
    increments: dict[str, float] = {f"tasks|{task.name}|{(state or 'unknown').lower()}": 1}
    if started is not None:
        duration = time.perf_counter() - started
        bucket = next(le for le in TASK_DURATION_BUCKETS if duration <= le)
        increments[f"duration_bucket|{task.name}|{floatToGoString(bucket)}"] = 1
        increments[f"duration_sum|{task.name}|"] = duration
    _add_to_task_metrics(increments)


def task_failed(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    """task_failure: which exception, so an alert can tell a timeout from a bug."""
    if sender is not None:
        _add_to_task_metrics({f"failures|{sender.name}|{type(exception).__name__}": 1})


class CeleryTaskCollector:
    """Turns the Redis hash into metric families at scrape time."""

    def collect(self) -> Iterator[Metric]:
        if not settings.REDIS_URL:
            return
        try:
            fields = _redis(settings.REDIS_URL).hgetall(settings.PROMETHEUS_CELERY_KEY)
        except redis.RedisError as exc:
            logger.warning("Celery task metrics could not be read: %s", exc)
            return
        tasks = CounterMetricFamily(
            "sprintboard_celery_tasks", "Celery tasks finished, by outcome.", labels=["task", "state"]
        )
        failures = CounterMetricFamily(
            "sprintboard_celery_task_failures", "Celery tasks that raised, by exception.", labels=["task", "exception"]
        )
        buckets: dict[str, dict[str, int]] = {}
        sums: dict[str, float] = {}
        for raw_field, raw_value in sorted(fields.items()):
            kind, task, label = (raw_field.decode() if isinstance(raw_field, bytes) else raw_field).split("|", 2)
            value = float(raw_value)
            if kind == "tasks":
                tasks.add_metric([task, label], value)
            elif kind == "failures":
                failures.add_metric([task, label], value)
            elif kind == "duration_bucket":
                buckets.setdefault(task, {})[label] = int(value)
            elif kind == "duration_sum":
                sums[task] = value
        yield tasks
        yield failures
        yield task_duration_family(buckets, sums)


def task_duration_family(buckets: dict[str, dict[str, int]], sums: dict[str, float]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(
        "sprintboard_celery_task_duration_seconds", "Time Celery tasks took to run.", labels=["task"]
    )
    bounds = [floatToGoString(le) for le in TASK_DURATION_BUCKETS]
    for task, counts in sorted(buckets.items()):
        cumulative = itertools.accumulate(counts.get(le, 0) for le in bounds)
        family.add_metric([task], buckets=list(zip(bounds, cumulative, strict=True)), sum_value=sums.get(task, 0.0))
    return family


# --- Reports --------------------------------------------------------------------------


def newest_reports() -> dict[str, datetime]:
    """The newest computed_at per kind of apps.reports' Report; empty while there is no such model."""
    if not apps.is_installed("apps.reports"):
        return {}
    try:
        report = apps.get_model("reports", "Report")
    except LookupError:
        return {}
    try:
        rows = report.objects.values_list("kind").annotate(newest=Max("computed_at")).order_by()
        return {str(kind): newest for kind, newest in rows if newest is not None}
    except DatabaseError as exc:
        logger.warning("Report ages could not be read: %s", exc)
        return {}


class ReportAgeCollector:
    def collect(self) -> Iterator[Metric]:
        newest = newest_reports()
        if not newest:
            return
        ages = GaugeMetricFamily(
            "sprintboard_report_age_seconds",
            "Seconds since the newest report of each kind was computed.",
            labels=["kind"],
        )
        now = timezone.now()
        for kind, computed_at in sorted(newest.items()):
            ages.add_metric([kind], (now - computed_at).total_seconds())
        yield ages
