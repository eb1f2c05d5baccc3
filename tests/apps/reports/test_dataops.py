"""Deliverables in the reports: "published this sprint", the DataOps report, retired-unpublished waste,
and a publication (which writes no story event) making the next request recompute every report that reads them."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from apps.deliverables import services as deliverable_services
from apps.reports import services
from apps.reports.models import Report, ReportKind, ReportStatus
from apps.reports.selectors import current_inputs
from apps.stories import services as story_services
from tests.apps.reports.conftest import T0, at, get_done

pytestmark = pytest.mark.django_db
DATAOPS_URL = "/api/v1/projects/DATA/reports/dataops/"
WASTE = {"from": "2024-03-01", "to": "2024-03-31"}


def tick_all(deliverable, user, when):
    for item in deliverable.checklist.all():
        deliverable_services.checklist_item_update(item=item, actor=user, done=True, at=when)


@pytest.fixture
def shipped(project, people, states):
    """Sprint 1 (4-15 March 2024, closed) ships the churn dashboard; the orders dataset's story is done in
    sprint 2 (active) but the dataset is not published yet; an old extract was retired unpublished."""
    owner, member = people["owner"], people["member"]
    ready, doing, done = states["Ready"], states["In progress"], states["Done"]

    def deliverable(name, kind):
        return deliverable_services.deliverable_create(
            project=project, actor=member, name=name, kind=kind, status="in_development", at=at(-3)
        )

    dashboard, dataset, extract = (
        deliverable("Churn dashboard", "dashboard"),
        deliverable("Orders dataset", "dataset"),
        deliverable("Old extract", "report"),
    )
    s1 = story_services.sprint_create(project=project, actor=owner, start=T0.date(), end=at(11).date(), at=at(-3))
    a, b, c = (
        story_services.story_create(
            project=project, actor=owner, title=title, points=3, state=ready, sprint=s1, deliverable=d, at=at(-2)
        )
        for title, d in (("Feature table", dashboard), ("Dashboard layout", dashboard), ("Orders feed", dataset))
    )
    story_services.sprint_start(sprint=s1, actor=owner, at=at(0))
    story_services.story_update(story=a, actor=member, state=doing, at=at(1))  # 5 March
    story_services.story_update(story=b, actor=member, state=doing, at=at(2))
    story_services.story_update(story=a, actor=member, state=done, at=at(3))
    story_services.story_update(story=b, actor=member, state=done, at=at(5))  # 9 March
    tick_all(dashboard, member, at(6))
    deliverable_services.deliverable_publish(deliverable=dashboard, actor=member, at=at(9))  # 13 March
    deliverable_services.deliverable_retire(deliverable=extract, actor=member, at=at(10))
    story_services.sprint_close(sprint=s1, actor=owner, unfinished="next_sprint", at=at(11, 8))
    s2 = project.sprints.exclude(pk=s1.pk).get()
    s2 = story_services.sprint_start(sprint=s2, actor=owner, at=at(11, 9))
    story_services.story_update(story=c, actor=member, state=doing, at=at(12))  # 16 March
    story_services.story_update(story=c, actor=member, state=done, at=at(13))  # 17 March
    tick_all(dataset, member, at(13, 2))
    s1.refresh_from_db()
    return {"closed": s1, "active": s2, "dashboard": dashboard, "dataset": dataset, "extract": extract}


def publish_dataset(shipped, people):
    deliverable_services.deliverable_publish(
        deliverable=shipped["dataset"], actor=people["member"], at=at(14)
    )  # 18 March


def computed(project, kind, parameters=None, sprint=None) -> Report:
    report = services.report_request(project=project, kind=kind, parameters=parameters or {}, sprint=sprint)
    if report.status != ReportStatus.DONE:
        assert services.report_compute(report_id=report.pk) == "stored"
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE, report.error
    return report


# --- Published this sprint ---------------------------------------------------------------------------


def test_the_sprint_report_lists_the_deliverables_published_in_the_sprint(project, shipped):
    closed = computed(project, ReportKind.SPRINT, sprint=shipped["closed"]).result
    assert closed["published_deliverables"] == [
        {
            "id": shipped["dashboard"].pk,
            "name": "Churn dashboard",
            "kind": "dashboard",
            "published_at": "2024-03-13T09:00:00Z",
        }
    ]
    # The dashboard went out in sprint 1, so not in sprint 2; nothing else is published yet.
    assert computed(project, ReportKind.SPRINT, sprint=shipped["active"]).result["published_deliverables"] == []


def test_published_this_sprint_is_in_the_api_its_csv_and_the_page(project, shipped, client_for, people):
    url = f"/api/v1/sprints/{shipped['closed'].pk}/report/"
    client = client_for("stakeholder")
    body = get_done(client, url).json()
    assert [d["name"] for d in body["published_deliverables"]] == ["Churn dashboard"]
    rows = list(csv.reader(io.StringIO(client.get(url + "?format=csv&table=published_deliverables").content.decode())))
    assert rows == [
        ["deliverable", "kind", "published_at"],
        ["Churn dashboard", "Dashboard", "2024-03-13 09:00:00"],
    ]  # UTC, as a spreadsheet reads it
    browser = Client()
    browser.force_login(people["stakeholder"])
    page = browser.get(f"/p/DATA/reports/sprints/{shipped['closed'].pk}/").content.decode()
    assert "Published this sprint" in page and 'id="table-published"' in page and "Churn dashboard" in page
    active = browser.get(f"/p/DATA/reports/sprints/{shipped['active'].pk}/")
    if active.status_code == 200 and 'id="report-data"' not in active.content.decode():
        services.report_compute(report_id=Report.objects.get(kind="sprint", sprint=shipped["active"]).pk)
    assert (
        "No deliverable was published this sprint."
        in browser.get(f"/p/DATA/reports/sprints/{shipped['active'].pk}/").content.decode()
    )


# --- The DataOps report ---------------------------------------------------------------------------------


def test_the_dataops_report_has_the_metrics_per_deliverable_by_kind_and_per_sprint(project, shipped, people):
    publish_dataset(shipped, people)
    result = computed(project, ReportKind.DATAOPS).result
    timings = {d["name"]: d for d in result["deliverables"]}
    assert list(timings) == ["Churn dashboard", "Orders dataset"]  # publication order; the retired extract is not in it
    # First Start 5 March -> published 13 March: 9 days; last Finish 9 March -> 13 March: 5 days.
    assert (timings["Churn dashboard"]["time_to_insight_days"], timings["Churn dashboard"]["validation_lag_days"]) == (
        9,
        5,
    )
    assert timings["Churn dashboard"]["n"] == 2
    # Start 16 March, Finish 17 March -> published 18 March: 3 and 2 days.
    assert (timings["Orders dataset"]["time_to_insight_days"], timings["Orders dataset"]["validation_lag_days"]) == (
        3,
        2,
    )
    assert result["time_to_insight"] == {"50": 3, "70": 9, "85": 9, "95": 9, "n": 2}
    assert [(k["kind"], k["n"], k["validation_lag"]["50"]) for k in result["by_kind"]] == [
        ("dashboard", 1, 5),
        ("dataset", 1, 2),
    ]
    assert [(s["sprint_id"], s["counts"], s["n"]) for s in result["throughput"]] == [
        (shipped["closed"].pk, {"dashboard": 1}, 1),
        (shipped["active"].pk, {"dataset": 1}, 1),
    ]


def test_the_dataops_api_answers_with_csv_tables_and_json(project, shipped, client_for):
    client = client_for("stakeholder")
    assert client.get(DATAOPS_URL).status_code == 202
    body = get_done(client, DATAOPS_URL).json()
    assert body["status"] == "done" and body["kind"] == "dataops" and body["kind_names"]["ml_model"] == "ML model"
    assert [d["name"] for d in body["deliverables"]] == ["Churn dashboard"]

    def table(name):
        return list(csv.reader(io.StringIO(client.get(f"{DATAOPS_URL}?format=csv&table={name}").content.decode())))

    assert table("deliverables")[1][:2] == ["Churn dashboard", "Dashboard"] and table("deliverables")[1][5:] == [
        "9",
        "5",
        "2",
    ]
    assert table("per_sprint") == [
        ["sprint", "Dashboard", "total"],
        [shipped["closed"].name, "1", "1"],
        [shipped["active"].name, "0", "0"],
    ]
    assert table("by_kind")[1] == ["Dashboard", "1", "9", "9", "1", "5", "5", "1"]
    assert client.get(f"{DATAOPS_URL}?format=csv").content.decode().startswith("deliverable,kind,published_at")
    assert json.loads(client.get(f"{DATAOPS_URL}?format=json").content) == body
    assert client.get(f"{DATAOPS_URL}?from=2024-03-01").json()["errors"][0]["field"] == "from"  # no parameters
    assert client_for("stakeholder").post(DATAOPS_URL).status_code == 403
    assert client_for("outsider").get(DATAOPS_URL).status_code == 404


def test_the_dataops_page_has_its_charts_tables_and_definitions_and_the_index_links_it(project, shipped, people):
    browser = Client()
    browser.force_login(people["stakeholder"])
    assert "/p/DATA/reports/dataops/" in browser.get("/p/DATA/reports/").content.decode()
    browser.get("/p/DATA/reports/dataops/")
    services.report_compute(report_id=Report.objects.get(kind="dataops").pk)
    page = browser.get("/p/DATA/reports/dataops/").content.decode()
    for chart in ("dataops-timings", "dataops-by-kind", "dataops-per-sprint"):
        assert f'data-chart="{chart}"' in page and f'id="definition-{chart}"' in page
    for table in (
        "table-dataops-deliverables",
        "table-dataops-by-kind",
        "table-dataops-per-sprint",
        "table-dataops-percentiles",
    ):
        assert f'id="{table}"' in page
    assert 'id="report-data"' in page and "Churn dashboard" in page
    assert "format=csv&amp;table=per_sprint" in page
    assert '<dd id="figure-tti-p50">9 days' in page


def test_the_dataops_page_of_a_project_without_deliverables_renders(project, history, people):
    browser = Client()
    browser.force_login(people["stakeholder"])
    browser.get("/p/DATA/reports/dataops/")
    services.report_compute(report_id=Report.objects.get(kind="dataops").pk)
    page = browser.get("/p/DATA/reports/dataops/")
    assert page.status_code == 200 and "No deliverable has been published yet." in page.content.decode()


# --- Waste: retired without being published ------------------------------------------------------------


def test_the_waste_report_receives_the_deliverables_retired_unpublished(project, shipped, client_for):
    result = computed(project, ReportKind.WASTE, WASTE).result
    assert result["extra_features"]["retired_unpublished"] == ["Old extract"]  # the published dashboard is not waste
    client = client_for("stakeholder")
    rows = client.get(
        "/api/v1/projects/DATA/reports/waste/?from=2024-03-01&to=2024-03-31&format=csv&table=retired_unpublished"
    )
    assert rows.content.decode().splitlines() == ["deliverable", "Old extract"]


# --- A publication writes no story event: the reports that read deliverables recompute ---------------------


@pytest.mark.parametrize(
    "kind, parameters, sprint",
    [
        (ReportKind.DATAOPS, {}, None),
        (ReportKind.SPRINT, {}, "active"),
        (ReportKind.WASTE, WASTE, None),
    ],
)
def test_a_publication_makes_the_next_request_recompute(project, shipped, people, kind, parameters, sprint):
    sprint = shipped[sprint] if sprint else None
    before = computed(project, kind, parameters, sprint)
    seq = project.__class__.objects.get(pk=project.pk).last_event_seq
    assert (
        services.report_request(project=project, kind=kind, parameters=parameters, sprint=sprint).status
        == ReportStatus.DONE
    )
    publish_dataset(shipped, people)
    assert (
        project.__class__.objects.get(pk=project.pk).last_event_seq == seq
    )  # no story event: the watermark did not move
    queued = services.report_request(project=project, kind=kind, parameters=parameters, sprint=sprint)
    assert queued.status == ReportStatus.PENDING
    assert services.report_compute(report_id=queued.pk) == "stored"
    after = Report.objects.get(pk=before.pk)
    assert after.computations == 2 and after.config_hash != before.config_hash
    if kind == ReportKind.DATAOPS:
        assert [d["name"] for d in after.result["deliverables"]] == ["Churn dashboard", "Orders dataset"]
    elif kind == ReportKind.SPRINT:
        assert [d["name"] for d in after.result["published_deliverables"]] == ["Orders dataset"]
    # Current again: the next request is served from the database.
    assert (
        services.report_request(project=project, kind=kind, parameters=parameters, sprint=sprint).status
        == ReportStatus.DONE
    )


def test_the_api_shows_a_publication_on_the_next_request(project, shipped, people, client_for):
    client = client_for("stakeholder")
    assert [d["name"] for d in get_done(client, DATAOPS_URL).json()["deliverables"]] == ["Churn dashboard"]
    assert client.get(DATAOPS_URL).status_code == 200
    publish_dataset(shipped, people)
    assert client.get(DATAOPS_URL).status_code == 202
    assert [d["name"] for d in get_done(client, DATAOPS_URL).json()["deliverables"]] == [
        "Churn dashboard",
        "Orders dataset",
    ]


def test_a_retirement_makes_the_waste_report_recompute(project, shipped, people):
    computed(project, ReportKind.WASTE, WASTE)
    deliverable_services.deliverable_retire(deliverable=shipped["dataset"], actor=people["member"], at=at(15))
    report = services.report_request(project=project, kind=ReportKind.WASTE, parameters=WASTE)
    assert report.status == ReportStatus.PENDING
    services.report_compute(report_id=report.pk)
    report.refresh_from_db()
    assert sorted(report.result["extra_features"]["retired_unpublished"]) == ["Old extract", "Orders dataset"]


def test_what_does_not_change_the_metrics_does_not_recompute(project, shipped, people):
    dataops = computed(project, ReportKind.DATAOPS)
    flow_inputs = current_inputs(project, ReportKind.FLOW)
    deliverable_services.deliverable_update(
        deliverable=shipped["dataset"], actor=people["member"], description="Now with refunds"
    )
    assert services.report_request(project=project, kind=ReportKind.DATAOPS, parameters={}).status == ReportStatus.DONE
    publish_dataset(shipped, people)
    assert current_inputs(project, ReportKind.FLOW) == flow_inputs  # flow reads no deliverables
    assert Report.objects.get(pk=dataops.pk).computations == 1


def test_the_engine_reads_each_story_s_deliverable_from_its_record(project, shipped):
    """The story loader fills ``deliverable_id``: the reports need no separate links (``story_links``) for the engine."""
    from apps.deliverables.selectors import story_links
    from apps.stories.selectors import engine_stories

    linked = {s.id: s.deliverable_id for s in engine_stories(project) if s.deliverable_id is not None}
    assert linked == story_links(project) and len(linked) == 3
