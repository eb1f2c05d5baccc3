"""Bounded report work: one computation per parameter set in flight, caps per person and per project,
two queues, a sweep for reports whose worker died, and the expiry of reports nobody asks for."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.errors import TooManyRequests
from apps.reports import services
from apps.reports.models import Report, ReportKind, ReportStatus
from tests.apps.reports.conftest import build_history

FLOW = {"from": None, "to": None}


def forecast(seed: int) -> dict:
    return {"items": None, "date": None, "seed": seed}


def ask(project, user, seed: int, *, force: bool = False) -> Report:
    return services.report_request(
        project=project, kind=ReportKind.FORECAST, parameters=forecast(seed), requested_by=user, force=force
    )


# --- One computation per parameter set --------------------------------------------------------------


@pytest.mark.django_db
def test_a_parameter_set_being_computed_is_returned_to_whoever_asks(project, history, people):
    first = ask(project, people["stakeholder"], 1)
    assert first.status == ReportStatus.PENDING and first.requested_by == people["stakeholder"]
    again = ask(project, people["member"], 1, force=True)
    assert again.pk == first.pk and again.queued_at == first.queued_at
    assert again.requested_by == people["stakeholder"]  # nothing queued again: still theirs
    Report.objects.filter(pk=first.pk).update(status=ReportStatus.RUNNING, started_at=timezone.now())
    assert ask(project, people["owner"], 1).status == ReportStatus.RUNNING
    assert Report.objects.filter(kind=ReportKind.FORECAST).count() == 1


# --- Caps ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_person_may_have_at_most_the_cap_of_computations_in_flight(project, history, people, settings):
    settings.REPORTS_MAX_PENDING_PER_USER = 3
    stakeholder = people["stakeholder"]
    for seed in (1, 2, 3):
        assert ask(project, stakeholder, seed).status == ReportStatus.PENDING
    with pytest.raises(TooManyRequests) as refused:
        ask(project, stakeholder, 4)
    assert refused.value.code == "too_many_reports" and refused.value.retry_after > 0
    assert "3 reports being computed" in refused.value.message
    assert not Report.objects.filter(kind=ReportKind.FORECAST, parameters__seed=4).exists()  # no row left behind
    assert ask(project, stakeholder, 2).status == ReportStatus.PENDING  # what is in flight is still answered
    assert ask(project, people["member"], 4).status == ReportStatus.PENDING  # someone else's cap

    services.report_compute(report_id=ask(project, stakeholder, 1).pk)
    assert ask(project, stakeholder, 5).status == ReportStatus.PENDING  # one done: room for another


@pytest.mark.django_db
def test_a_project_may_have_at_most_its_cap_of_computations_in_flight(project, history, people, settings):
    settings.REPORTS_MAX_PENDING_PER_PROJECT = 2
    ask(project, people["stakeholder"], 1)
    ask(project, people["member"], 2)
    with pytest.raises(TooManyRequests) as refused:
        ask(project, people["owner"], 3)
    assert "DATA has 2 reports being computed" in refused.value.message
    # Another project has its own cap; the nightly run and a sprint's close are not capped.
    other = project.other
    assert ask(other, people["outsider"], 1).status == ReportStatus.PENDING
    assert services.reports_nightly(kind=ReportKind.FLOW) == 1
    assert Report.objects.get(project=project, kind=ReportKind.FLOW).status == ReportStatus.PENDING


@pytest.mark.django_db
def test_retrying_a_failed_report_past_the_cap_is_refused_and_leaves_it_failed(project, history, people, settings):
    settings.REPORTS_MAX_PENDING_PER_USER = 1
    member = people["member"]
    failed = ask(project, member, 1)
    services.report_fail(report_id=failed.pk, error="boom")
    ask(project, member, 2)
    with pytest.raises(TooManyRequests):
        ask(project, member, 1, force=True)
    assert Report.objects.get(pk=failed.pk).status == ReportStatus.FAILED


@pytest.mark.django_db
def test_past_the_cap_the_api_answers_429_with_retry_after_in_the_error_shape(project, history, people):
    client = APIClient()
    client.force_authenticate(people["stakeholder"])
    answers = [client.get(f"/api/v1/projects/DATA/reports/forecast/?seed={seed}") for seed in range(25)]
    cap = django_settings.REPORTS_MAX_PENDING_PER_USER
    assert [a.status_code for a in answers] == [202] * cap + [429] * (25 - cap)
    refused = answers[-1]
    assert refused["Retry-After"] == str(services.RETRY_AFTER_SECONDS)
    [error] = refused.json()["errors"]
    assert (error["field"], error["code"]) == (None, "too_many_reports")
    assert f"You have {cap} reports being computed" in error["message"]
    assert Report.objects.filter(kind=ReportKind.FORECAST).count() == cap
    assert client.get("/api/v1/projects/DATA/reports/forecast/?seed=3").status_code == 202  # in flight: answered


@pytest.mark.django_db
def test_past_the_cap_a_report_page_says_so(project, history, people, browser_for, settings):
    settings.REPORTS_MAX_PENDING_PER_USER = 1
    client = browser_for("member")
    assert client.get("/p/DATA/reports/forecast/?seed=1").status_code == 200
    page = client.get("/p/DATA/reports/forecast/?seed=2")
    assert page.status_code == 429 and page["Retry-After"] == str(services.RETRY_AFTER_SECONDS)
    assert "You have 1 reports being computed" in page.content.decode()

    done = ask(project, people["owner"], 3)
    services.report_compute(report_id=done.pk)
    Report.objects.filter(pk=done.pk).update(status=ReportStatus.FAILED)
    queue_url = f"/p/DATA/reports/queue/{done.pk}/"
    fragment = client.post(queue_url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and 'role="alert">You have 1 reports being computed' in fragment.content.decode()
    assert client.post(queue_url).status_code == 302  # a plain form: the message, back on the page
    assert Report.objects.get(pk=done.pk).status == ReportStatus.FAILED


# --- Queues ---------------------------------------------------------------------------------------------


def queued(client, queue: str) -> list[tuple[str, str]]:
    """The task names and arguments waiting in a broker queue, oldest first."""
    messages = [json.loads(raw)["headers"] for raw in reversed(client.lrange(queue, 0, -1))]
    return [(m["task"], m["argsrepr"]) for m in messages]


@pytest.mark.redis
def test_on_demand_work_and_the_nightly_run_go_to_separate_queues(broker, project, people, states):
    reports, nightly = django_settings.REPORTS_QUEUE, django_settings.NIGHTLY_QUEUE
    history = build_history(project, people, states)  # committed: the sprint's close queued its report
    sprint_report = Report.objects.get(kind=ReportKind.SPRINT, sprint=history["closed"])
    compute = "apps.reports.tasks.report_compute_task"
    assert queued(broker, nightly) == [(compute, f"[{sprint_report.pk}]")]

    client = APIClient()
    client.force_authenticate(people["stakeholder"])
    assert client.get("/api/v1/projects/DATA/reports/flow/?from=2024-03-01&to=2024-03-31").status_code == 202
    flow = Report.objects.get(kind=ReportKind.FLOW)
    assert queued(broker, reports) == [(compute, f"[{flow.pk}]")]

    services.reports_nightly(kind=ReportKind.WASTE)
    from apps.reports.tasks import reports_expire_task, reports_nightly_task, reports_sweep_task

    for task in (reports_nightly_task, reports_sweep_task, reports_expire_task):  # as the beat sends them
        task.apply_async(args=("flow",) if task is reports_nightly_task else ())
    waste = Report.objects.get(kind=ReportKind.WASTE)
    assert [name for name, _ in queued(broker, nightly)] == [
        compute,
        compute,
        "apps.reports.tasks.reports_nightly_task",
        "apps.reports.tasks.reports_sweep_task",
        "apps.reports.tasks.reports_expire_task",
    ]
    assert queued(broker, nightly)[1] == (compute, f"[{waste.pk}]")
    assert queued(broker, reports) == [(compute, f"[{flow.pk}]")]  # nothing nightly in the on-demand queue
    header = json.loads(broker.lindex(reports, 0))["headers"]
    assert header["expires"] is not None  # a message never started within its time is dropped, then swept


# --- The sweep ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sweep_queues_again_what_lost_its_task_and_leaves_the_rest(
    project, history, people, django_capture_on_commit_callbacks
):
    now = timezone.now()
    hard_limit_and_margin = django_settings.CELERY_TASK_TIME_LIMIT + django_settings.REPORTS_STUCK_MARGIN_SECONDS
    Report.objects.all().delete()  # the closed sprint's report, queued by its close

    def report(seed: int, user=None, **state) -> Report:
        row = ask(project, user or people["stakeholder"], seed)
        Report.objects.filter(pk=row.pk).update(**state)
        return row

    dead = report(1, status=ReportStatus.RUNNING, started_at=now - timedelta(seconds=hard_limit_and_margin + 1))
    working = report(2, status=ReportStatus.RUNNING, started_at=now - timedelta(seconds=hard_limit_and_margin - 5))
    expired = report(3, queued_at=now - timedelta(seconds=django_settings.REPORTS_QUEUED_EXPIRY_SECONDS + 1))
    waiting = report(4, queued_at=now - timedelta(seconds=django_settings.REPORTS_QUEUED_EXPIRY_SECONDS - 5))
    nightly = services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    Report.objects.filter(pk=nightly.pk).update(status=ReportStatus.RUNNING, started_at=now - timedelta(hours=2))
    done = report(5, user=people["member"])
    services.report_compute(report_id=done.pk)

    with django_capture_on_commit_callbacks() as enqueued:
        assert services.reports_requeue_lost(now=now) == 3
    assert sorted(callback.args for callback in enqueued) == sorted(
        [(dead.pk, "reports"), (expired.pk, "reports"), (nightly.pk, "nightly")]  # back where each came from
    )
    for row in (dead, expired, nightly):
        row.refresh_from_db()
        assert row.status == ReportStatus.PENDING and row.queued_at == now and row.progress == 0
    assert Report.objects.get(pk=working.pk).status == ReportStatus.RUNNING
    assert Report.objects.get(pk=waiting.pk).queued_at < now
    assert Report.objects.get(pk=done.pk).status == ReportStatus.DONE
    with django_capture_on_commit_callbacks() as enqueued:
        assert services.reports_requeue_lost(now=now) == 0  # once
    assert enqueued == []


def test_by_default_a_dead_worker_s_report_is_back_within_minutes():
    limit = django_settings.CELERY_TASK_TIME_LIMIT
    visibility = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility == limit + django_settings.REPORTS_STUCK_MARGIN_SECONDS  # matched to the time limit
    assert limit < visibility <= 10 * 60
    assert services._running_lost_after() == timedelta(seconds=visibility)
    sweep = django_settings.CELERY_BEAT_SCHEDULE["reports-sweep"]
    assert sweep["task"] == "apps.reports.tasks.reports_sweep_task" and sweep["schedule"] <= 60
    assert 0 < sweep["options"]["expires"] <= sweep["schedule"]


# --- Expiry ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reports_nobody_asked_for_lately_are_deleted_and_final_sprint_reports_kept(project, history, people):
    closed = history["closed"]
    final = services.report_request(project=project, kind=ReportKind.SPRINT, parameters={}, sprint=closed)
    services.report_compute(report_id=final.pk)
    old_flow = services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    services.report_compute(report_id=old_flow.pk)
    old_failed = ask(project, people["member"], 1)
    services.report_fail(report_id=old_failed.pk, error="boom")
    recent = ask(project, people["member"], 2)
    now = timezone.now()
    long_ago = now - timedelta(days=django_settings.REPORTS_UNUSED_DAYS, hours=1)
    Report.objects.exclude(pk=recent.pk).update(read_at=long_ago, created_at=long_ago)
    Report.objects.filter(pk=recent.pk).update(created_at=long_ago)  # old, but asked for lately

    assert services.reports_expire_unused(now=now) == 2
    assert set(Report.objects.values_list("pk", flat=True)) == {final.pk, recent.pk}
    assert Report.objects.get(pk=final.pk).final


@pytest.mark.django_db
def test_asking_for_a_report_keeps_it(project, history, people):
    report = services.report_request(
        project=project, kind=ReportKind.FLOW, parameters=FLOW, requested_by=people["member"]
    )
    services.report_compute(report_id=report.pk)
    long_ago = timezone.now() - timedelta(days=django_settings.REPORTS_UNUSED_DAYS + 1)
    Report.objects.filter(pk=report.pk).update(read_at=long_ago, created_at=long_ago)
    assert services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW).status == ReportStatus.DONE
    assert Report.objects.get(pk=report.pk).read_at > long_ago
    assert services.reports_expire_unused() == 0
    half_an_hour_ago = timezone.now() - timedelta(minutes=30)
    Report.objects.filter(pk=report.pk).update(read_at=half_an_hour_ago)
    services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    assert Report.objects.get(pk=report.pk).read_at == half_an_hour_ago  # marked at most once an hour


def test_the_beat_expires_unused_reports_each_night_on_the_nightly_queue():
    entry = django_settings.CELERY_BEAT_SCHEDULE["reports-expire"]
    assert entry["task"] == "apps.reports.tasks.reports_expire_task" and entry["options"]["expires"] <= 24 * 3600
    routes = django_settings.CELERY_TASK_ROUTES
    for name in ("reports_nightly_task", "reports_sweep_task", "reports_expire_task"):
        assert routes[f"apps.reports.tasks.{name}"] == {"queue": django_settings.NIGHTLY_QUEUE}


# --- Memory ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_memory_cap_binds_only_in_a_worker_pool_process(project, history, settings):
    """Here (the web process, a task run eagerly) a 1 MB cap changes nothing: one limit would bind the whole
    process. The worker's pool processes are capped (test_worker)."""
    import resource

    limits = resource.getrlimit(resource.RLIMIT_AS)
    settings.REPORT_MAX_MEMORY_MB = 1
    report = services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    assert services.report_compute(report_id=report.pk) == "stored"
    assert resource.getrlimit(resource.RLIMIT_AS) == limits
