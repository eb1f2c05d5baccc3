"""A real Celery worker against real Redis and PostgreSQL, including one killed in the middle of a report.

The worker is ``celery -A config worker`` in a subprocess (see conftest.start_worker); the rows it reads
are committed by these ``transactional_db`` tests.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.reports import services
from apps.reports.models import Report, ReportKind, ReportStatus
from apps.reports.tasks import reports_sweep_task
from apps.stories.selectors import engine_input
from sprintboard.records import to_jsonable
from sprintboard.sprints import sprint_report
from tests.apps.reports.conftest import build_history, wait_for
from tests.generated import load_generated
from tests.sprintboard.generator import generate

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
FLOW_URL = "/api/v1/projects/DATA/reports/flow/?from=2024-03-01&to=2024-03-31"


def expected_sprint_report(project, sprint) -> dict:
    data = engine_input(project)
    record = next(s for s in data.sprints if s.id == sprint.pk)
    before_moves = dataclasses.replace(record, closed_at=record.closed_at - timedelta(microseconds=1))
    report = sprint_report(
        data.events, sprint=before_moves, stories=data.stories, workflow=data.workflow, tz=data.timezone
    )
    # build_history ships no deliverable: nothing was published in the sprint.
    return {**to_jsonable(report), "closed_at": to_jsonable(record.closed_at), "published_deliverables": []}


def sprint_report_row(sprint) -> Report | None:
    return Report.objects.filter(kind=ReportKind.SPRINT, sprint=sprint).first()


def test_a_worker_computes_what_the_api_queued(start_worker, project, people, states):
    history = build_history(project, people, states)  # committed: closing sprint 1 queued its report
    client = APIClient()
    client.force_authenticate(people["stakeholder"])
    queued = client.get("/api/v1/projects/DATA/reports/flow/?from=2024-03-01&to=2024-03-31")
    assert queued.status_code == 202, queued.content
    assert queued.json()["status"] == "pending" and queued.json()["progress"] == 0

    start_worker()
    done = wait_for(
        lambda: (
            (r := client.get("/api/v1/projects/DATA/reports/flow/?from=2024-03-01&to=2024-03-31")).status_code == 200
            and r
        ),
        timeout=60,
        what="the flow report",
    )
    body = done.json()
    assert body["status"] == "done" and body["progress"] == 100
    assert [c["key"] for c in body["cycle_times"]] == ["DATA-1", "DATA-2", "DATA-6", "DATA-4"]
    assert sum(day["count"] for day in body["throughput"]) == 4

    closed = wait_for(
        lambda: (r := sprint_report_row(history["closed"])) and r.status == ReportStatus.DONE and r,
        timeout=60,
        what="the closed sprint's report",
    )
    assert closed.final and closed.computations == 1
    assert closed.result == expected_sprint_report(project, history["closed"])
    # Asked again: served from the database, not recomputed.
    assert client.get(f"/api/v1/sprints/{history['closed'].pk}/report/").status_code == 200
    closed.refresh_from_db()
    assert closed.computations == 1


# Time limits small enough for a test, in the proportions of production's: the visibility timeout is
# the hard limit plus the margin, as settings make it by default.
REDELIVERY_LIMITS = {
    "CELERY_TASK_SOFT_TIME_LIMIT": "8",
    "CELERY_TASK_TIME_LIMIT": "9",
    "SPRINTBOARD_REPORTS_STUCK_MARGIN_SECONDS": "1",
}


def test_a_worker_killed_mid_report_leaves_it_to_another_that_completes_it_once(start_worker, project, people, states):
    """The broker's visibility timeout, matched to the time limit, brings the killed worker's task back."""
    history = build_history(project, people, states)
    sprint = history["closed"]
    assert sprint_report_row(sprint).status == ReportStatus.PENDING  # queued by the close, no worker yet

    first = start_worker(name="doomed", step_delay=1.5, env=REDELIVERY_LIMITS)
    wait_for(
        lambda: (r := sprint_report_row(sprint)).status == ReportStatus.RUNNING and r.progress >= 10,
        timeout=60,
        what="the first worker to be in the middle of the report",
    )
    first.kill()
    killed = sprint_report_row(sprint)
    assert killed.status == ReportStatus.RUNNING and killed.computations == 0 and killed.result is None

    second = start_worker(name="rescuer", step_delay=0.2, env=REDELIVERY_LIMITS)
    report = wait_for(
        lambda: (r := sprint_report_row(sprint)).status == ReportStatus.DONE and r,
        timeout=60,
        what="the redelivered report to complete",
    )
    assert report.computations == 1, second.output()[-3000:]
    assert report.attempts >= 2  # the killed run and the one that finished
    assert report.final
    assert report.result == expected_sprint_report(project, sprint)
    assert report.result["not_completed"] == ["DATA-4", "DATA-5"]
    # Redeliveries after that (the short visibility timeout) change nothing: the report is final.
    wait_for(lambda: "succeeded" in second.output(), timeout=30, what="the second worker's log")
    report.refresh_from_db()
    assert report.computations == 1


def test_a_report_whose_worker_was_killed_whole_is_queued_again_by_the_sweep(start_worker, project, people, states):
    """Killed with its pool, a worker leaves its report "running" and its message unacknowledged: with
    the broker's visibility timeout left at an hour, the sweep alone brings the report back once the
    hard time limit plus the margin has passed, and a new worker completes it."""
    began = time.monotonic()
    build_history(project, people, states)
    client = APIClient()
    client.force_authenticate(people["stakeholder"])
    assert client.get(FLOW_URL).status_code == 202  # on demand: the reports queue
    flow = Report.objects.get(kind=ReportKind.FLOW)
    assert flow.requested_by == people["stakeholder"]

    # Takes on-demand work only, so the closed sprint's report (nightly queue) waits for the next worker.
    doomed = start_worker(
        name="doomed", step_delay=2, queues=settings.REPORTS_QUEUE, env={"CELERY_TASK_SOFT_TIME_LIMIT": "30"}
    )
    wait_for(
        lambda: (r := Report.objects.get(pk=flow.pk)).status == ReportStatus.RUNNING and r.progress >= 10,
        timeout=30,
        what="the worker to be in the middle of the flow report",
    )
    doomed.kill()

    limits = {"CELERY_TASK_SOFT_TIME_LIMIT": "2", "CELERY_TASK_TIME_LIMIT": "3", "CELERY_VISIBILITY_TIMEOUT": "3600"}
    rescuer = start_worker(name="rescuer", env={**limits, "SPRINTBOARD_REPORTS_STUCK_MARGIN_SECONDS": "1"})
    wait_for(
        lambda: Report.objects.get(kind=ReportKind.SPRINT).status == ReportStatus.DONE,
        timeout=30,
        what="the new worker to take the nightly queue",
    )
    stuck = Report.objects.get(pk=flow.pk)
    assert stuck.status == ReportStatus.RUNNING and stuck.computations == 0  # nobody brings it back by itself
    wait_for(
        lambda: timezone.now() - stuck.started_at > timedelta(seconds=3 + 1),
        timeout=10,
        what="the hard time limit and the margin to pass",
    )

    reports_sweep_task.apply_async()  # what the beat sends each minute: the nightly queue, this worker
    done = wait_for(
        lambda: (r := Report.objects.get(pk=flow.pk)).status == ReportStatus.DONE and r,
        timeout=30,
        what="the swept report to complete",
    )
    assert done.computations == 1 and done.attempts == 2, rescuer.output()[-3000:]
    assert sum(day["count"] for day in done.result["throughput"]) == 4
    assert f"report {flow.pk} was running and lost its task: queued again" in rescuer.output()
    assert time.monotonic() - began < 60


@pytest.mark.tampers_log  # BIG is bulk-loaded: its log is real, its story rows are only what reports read
def test_a_report_past_the_memory_cap_fails_saying_so_and_the_worker_goes_on(start_worker, project, people, states):
    """With a tiny cap, a report of a ~14,000-event log fails with a message naming the cap, and the same
    pool process then computes a small report; nothing is killed, nothing is retried."""
    build_history(project, people, states)
    big = load_generated(generate(seed=7, stories=2000, sprints=8), key="BIG")
    worker = start_worker(name="capped", env={"SPRINTBOARD_REPORT_MAX_MEMORY_MB": "4"})
    small_flow = {"from": "2024-03-01", "to": "2024-03-31"}

    def computed(project_, kind: str, parameters: dict) -> Report:
        queued = services.report_request(project=project_, kind=kind, parameters=parameters)
        return wait_for(
            lambda: (r := Report.objects.get(pk=queued.pk)).status in (ReportStatus.DONE, ReportStatus.FAILED) and r,
            timeout=60,
            what=f"the {kind} report of {project_.key}",
        )

    assert computed(project, ReportKind.FLOW, small_flow).status == ReportStatus.DONE
    too_big = computed(big, ReportKind.FLOW, {"from": "2024-01-01", "to": "2024-06-30"})
    assert too_big.status == ReportStatus.FAILED and too_big.result is None
    assert too_big.error.startswith("This report needs more than 4 MB of memory"), too_big.error
    assert too_big.attempts == 1  # a failure of its own, not retried
    after = computed(project, ReportKind.VELOCITY, {})
    assert after.status == ReportStatus.DONE, after.error
    log = worker.output()
    assert worker.process.poll() is None
    assert "WorkerLostError" not in log and "exited with" not in log, log[-3000:]
    assert f"report {too_big.pk} failed: needs more than 4 MB of memory" in log
