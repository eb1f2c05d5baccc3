"""A real Celery worker against real Redis and PostgreSQL, including one killed in the middle of a report.

The worker is ``celery -A config worker`` in a subprocess (see conftest.start_worker); the rows it reads
are committed by these ``transactional_db`` tests.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from apps.reports.models import Report, ReportKind, ReportStatus
from apps.stories.selectors import engine_input
from sprintboard.records import to_jsonable
from sprintboard.sprints import sprint_report
from tests.apps.reports.conftest import build_history, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


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


def test_a_worker_killed_mid_report_leaves_it_to_another_that_completes_it_once(start_worker, project, people, states):
    history = build_history(project, people, states)
    sprint = history["closed"]
    assert sprint_report_row(sprint).status == ReportStatus.PENDING  # queued by the close, no worker yet

    first = start_worker(name="doomed", step_delay=1.5, visibility_timeout=3)
    wait_for(
        lambda: (r := sprint_report_row(sprint)).status == ReportStatus.RUNNING and r.progress >= 10,
        timeout=60,
        what="the first worker to be in the middle of the report",
    )
    first.kill()
    killed = sprint_report_row(sprint)
    assert killed.status == ReportStatus.RUNNING and killed.computations == 0 and killed.result is None

    second = start_worker(name="rescuer", step_delay=0.2, visibility_timeout=3)
    report = wait_for(
        lambda: (r := sprint_report_row(sprint)).status == ReportStatus.DONE and r,
        timeout=90,
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
