"""/metrics in process: what each collector emits (test_entrypoints.py runs it under gunicorn)."""

from __future__ import annotations

import secrets
import socket
from datetime import timedelta
from types import SimpleNamespace

import pytest
import redis
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry

from apps.web import metrics


def scrape(*collectors: object) -> CollectorRegistry:
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)
    return registry


@pytest.mark.django_db
def test_metrics_answer_a_scrape_by_pod_ip(client) -> None:
    response = client.get("/metrics", HTTP_HOST="10.42.0.17:8000")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"# TYPE sprintboard_http_request_duration_seconds histogram" in response.content


@pytest.mark.django_db
def test_requests_are_timed_by_url_pattern_not_path(client) -> None:
    labels = {"method": "GET", "route": "/p/<str:key>/", "status": "302"}
    before = REGISTRY.get_sample_value("sprintboard_http_request_duration_seconds_count", labels) or 0.0

    assert client.get("/p/DATA/").status_code == 302  # to the login page

    assert REGISTRY.get_sample_value("sprintboard_http_request_duration_seconds_count", labels) == before + 1


def requests_timed() -> float:
    return sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == "sprintboard_http_request_duration_seconds"
        for sample in family.samples
        if sample.name.endswith("_count")
    )


@pytest.mark.django_db
def test_probes_and_scrapes_are_not_timed(client) -> None:
    before = requests_timed()
    for path in ("/healthz", "/metrics"):
        client.get(path)
    assert requests_timed() == before


def test_report_ages_are_left_out_while_there_is_no_report_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_model(app_label: str, model_name: str) -> None:
        raise LookupError(f"App '{app_label}' doesn't have a '{model_name}' model.")

    monkeypatch.setattr(metrics.apps, "get_model", no_model)

    assert metrics.newest_reports() == {}
    assert list(metrics.ReportAgeCollector().collect()) == []


def test_report_ages_are_seconds_since_the_newest_report_of_each_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    now = timezone.now()
    newest = {"burndown": now - timedelta(minutes=5), "velocity": now - timedelta(hours=2)}
    monkeypatch.setattr(metrics, "newest_reports", lambda: newest)

    registry = scrape(metrics.ReportAgeCollector())

    burndown = registry.get_sample_value("sprintboard_report_age_seconds", {"kind": "burndown"})
    velocity = registry.get_sample_value("sprintboard_report_age_seconds", {"kind": "velocity"})
    assert 300 <= burndown < 310
    assert 7200 <= velocity < 7210


def test_tasks_are_not_recorded_without_a_broker(settings) -> None:
    settings.REDIS_URL = ""
    metrics.task_started(task_id="t1")
    metrics.task_finished(task_id="t1", task=SimpleNamespace(name="sprintboard.ping"), state="SUCCESS")
    assert list(metrics.CeleryTaskCollector().collect()) == []


@pytest.mark.redis
def test_worker_signals_add_up_in_redis_for_the_web_pod(settings) -> None:
    settings.PROMETHEUS_CELERY_KEY = f"sprintboard:test:celery-tasks:{secrets.token_hex(4)}"
    task = SimpleNamespace(name="sprintboard.example")
    try:
        for number, state in enumerate(["SUCCESS", "SUCCESS", "FAILURE"]):
            metrics.task_started(task_id=f"id-{number}")
            if state == "FAILURE":
                metrics.task_failed(sender=task, exception=TimeoutError("slow"))
            metrics.task_finished(task_id=f"id-{number}", task=task, state=state)

        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in metrics.CeleryTaskCollector().collect()
            for sample in family.samples
        }
    finally:
        redis.Redis.from_url(settings.REDIS_URL).delete(settings.PROMETHEUS_CELERY_KEY)

    def value(name: str, **labels: str) -> float | None:
        return samples.get((name, tuple(sorted({"task": "sprintboard.example", **labels}.items()))))

    assert value("sprintboard_celery_tasks_total", state="success") == 2
    assert value("sprintboard_celery_tasks_total", state="failure") == 1
    assert value("sprintboard_celery_task_failures_total", exception="TimeoutError") == 1
    assert value("sprintboard_celery_task_duration_seconds_count") == 3
    assert value("sprintboard_celery_task_duration_seconds_bucket", le="0.1") == 3
    assert value("sprintboard_celery_task_duration_seconds_bucket", le="+Inf") == 3
    assert 0 <= value("sprintboard_celery_task_duration_seconds_sum") < 1


def test_a_redis_outage_neither_fails_the_task_nor_the_scrape(settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"

    metrics.task_started(task_id="t1")
    metrics.task_finished(task_id="t1", task=SimpleNamespace(name="sprintboard.ping"), state="SUCCESS")

    assert list(metrics.CeleryTaskCollector().collect()) == []
