"""Queueing, computing and storing reports: served from the database while the inputs are unchanged,
recomputed when one changes, a closed sprint's report final, the store a compare-and-swap."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.projects import services as project_services
from apps.reports import services
from apps.reports.models import Report, ReportKind, ReportStatus
from apps.reports.selectors import current_inputs
from apps.reports.services import Stored
from apps.stories import services as story_services
from apps.stories.models import StoryEvent
from apps.stories.selectors import engine_input
from sprintboard.records import to_jsonable
from sprintboard.sprints import sprint_report
from tests.apps.reports.conftest import at

pytestmark = pytest.mark.django_db
FLOW = {"from": None, "to": None}


def computed(project, kind, parameters=None, sprint=None) -> Report:
    """Request a report, then run the task body in this process, as a worker would."""
    report = services.report_request(project=project, kind=kind, parameters=parameters or {}, sprint=sprint)
    assert services.report_compute(report_id=report.pk) in {"stored", "final", "unchanged"}
    report.refresh_from_db()
    return report


def test_a_request_queues_a_report_once(project, history):
    first = services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    second = services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    assert first.pk == second.pk
    assert second.status == ReportStatus.PENDING and second.queued_at is not None
    assert Report.objects.filter(project=project).count() == 1  # the sprint close's report is queued on commit only


def test_an_unchanged_report_is_served_from_the_database(project, history):
    report = computed(project, ReportKind.FLOW, FLOW)
    assert report.status == ReportStatus.DONE and report.computations == 1
    again = services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    assert again.status == ReportStatus.DONE and again.computations == 1
    assert services.report_compute(report_id=report.pk) == "unchanged"  # a second delivery of the task
    report.refresh_from_db()
    assert report.computations == 1


def test_a_new_event_makes_the_next_request_recompute(project, history, people):
    report = computed(project, ReportKind.FLOW, FLOW)
    story_services.story_update(story=history["stories"][4], actor=people["member"], points=13)
    queued = services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    assert queued.status == ReportStatus.PENDING
    assert queued.result == report.result  # the previous result stays until the new one is stored
    assert services.report_compute(report_id=report.pk) == "stored"
    queued.refresh_from_db()
    assert queued.computations == 2 and queued.event_seq == project.__class__.objects.get(pk=project.pk).last_event_seq


def test_a_configuration_change_makes_the_next_request_recompute(project, history, states):
    computed(project, ReportKind.FLOW, FLOW)
    project_services.state_update(state=states["Waiting"], category="active")
    assert (
        services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW).status == ReportStatus.PENDING
    )


def test_the_sprint_report_is_the_engine_s_report_as_of_the_close(project, history):
    sprint = history["closed"]
    report = computed(project, ReportKind.SPRINT, sprint=sprint)
    data = engine_input(project)
    record = next(s for s in data.sprints if s.id == sprint.pk)
    # The carry-over moves sprint_close writes at the close instant are the close's consequence: the
    # engine is asked for the report as of the instant before them; the answer shows the real close.
    before_moves = dataclasses.replace(record, closed_at=record.closed_at - timedelta(microseconds=1))
    expected = to_jsonable(
        sprint_report(data.events, sprint=before_moves, stories=data.stories, workflow=data.workflow, tz=data.timezone)
    )
    assert report.result == {**expected, "closed_at": to_jsonable(record.closed_at), "published_deliverables": []}
    assert report.result["identity"]["holds"]
    assert report.final and report.as_of_day == sprint.closed_at.date()
    result = report.result
    assert result["committed"] == ["DATA-1", "DATA-2", "DATA-3", "DATA-4", "DATA-5"]
    assert result["added"] == ["DATA-6"]
    assert result["completed"] == ["DATA-1", "DATA-2", "DATA-6"]
    assert result["cancelled"] == ["DATA-3"]
    assert result["not_completed"] == ["DATA-4", "DATA-5"]
    assert result["reestimated"] == [{"key": "DATA-2", "old_points": 5, "new_points": 3}]
    assert (result["committed_points"], result["completed_points"]) == (19, 8)
    assert [d["date"] for d in result["burndown"]][:2] == ["2024-03-04", "2024-03-05"]


def test_a_closed_sprint_s_report_is_never_rewritten(project, history, people, states):
    sprint = history["closed"]
    report = computed(project, ReportKind.SPRINT, sprint=sprint)
    story_services.story_update(story=history["stories"][4], actor=people["member"], state=states["Done"])
    project_services.state_update(state=states["Done"], name="Shipped")
    again = services.report_request(project=project, kind=ReportKind.SPRINT, parameters={}, sprint=sprint, force=True)
    assert again.status == ReportStatus.DONE and again.computations == 1
    assert services.report_compute(report_id=report.pk) == "final"


def test_the_active_sprint_s_report_is_recomputed_when_its_inputs_change(project, history, people, states):
    sprint = history["active"]
    report = computed(project, ReportKind.SPRINT, sprint=sprint)
    assert not report.final
    assert "DATA-4" in report.result["completed"]
    story_services.story_update(story=history["stories"][4], actor=people["member"], state=states["Done"])
    assert (
        services.report_request(project=project, kind=ReportKind.SPRINT, parameters={}, sprint=sprint).status
        == ReportStatus.PENDING
    )
    services.report_compute(report_id=report.pk)
    report.refresh_from_db()
    assert "DATA-5" in report.result["completed"] and report.computations == 2


def test_closing_a_sprint_queues_its_report_as_of_the_close(
    project, history, people, django_capture_on_commit_callbacks
):
    sprint = history["active"]
    with django_capture_on_commit_callbacks(execute=True):
        story_services.sprint_close(sprint=sprint, actor=people["owner"], unfinished="backlog", at=at(20))
    report = Report.objects.get(project=project, kind=ReportKind.SPRINT, sprint=sprint)
    if settings.CELERY_TASK_ALWAYS_EAGER:  # no broker: computed in process, final at once
        assert report.status == ReportStatus.DONE and report.final
    else:  # queued for a worker
        assert report.status == ReportStatus.PENDING


@pytest.mark.tampers_log  # writes an event naming a state that never existed
def test_a_failing_report_shows_its_error_and_is_retried_on_demand_only(project, history, people):
    bad = StoryEvent.objects.filter(project=project).order_by("seq").last()
    project.__class__.objects.filter(pk=project.pk).update(last_event_seq=bad.seq + 1)
    StoryEvent.objects.create(
        project=project, seq=bad.seq + 1, story_id=bad.story_id, kind="state", to_value=999_999, at=at(14)
    )
    report = services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    assert services.report_compute(report_id=report.pk) == "failed"
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED and "999999" in report.error
    # The same inputs: a plain request shows the failure, it does not loop.
    assert services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW).status == ReportStatus.FAILED
    # Retried on demand.
    assert (
        services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW, force=True).status
        == ReportStatus.PENDING
    )


def test_a_task_out_of_retries_marks_its_report_failed_with_the_reason(project, history):
    from django.db import OperationalError

    from apps.reports.tasks import report_compute_task

    report = services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    assert report.is_busy
    report_compute_task.on_failure(OperationalError("server closed the connection"), "t-1", (report.pk,), {}, None)
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED
    assert report.error == "The computation failed after retries (OperationalError): server closed the connection"


def test_a_stale_result_never_replaces_a_fresh_one(project, history):
    report = services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    seen = Stored.of(report)  # what both workers read when they started: nothing stored
    now, today = timezone.now(), timezone.now().date()
    older = Stored(10, "c", today, now - timedelta(seconds=5))
    newer = Stored(11, "c", today, now)
    # The fresher worker stores first; the slower one, with older inputs, must not overwrite it.
    assert services._store(report.pk, seen, newer, {"from": "newer"}, False) == "stored"
    assert services._store(report.pk, seen, older, {"from": "older"}, False) == "stale"
    report.refresh_from_db()
    assert report.result == {"from": "newer"} and report.event_seq == 11 and report.computations == 1


def test_a_fresh_result_replaces_an_older_one_stored_meanwhile(project, history):
    report = services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    seen = Stored.of(report)
    now, today = timezone.now(), timezone.now().date()
    assert (
        services._store(report.pk, seen, Stored(10, "c", today, now - timedelta(seconds=5)), {"from": "older"}, False)
        == "stored"
    )
    assert services._store(report.pk, seen, Stored(11, "c", today, now), {"from": "newer"}, False) == "stored"
    report.refresh_from_db()
    assert report.result == {"from": "newer"} and report.computations == 2


def test_a_stuck_report_is_queued_again(project, history):
    report = services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    long_ago = timezone.now() - timedelta(days=2)
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.RUNNING, queued_at=long_ago)
    again = services.report_request(project=project, kind=ReportKind.FLOW, parameters=FLOW)
    assert again.status == ReportStatus.PENDING and again.queued_at > long_ago


def test_current_inputs_change_with_the_time_zone(project, history):
    before = current_inputs(project, ReportKind.FLOW)
    project = project_services.project_update(project=project, timezone="Asia/Tokyo")
    assert current_inputs(project, ReportKind.FLOW).config_hash != before.config_hash


def test_every_kind_computes_from_the_same_log(project, history):
    for kind in (ReportKind.FLOW, ReportKind.VELOCITY, ReportKind.WASTE, ReportKind.FORECAST):
        report = computed(project, kind, services.default_parameters(kind))
        assert report.status == ReportStatus.DONE, report.error
    velocity = Report.objects.get(project=project, kind=ReportKind.VELOCITY).result
    assert [s["completed_points"] for s in velocity["sprints"]] == [8]
    forecast = computed(project, ReportKind.FORECAST, {"items": 3, "date": None, "seed": 7}).result
    assert forecast["mode"] == "when" and forecast["seed"] == 7


def test_the_nightly_task_queues_the_reports_of_active_projects(project, history):
    from apps.reports.tasks import reports_nightly_task

    assert reports_nightly_task("waste") == 1  # DATA has an active sprint; OTHER has no sprint and no events
    assert Report.objects.filter(kind=ReportKind.WASTE, project=project).count() == 1
    assert not Report.objects.filter(kind=ReportKind.WASTE, project=project.other).exists()


def test_active_projects_are_those_with_a_running_sprint_or_a_change_in_the_last_30_days(project, history):
    from apps.reports.selectors import active_projects

    assert list(active_projects(now=timezone.now() + timedelta(days=400))) == [project]  # its sprint is active
    other = project.other
    story_services.story_create(project=other, actor=None, title="Late data")
    other.refresh_from_db()
    assert list(active_projects(now=other.last_event_at + timedelta(days=29))) == [project, other]
    assert list(active_projects(now=other.last_event_at + timedelta(days=31))) == [project]
    with CaptureQueriesContext(connection) as queries:
        list(active_projects())
    assert len(queries) == 1


def test_the_beat_schedule_runs_each_nightly_report_with_an_expiry():
    entries = {
        v["args"][0]: v for v in settings.CELERY_BEAT_SCHEDULE.values() if v["task"].endswith("reports_nightly_task")
    }
    assert set(entries) == {"flow", "waste", "forecast"}
    assert all(0 < entry["options"]["expires"] <= 24 * 3600 for entry in entries.values())
