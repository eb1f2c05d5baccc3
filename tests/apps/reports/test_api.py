"""The reports API: 202 while computing, 200 with the report, failures, parameters and downloads."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.conf import settings

from apps.projects import services as project_services
from apps.reports.models import Report
from apps.stories.models import StoryEvent
from tests.apps.reports.conftest import at, get_done

pytestmark = pytest.mark.django_db
FLOW_URL = "/api/v1/projects/DATA/reports/flow/?from=2024-03-01&to=2024-03-31"


def test_a_report_being_computed_answers_202_with_its_status(history, client_for):
    response = client_for("stakeholder").get(FLOW_URL)
    assert response.status_code == 202
    assert response.json()["status"] == "pending" and response.json()["progress"] == 0
    assert "cycle_times" not in response.json()


def test_the_flow_report_has_the_documented_fields(history, client_for):
    response = get_done(client_for("stakeholder"), FLOW_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done" and body["kind"] == "flow"
    assert body["parameters"] == {"from": "2024-03-01", "to": "2024-03-31"}
    assert body["inputs"]["event_seq"] == history["closed"].project.__class__.objects.get(key="DATA").last_event_seq
    first = body["cycle_times"][0]
    assert set(first) == {"key", "start", "finish", "days", "hours"}
    assert first["key"] == "DATA-1" and first["days"] == 3  # started 5 March, finished 7 March
    assert set(body["percentiles"]) == {"50", "70", "85", "95", "n"} and body["percentiles"]["n"] == 4
    assert len(body["throughput"]) == len(body["wip"]) == len(body["cfd"]) == 31
    assert set(body["throughput"][0]) == {"date", "count"} and body["throughput"][0]["date"] == "2024-03-01"
    done_state = str(next(s for s, name in body["state_names"].items() if name == "Done"))
    assert body["cfd"][-1]["counts"][done_state] == 4
    assert body["flow_efficiency"]["n"] == 4


def test_the_sprint_report_has_the_documented_fields(history, client_for):
    body = get_done(client_for("stakeholder"), f"/api/v1/sprints/{history['closed'].pk}/report/").json()
    for field in ("committed", "completed", "not_completed", "added", "removed", "cancelled"):
        assert isinstance(body[field], list)
    assert body["not_completed"] == ["DATA-4", "DATA-5"] and body["removed"] == []
    assert body["reestimated"] == [{"key": "DATA-2", "old_points": 5, "new_points": 3}]
    assert (body["committed_points"], body["completed_points"]) == (19, 8)
    assert set(body["burndown"][0]) >= {"date", "remaining_points", "scope_points", "ideal_points"}
    assert body["burndown"][0]["ideal_points"] == 19


def test_an_unchanged_report_is_not_recomputed_and_a_change_queues_it(history, client_for, people):
    client = client_for("stakeholder")
    assert get_done(client, FLOW_URL).status_code == 200
    assert client.get(FLOW_URL).status_code == 200
    assert Report.objects.get(kind="flow").computations == 1
    from apps.stories import services as story_services

    story_services.story_update(story=history["stories"][4], actor=people["member"], points=8)
    assert client.get(FLOW_URL).status_code == 202


@pytest.mark.tampers_log  # writes an event naming a state that never existed
def test_a_failed_report_answers_200_with_its_error_and_members_may_retry(history, client_for, project):
    last = StoryEvent.objects.filter(project=project).order_by("seq").last()
    project.__class__.objects.filter(pk=project.pk).update(last_event_seq=last.seq + 1)
    StoryEvent.objects.create(
        project=project, seq=last.seq + 1, story_id=last.story_id, kind="state", to_value=424242, at=at(14)
    )
    response = get_done(client_for("stakeholder"), FLOW_URL)
    assert response.status_code == 200
    assert response.json()["status"] == "failed" and "424242" in response.json()["error"]
    assert client_for("stakeholder").post(FLOW_URL).status_code == 403
    retried = client_for("member").post(FLOW_URL)
    assert retried.status_code == 202 and retried.json()["status"] == "pending"
    assert client_for("member").get(FLOW_URL + "&format=csv").status_code == 202


@pytest.mark.parametrize(
    "query, field",
    [
        ("from=2024-03-31&to=2024-03-01", "from"),
        ("from=2024-02-30", "from"),
        ("to=2999-01-01", "to"),
        ("from=yesterday", "from"),
        ("window=3", "window"),
        ("from=2010-01-01&to=2024-01-01", "from"),
    ],
)
def test_bad_window_parameters_are_400s(history, client_for, query, field):
    response = client_for("stakeholder").get(f"/api/v1/projects/DATA/reports/flow/?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    "query, field",
    [
        ("items=3&date=2999-01-01", "items"),
        ("items=0", "items"),
        ("items=-2", "items"),
        ("items=1.5", "items"),
        ("date=2001-01-01", "date"),
        ("seed=abc", "seed"),
        ("items=99999999999999999999", "items"),
    ],
)
def test_bad_forecast_parameters_are_400s(history, client_for, query, field):
    response = client_for("stakeholder").get(f"/api/v1/projects/DATA/reports/forecast/?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_a_forecast_states_its_seed_and_confidence_levels(history, client_for):
    body = get_done(client_for("stakeholder"), "/api/v1/projects/DATA/reports/forecast/?items=5&seed=3").json()
    assert body["mode"] == "when" and body["seed"] == 3 and set(body["likely"]) == {"50", "70", "85", "95"}


def test_velocity_and_waste_answer(history, client_for):
    client = client_for("stakeholder")
    assert get_done(client, "/api/v1/projects/DATA/reports/velocity/").json()["sprints"][0]["completed_points"] == 8
    waste = get_done(client, "/api/v1/projects/DATA/reports/waste/?from=2024-03-01&to=2024-03-31").json()
    assert waste["partially_done"][0]["carry_over"] == 2


def test_a_planned_sprint_has_no_report_yet(world, client_for):
    response = client_for("stakeholder").get(f"/api/v1/sprints/{world.sprint.pk}/report/")
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "not_started"


def test_csv_downloads_one_table(history, client_for):
    client = client_for("stakeholder")
    body = get_done(client, FLOW_URL).json()
    response = client.get(FLOW_URL + "&format=csv&table=throughput")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="DATA-flow-' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["date", "count"]
    assert rows[1:] == [[d["date"], str(d["count"])] for d in body["throughput"]]
    cfd = list(csv.reader(io.StringIO(client.get(FLOW_URL + "&format=csv&table=cfd").content.decode())))
    assert cfd[0][0] == "date" and "Done" in cfd[0]
    default = client.get(FLOW_URL + "&format=csv")
    assert default.content.decode().splitlines()[0] == "key,start,finish,days,hours"


def test_json_downloads_the_report(history, client_for):
    client = client_for("stakeholder")
    body = get_done(client, FLOW_URL).json()
    response = client.get(FLOW_URL + "&format=json")
    assert response["Content-Disposition"].startswith("attachment")
    assert json.loads(response.content) == body


def test_bad_downloads_are_400s(history, client_for):
    client = client_for("stakeholder")
    get_done(client, FLOW_URL)
    assert client.get(FLOW_URL + "&format=xml").json()["errors"][0]["field"] == "format"
    response = client.get(FLOW_URL + "&format=csv&table=nope")
    assert response.status_code == 400 and "throughput" in response.json()["errors"][0]["message"]


def test_csv_cells_are_not_formulas(history, client_for, states):
    project_services.state_update(state=states["Waiting"], name="=HYPERLINK(1)")
    client = client_for("stakeholder")
    get_done(client, FLOW_URL)
    header = client.get(FLOW_URL + "&format=csv&table=cfd").content.decode().splitlines()[0]
    assert "'=HYPERLINK(1)" in header


@pytest.mark.django_db(transaction=True)  # commits as a request does, so the task runs on commit, in process
@pytest.mark.skipif(not settings.CELERY_TASK_ALWAYS_EAGER, reason="with a broker, a worker computes reports")
def test_without_a_broker_the_report_is_computed_in_the_request(history, client_for):
    response = client_for("stakeholder").get(FLOW_URL)
    assert response.status_code == 200 and response.json()["status"] == "done"
    assert Report.objects.get(kind="flow").computations == 1
