"""Pipeline results in: runs posted by dbt, Great Expectations, Airflow and OpenLineage tick the definition of done."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.deliverables import services
from apps.deliverables.models import Deliverable, DeliverableEvent, PipelineRun
from apps.web.services import token_issue
from tests.sprintboard.pipeline_builders import (
    airflow_callback,
    dbt_failing,
    dbt_passing,
    ge_checkpoint,
    ge_expectation,
    ge_validation,
    openlineage_event,
)

pytestmark = pytest.mark.django_db


def runs_url(deliverable) -> str:
    return f"/api/v1/deliverables/{deliverable.pk}/runs/"


def token_client(user, keyword: str = "Token") -> APIClient:
    _, key = token_issue(user=user, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
    return client


def bind(deliverable, member, source: str, job: str = "", position: int = 0):
    item = deliverable.checklist.order_by("position")[position]
    item.deliverable = deliverable
    return services.checklist_item_update(item=item, actor=member, bound_source=source, bound_job=job)


def events(deliverable) -> list[tuple[str, str]]:
    return list(DeliverableEvent.objects.filter(deliverable=deliverable).order_by("id").values_list("kind", "field"))


# --- Each shape, with a token --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "source", "status", "counts"),
    [
        (dbt_passing(), "dbt", "passed", (2, 0, 0)),
        (dbt_failing(), "dbt", "failed", (2, 1, 0)),
        (
            ge_validation(
                ge_expectation("expect_column_values_to_not_be_null", "id", True, v1=True),
                ge_expectation("expect_column_values_to_be_unique", "id", False, v1=True),
                v1=True,
            ),
            "great_expectations",
            "failed",
            (1, 1, 0),
        ),
        (
            ge_checkpoint(ge_validation(ge_expectation("expect_column_to_exist", "id", True))),
            "great_expectations",
            "passed",
            (1, 0, 0),
        ),
        (airflow_callback("failed", failed_tasks=["load_crm"]), "airflow", "failed", (0, 1, 0)),
        (openlineage_event("COMPLETE"), "openlineage", "passed", (0, 0, 0)),
    ],
    ids=["dbt-pass", "dbt-fail", "ge-validation", "ge-checkpoint", "airflow", "openlineage"],
)
def test_a_member_token_reports_each_shape(world, people, body, source, status, counts):
    response = token_client(people["member"]).post(runs_url(world.deliverable), body, format="json")
    assert response.status_code == 201, response.content
    run = response.json()
    assert (run["source"], run["status"], (run["passed"], run["failed"], run["errored"])) == (source, status, counts)
    assert {"id", "url", "started_at", "finished_at", "failures"} <= set(run)
    assert run["reported_by"] == "member"


def test_the_runs_list_newest_first_with_failures(world, people, client_for):
    client = token_client(people["member"])
    client.post(runs_url(world.deliverable), dbt_passing(), format="json")
    client.post(runs_url(world.deliverable), dbt_failing(), format="json")
    listed = client_for("stakeholder").get(runs_url(world.deliverable)).json()
    assert listed["count"] == 2
    assert [r["status"] for r in listed["results"]] == ["failed", "passed"]
    assert listed["results"][0]["failures"] == ["test.jaffle_shop.unique_orders_order_id.fed79b3a6e"]


def test_a_bearer_token_works_as_openlineage_sends_it(world, people):
    response = token_client(people["member"], "Bearer").post(
        runs_url(world.deliverable), openlineage_event("START"), format="json"
    )
    assert response.status_code == 201, response.content


def test_openlineage_start_then_complete_update_one_run(world, people):
    client = token_client(people["member"])
    start = client.post(runs_url(world.deliverable), openlineage_event("START"), format="json")
    assert start.status_code == 201 and start.json()["status"] == "running"
    done = client.post(
        runs_url(world.deliverable), openlineage_event("COMPLETE", at="2026-03-02T06:20:00Z"), format="json"
    )
    assert done.status_code == 200, done.content
    run = done.json()
    assert (run["id"], run["status"]) == (start.json()["id"], "passed")
    assert run["started_at"].startswith("2026-03-02T06:00") and run["finished_at"].startswith("2026-03-02T06:20")
    # A late START (or OTHER) never undoes the final status.
    late = client.post(runs_url(world.deliverable), openlineage_event("OTHER"), format="json")
    assert late.json()["status"] == "passed" and PipelineRun.objects.count() == 1


def test_a_link_back_and_a_job_name_from_the_query(world, people):
    response = token_client(people["member"]).post(
        runs_url(world.deliverable) + "?url=https://ci.example.com/jobs/42&job=nightly", dbt_passing(), format="json"
    )
    assert (response.json()["url"], response.json()["job"]) == ("https://ci.example.com/jobs/42", "nightly")


# --- Refusals: nothing changes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"hello": "world"}, "unknown_shape", None),
        ([1, 2], "parse_error", None),
        ({**dbt_passing(), "results": "nope"}, "invalid", "results"),
        ({**openlineage_event("COMPLETE"), "eventType": "DONE"}, "invalid", "eventType"),
        ({**airflow_callback("success"), "state": "melted"}, "invalid", "state"),
    ],
)
def test_bad_bodies_are_a_400_naming_the_problem_and_change_nothing(world, people, body, code, field):
    bind(world.deliverable, people["member"], "dbt")
    before = events(world.deliverable)
    response = token_client(people["member"]).post(runs_url(world.deliverable), body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert (error["code"], error["field"]) == (code, field) and error["message"]
    assert PipelineRun.objects.count() == 0 and events(world.deliverable) == before


def test_malformed_json_is_a_400(world, people):
    response = token_client(people["member"]).post(
        runs_url(world.deliverable), data=b'{"metadata": ', content_type="application/json"
    )
    assert response.status_code == 400 and PipelineRun.objects.count() == 0


def test_a_bad_link_in_the_query_is_a_400(world, people):
    response = token_client(people["member"]).post(
        runs_url(world.deliverable) + "?url=javascript:alert(1)", dbt_passing(), format="json"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "url"
    assert PipelineRun.objects.count() == 0


def test_a_stakeholder_may_read_runs_but_not_report_them(world, people):
    client = token_client(people["stakeholder"])
    assert client.get(runs_url(world.deliverable)).status_code == 200
    assert client.post(runs_url(world.deliverable), dbt_passing(), format="json").status_code == 403
    assert (
        token_client(people["outsider"]).post(runs_url(world.deliverable), dbt_passing(), format="json").status_code
        == 404
    )


def test_a_retired_deliverable_takes_no_runs(world, people):
    services.deliverable_retire(deliverable=world.deliverable, actor=people["member"])
    response = token_client(people["member"]).post(runs_url(world.deliverable), dbt_passing(), format="json")
    assert response.status_code == 409 and PipelineRun.objects.count() == 0


# --- The checklist, ticked by the pipelines ------------------------------------------------------------


def test_a_passing_run_ticks_the_bound_item_with_the_run_as_evidence_and_a_failing_one_reopens_it(world, people):
    item = bind(world.deliverable, people["member"], "dbt")
    other = world.deliverable.checklist.order_by("position")[1]
    client = token_client(people["member"])
    passed = client.post(runs_url(world.deliverable) + "?url=https://ci.example.com/1", dbt_passing(), format="json")
    item.refresh_from_db()
    assert item.done and item.evidence_run_id == passed.json()["id"]
    assert item.evidence_url == "https://ci.example.com/1" and item.ticked_by == people["member"]
    other.refresh_from_db()
    assert not other.done  # not bound
    client.post(runs_url(world.deliverable), dbt_failing(), format="json")
    item.refresh_from_db()
    assert not item.done and item.evidence_run_id is None
    run_event = DeliverableEvent.objects.filter(deliverable=world.deliverable, kind="run").order_by("id").last()
    assert run_event.to_value["status"] == "failed"
    assert run_event.to_value["failures"] == ["test.jaffle_shop.unique_orders_order_id.fed79b3a6e"]
    kinds = [kind for kind, _ in events(world.deliverable)]
    assert kinds[-4:] == ["run", "item_ticked", "run", "item_unticked"]


def test_an_item_bound_to_a_job_counts_only_that_jobs_runs(world, people):
    item = bind(world.deliverable, people["member"], "airflow", job="crm_daily")
    client = token_client(people["member"])
    client.post(runs_url(world.deliverable), airflow_callback("success", dag_id="other_dag"), format="json")
    item.refresh_from_db()
    assert not item.done
    client.post(runs_url(world.deliverable), airflow_callback("success", dag_id="crm_daily"), format="json")
    item.refresh_from_db()
    assert item.done


def test_an_openlineage_job_ticks_its_item_only_on_completion(world, people):
    item = bind(world.deliverable, people["member"], "openlineage", job="crm_daily.load_crm")
    client = token_client(people["member"])
    client.post(runs_url(world.deliverable), openlineage_event("START"), format="json")
    item.refresh_from_db()
    assert not item.done
    client.post(runs_url(world.deliverable), openlineage_event("COMPLETE"), format="json")
    item.refresh_from_db()
    assert item.done


def test_a_bound_item_is_set_and_shown_through_the_checklist_api(world, client_for):
    url = f"/api/v1/deliverables/{world.deliverable.pk}/checklist/{world.item.pk}/"
    response = client_for("member").patch(
        url, {"bound_source": "great_expectations", "bound_job": "orders_suite"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["bound_source"], response.json()["bound_job"]) == ("great_expectations", "orders_suite")
    bad = client_for("member").patch(url, {"bound_source": "jenkins"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "bound_source"
    added = client_for("member").post(
        f"/api/v1/deliverables/{world.deliverable.pk}/checklist/",
        {"text": "Data validated", "bound_source": "dbt"},
        format="json",
    )
    assert added.status_code == 201 and added.json()["bound_source"] == "dbt"


# --- Published: flagged, and counted ---------------------------------------------------------------------


def publish(deliverable, member):
    for item in deliverable.checklist.all():
        item.deliverable = deliverable
        services.checklist_item_update(item=item, actor=member, done=True)
    return services.deliverable_publish(deliverable=deliverable, actor=member)


def test_a_published_deliverable_whose_bound_run_fails_is_flagged_until_a_run_passes(world, people, client_for):
    bind(world.deliverable, people["member"], "dbt")
    publish(world.deliverable, people["member"])
    client = token_client(people["member"])
    client.post(runs_url(world.deliverable), dbt_failing(), format="json")
    detail = client_for("stakeholder").get(f"/api/v1/deliverables/{world.deliverable.pk}/").json()
    assert detail["flagged"] is True and detail["last_run_status"] == "failed"
    assert world.deliverable.checklist.filter(done=False).count() == 0  # published: the checklist is frozen
    client.post(
        runs_url(world.deliverable),
        dbt_failing() | {"metadata": dbt_failing()["metadata"] | {"invocation_id": "x2"}},
        format="json",
    )
    assert DeliverableEvent.objects.filter(deliverable=world.deliverable, kind="flagged").count() == 1  # once
    client.post(runs_url(world.deliverable), dbt_passing(), format="json")
    detail = client_for("stakeholder").get(f"/api/v1/deliverables/{world.deliverable.pk}/").json()
    assert detail["flagged"] is False and detail["last_run_status"] == "passed"
    assert [k for k, _ in events(world.deliverable)][-2:] == ["flagged", "unflagged"]


def test_an_unbound_failing_run_does_not_flag(world, people):
    publish(world.deliverable, people["member"])
    token_client(people["member"]).post(runs_url(world.deliverable), dbt_failing(), format="json")
    world.deliverable.refresh_from_db()
    assert world.deliverable.flagged_at is None and world.deliverable.last_run_status == "failed"


# --- Freshness -------------------------------------------------------------------------------------------


def test_freshness_against_the_expected_interval_set_through_the_api(world, people, client_for):
    url = f"/api/v1/deliverables/{world.deliverable.pk}/"
    assert client_for("member").get(url).json()["freshness"]["state"] == "never"
    response = client_for("member").patch(url, {"version": 1, "expected_interval_hours": 24}, format="json")
    assert response.status_code == 200 and response.json()["expected_interval_hours"] == 24
    assert response.json()["freshness"] | {"last_success_at": None} == {
        "state": "never", "hours_since_success": None, "expected_interval_hours": 24, "last_success_at": None, "stale": True
    }  # fmt: skip
    body = airflow_callback("success")
    body["end_date"] = (timezone.now() - timedelta(hours=2)).isoformat()
    token_client(people["member"]).post(runs_url(world.deliverable), body, format="json")
    fresh = client_for("member").get(url).json()["freshness"]
    assert fresh["state"] == "fresh" and 1.9 < fresh["hours_since_success"] < 2.1
    Deliverable.objects.filter(pk=world.deliverable.pk).update(last_success_at=timezone.now() - timedelta(hours=30))
    assert client_for("member").get(url).json()["freshness"]["state"] == "stale"
    bad = client_for("member").patch(url, {"version": 2, "expected_interval_hours": 0}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "expected_interval_hours"


def test_a_flag_is_a_defect_in_the_waste_report_and_makes_it_recompute(world, people):
    from apps.deliverables import selectors
    from apps.reports import services as report_services
    from apps.reports.models import Report

    bind(world.deliverable, people["member"], "dbt")
    publish(world.deliverable, people["member"])
    before = selectors.dataops_fingerprint(world.project)
    token_client(people["member"]).post(runs_url(world.deliverable), dbt_failing(), format="json")
    assert selectors.dataops_fingerprint(world.project) != before  # a cached waste report is recomputed
    (record,) = [d for d in selectors.engine_deliverables(world.project) if d.id == world.deliverable.pk]
    assert len(record.failed_runs) == 1
    report = report_services.report_request(project=world.project, kind="waste", parameters={"from": None, "to": None})
    report_services.report_compute(report_id=report.pk)
    rework = Report.objects.get(pk=report.pk).result["rework"]
    assert (rework["failed_deliverables"], rework["failed_deliverable_names"]) == (1, ["CRM dataset"])


def test_the_admin_lists_runs_read_only(world, people, make_user):
    from django.test import Client
    from django.urls import reverse

    token_client(people["member"]).post(runs_url(world.deliverable), dbt_failing(), format="json")
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:deliverables_pipelinerun_changelist")).status_code == 200
    run = PipelineRun.objects.get()
    assert client.get(reverse("admin:deliverables_pipelinerun_change", args=[run.pk])).status_code == 200
    assert client.get(reverse("admin:deliverables_deliverable_change", args=[world.deliverable.pk])).status_code == 200


def test_a_link_to_an_internal_host_in_the_body_is_kept_but_is_no_evidence_link(world, people):
    item = bind(world.deliverable, people["member"], "airflow")
    body = airflow_callback("success")
    body["url"] = "http://airflow-web:8080/dags/crm_daily/grid"
    response = token_client(people["member"]).post(runs_url(world.deliverable), body, format="json")
    assert response.status_code == 201 and response.json()["url"] == body["url"]
    item.refresh_from_db()
    assert item.done and item.evidence_run_id == response.json()["id"] and item.evidence_url == ""
