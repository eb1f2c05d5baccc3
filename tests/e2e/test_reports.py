"""The sprint report and the flow page of the demo project in Chromium: the charts drew, and the numbers
in their tables are the API's. Screenshots of both land in test-results/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.projects import services as project_services
from apps.projects.models import Role
from apps.reports.templatetags.report_format import number
from apps.stories.models import Sprint, SprintStatus
from tests.e2e.conftest import open_page

pytestmark = pytest.mark.e2e

CANVAS_HAS_INK = """(canvas) => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
  return canvas.width > 0 && canvas.height > 0 && inked > 200;
}"""


def reader(page, login, project) -> None:
    login(page, "reader")
    from django.contrib.auth import get_user_model

    project_services.membership_add(
        project=project, user=get_user_model().objects.get(username="reader"), role=Role.STAKEHOLDER
    )


def table_rows(page, table_id: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"#{table_id} tbody tr", "rows => rows.map(r => Array.from(r.children).map(c => c.textContent.trim()))"
    )


def assert_drawn(page, chart: str) -> None:
    canvas = page.locator(f"canvas#chart-{chart}")
    expect(canvas).to_have_attribute("data-drawn", "true")
    assert canvas.evaluate(CANVAS_HAS_INK), f"the {chart} chart is blank"


def test_the_sprint_report_draws_its_charts_with_the_api_s_numbers(page, login, demo, snapshot):
    reader(page, login, demo)
    sprint = Sprint.objects.filter(project=demo, status=SprintStatus.CLOSED).order_by("-closed_at").first()
    open_page(page, f"/p/DATA/reports/sprints/{sprint.pk}/")
    expect(page.get_by_role("heading", name=f"{sprint.name} sprint report")).to_be_visible()
    for chart in ("burndown", "burnup"):
        assert_drawn(page, chart)
    api = page.request.get(f"/api/v1/sprints/{sprint.pk}/report/").json()
    assert api["status"] == "done"
    expected = [
        [d["date"], *(number(d[f]) for f in ("remaining_points", "scope_points", "ideal_points", "completed_points"))]
        for d in api["burndown"]
    ]
    assert table_rows(page, "table-burndown") == expected
    expect(page.locator("#figure-committed")).to_contain_text(f"{number(api['committed_points'])} pts")
    expect(page.locator("#figure-completed")).to_contain_text(f"{number(api['completed_points'])} pts")
    expect(page.locator("#list-not_completed")).to_have_text(", ".join(api["not_completed"]) or "None.")
    snapshot("sprint-report")


def test_the_flow_page_draws_its_charts_with_the_api_s_numbers(page, login, demo, snapshot):
    reader(page, login, demo)
    open_page(page, "/p/DATA/reports/flow/")
    expect(page.get_by_role("heading", name="Flow", exact=True)).to_be_visible()
    for chart in ("cycle-scatter", "throughput", "cfd", "aging", "time-in-state", "lead-distribution"):
        assert_drawn(page, chart)
    api = page.request.get("/api/v1/projects/DATA/reports/flow/").json()
    assert api["status"] == "done" and api["n"] > 0
    assert table_rows(page, "table-throughput") == [[d["date"], number(d["count"])] for d in api["throughput"]]
    assert table_rows(page, "table-percentiles") == [[p, number(v)] for p, v in api["percentiles"].items()]
    assert [row[0] for row in table_rows(page, "table-cycle-times")] == [c["key"] for c in api["cycle_times"]]
    cfd_last = table_rows(page, "table-cfd")[-1]
    assert cfd_last == [api["cfd"][-1]["date"], *(number(api["cfd"][-1]["counts"][str(s)]) for s in api["states"])]
    # Issue 15 item 9: time in state shows the started states; Backlog and Done only in the fold of every state.
    started = [t["name"] for t in api["time_in_state"] if t.get("category") in ("active", "waiting")]
    assert started and [row[0] for row in table_rows(page, "table-time-in-state")] == started
    assert {"Backlog", "Done"} <= {row[0] for row in table_rows(page, "table-time-in-every-state")}
    snapshot("flow")


def test_the_dataops_page_draws_its_charts_with_the_api_s_numbers(page, login, demo, snapshot):
    reader(page, login, demo)
    open_page(page, "/p/DATA/reports/dataops/")
    expect(page.get_by_role("heading", name="DataOps", exact=True)).to_be_visible()
    for chart in ("dataops-timings", "dataops-by-kind", "dataops-per-sprint"):
        assert_drawn(page, chart)
    api = page.request.get("/api/v1/projects/DATA/reports/dataops/").json()
    assert api["status"] == "done" and api["deliverables"], "the demo publishes deliverables"
    rows = table_rows(page, "table-dataops-deliverables")
    assert [[r[0], r[5], r[6]] for r in rows] == [
        [d["name"], number(d["time_to_insight_days"]), number(d["validation_lag_days"])] for d in api["deliverables"]
    ]
    assert [[r[0], r[-1]] for r in table_rows(page, "table-dataops-per-sprint")] == [
        [s["name"], number(s["n"])] for s in api["throughput"]
    ]
    expect(page.locator("#figure-published")).to_have_text(str(len(api["deliverables"])))
    snapshot("dataops")


WASTE_TRENDS = (
    "partially_done",
    "waiting",
    "task_switching",
    "handoffs",
    "rework",
    "extra_features",
    "backlog",
    "relearning",
)


def test_the_waste_page_draws_every_waste_s_trend_with_the_api_s_numbers(page, login, demo, snapshot):
    reader(page, login, demo)
    open_page(page, "/p/DATA/reports/waste/")
    expect(page.get_by_role("heading", name="Lean waste", exact=True)).to_be_visible()
    api = page.request.get("/api/v1/projects/DATA/reports/waste/").json()
    assert api["status"] == "done" and api["trend"], "the demo has closed sprints"
    for waste in WASTE_TRENDS:
        slug = waste.replace("_", "-")
        expected = [
            [s["name"], number(s[waste]["value"]), number(s[waste]["n"]), number(" ".join(s[waste]["keys"]))]
            for s in api["trend"]
        ]
        assert table_rows(page, f"table-trend-{slug}") == expected, waste
        if any(s[waste]["value"] for s in api["trend"]):
            assert_drawn(page, f"waste-trend-{slug}")
        expect(page.locator(f"canvas#chart-waste-trend-{slug}")).to_have_attribute("data-drawn", "true")
    snapshot("waste")
