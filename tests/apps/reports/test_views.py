"""Report pages: who may see them, the chart and its table, progress while computing, errors and retries."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.reports import services
from apps.reports.models import Report, ReportStatus
from tests.apps.reports.conftest import compute_queued

pytestmark = pytest.mark.django_db


def test_the_index_lists_the_reports_and_the_started_sprints(history, browser_for):
    page = browser_for("stakeholder").get("/p/DATA/reports/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "/p/DATA/reports/flow/" in text and f"/p/DATA/reports/sprints/{history['closed'].pk}/" in text


def test_outsiders_get_404_and_visitors_the_login(history, browser_for):
    assert browser_for("outsider").get("/p/DATA/reports/flow/").status_code == 404
    assert Client().get("/p/DATA/reports/flow/").status_code == 302


def test_a_queued_report_shows_a_progress_bar_that_polls(history, browser_for):
    page = browser_for("stakeholder").get("/p/DATA/reports/flow/?from=2024-03-01&to=2024-03-31")
    text = page.content.decode()
    report = Report.objects.get(kind="flow")
    assert "<progress" in text and f'hx-get="/p/DATA/reports/status/{report.pk}/"' in text
    assert 'hx-trigger="every 1s"' in text


def test_when_done_the_status_poll_reloads_the_page(history, browser_for):
    client = browser_for("stakeholder")
    client.get("/p/DATA/reports/flow/")
    compute_queued()
    report = Report.objects.get(kind="flow")
    poll = client.get(f"/p/DATA/reports/status/{report.pk}/", headers={"HX-Request": "true"})
    assert poll.status_code == 200 and poll["HX-Refresh"] == "true"


def test_a_done_sprint_report_has_charts_tables_and_definitions(history, browser_for):
    url = f"/p/DATA/reports/sprints/{history['closed'].pk}/"
    client = browser_for("stakeholder")
    client.get(url)
    compute_queued()
    text = client.get(url).content.decode()
    for chart in ("burndown", "burnup"):
        assert f'data-chart="{chart}"' in text and f'id="definition-{chart}"' in text
    assert 'id="table-burndown"' in text and 'id="report-data"' in text
    assert "DATA-4, DATA-5" in text  # not completed
    assert "static/vendor/chart.umd.js" in text


def test_the_flow_page_has_every_chart_with_its_table(history, browser_for):
    client = browser_for("stakeholder")
    client.get("/p/DATA/reports/flow/?from=2024-03-01&to=2024-03-31")
    compute_queued()
    text = client.get("/p/DATA/reports/flow/?from=2024-03-01&to=2024-03-31").content.decode()
    for chart in (
        "cycle-scatter",
        "throughput",
        "cfd",
        "aging",
        "wip",
        "time-in-state",
        "efficiency",
        "lead-distribution",
    ):
        assert f'data-chart="{chart}"' in text
    assert "Little&#x27;s Law" in text or "Little's Law" in text
    assert "format=csv&amp;table=throughput" in text


@pytest.mark.parametrize("path", ["velocity/", "forecast/", "forecast/?items=4", "waste/"])
def test_the_other_report_pages_render(history, browser_for, path):
    client = browser_for("stakeholder")
    client.get(f"/p/DATA/reports/{path}")
    compute_queued()
    page = client.get(f"/p/DATA/reports/{path}")
    assert page.status_code == 200 and 'id="report-data"' in page.content.decode()


def test_bad_parameters_are_a_form_error(history, browser_for):
    page = browser_for("stakeholder").get("/p/DATA/reports/flow/?from=2024-03-31&to=2024-03-01")
    assert (
        page.status_code == 400
        and "The start date (2024-03-31) is after the end date (2024-03-01)" in page.content.decode()
    )
    assert not Report.objects.exists()


def test_members_may_queue_a_failed_report_again_and_stakeholders_may_not(history, browser_for):
    browser_for("member").get("/p/DATA/reports/velocity/")
    report = Report.objects.get(kind="velocity")
    services.report_fail(report_id=report.pk, error="The worker fell over.")  # failed at the current inputs
    page = browser_for("stakeholder").get("/p/DATA/reports/velocity/").content.decode()
    assert "The worker fell over." in page and "Compute it again" not in page
    assert browser_for("stakeholder").post(f"/p/DATA/reports/queue/{report.pk}/").status_code == 403
    member = browser_for("member")
    assert "Compute it again" in member.get("/p/DATA/reports/velocity/").content.decode()
    response = member.post(f"/p/DATA/reports/queue/{report.pk}/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<progress" in response.content.decode()
    report.refresh_from_db()
    assert report.status == ReportStatus.PENDING


def test_a_page_downloads_csv(history, browser_for):
    client = browser_for("stakeholder")
    client.get("/p/DATA/reports/velocity/")
    compute_queued()
    response = client.get("/p/DATA/reports/velocity/?format=csv&table=sprints")
    assert response["Content-Type"].startswith("text/csv") and response.content.decode().startswith("sprint,closed_at")


def test_the_forecast_form_shows_the_stories_asked_for_and_folds_the_seed(history, browser_for):
    plain = browser_for("stakeholder").get("/p/DATA/reports/forecast/").content.decode()
    assert "generator object" not in plain and 'name="items" min="1" max="10000" value=""' in plain
    assert '<details class="advanced"><summary>Advanced</summary>' in plain
    asked = browser_for("stakeholder").get("/p/DATA/reports/forecast/?items=4").content.decode()
    assert 'name="items" min="1" max="10000" value="4"' in asked


def test_report_tables_and_csvs_show_timestamps_and_numbers_readably(history, browser_for):
    client = browser_for("stakeholder")
    client.get("/p/DATA/reports/velocity/")
    compute_queued()
    page = client.get("/p/DATA/reports/velocity/").content.decode()
    table = page[page.index('id="table-velocity"') :]
    table = table[: table.index("</table>")]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", table) and not re.search(r"T\d\d:\d\d", table)
    csv_text = client.get("/p/DATA/reports/velocity/?format=csv&table=sprints").content.decode()
    assert re.search(r",\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,", csv_text) and not re.search(r"T\d\d:\d\d", csv_text)


def test_the_cells_of_tables_and_csvs_are_rounded_and_dated():
    from apps.reports.exports import csv_cell
    from apps.reports.templatetags.report_format import number

    assert number(26.76923076923077) == "26.77" and number("2026-12-01T21:20:25.073772Z") == "2026-12-01 21:20 UTC"
    assert number("2026-12-01T23:20:25+02:00") == "2026-12-01 21:20 UTC" and number("2026-12-01") == "2026-12-01"
    assert csv_cell(26.76923076923077) == 26.77 and csv_cell(4.0) == 4
    assert csv_cell("2026-12-01T21:20:25.073772Z") == "2026-12-01 21:20:25" and csv_cell("DATA-1") == "DATA-1"


def test_time_in_state_shows_the_started_states_and_folds_the_others(history, browser_for):
    client = browser_for("stakeholder")
    client.get("/p/DATA/reports/flow/?from=2024-03-01&to=2024-03-31")
    compute_queued()
    page = client.get("/p/DATA/reports/flow/?from=2024-03-01&to=2024-03-31").content.decode()
    started = page[page.index('id="table-time-in-state"') :]
    started = started[: started.index("</table>")]
    every = page[page.index('id="table-time-in-every-state"') :]
    every = every[: every.index("</table>")]
    assert ">In progress<" in started and ">Done<" not in started and ">Backlog<" not in started
    assert ">Done<" in every and ">Backlog<" in every
    csv_text = client.get("/p/DATA/reports/flow/?from=2024-03-01&to=2024-03-31&format=csv&table=time_in_state")
    assert csv_text.content.decode().startswith("state,category,hours,stories")


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("flow/", "flow"),
        ("velocity/", "sprints"),
        ("sprint", "sprints"),
        ("forecast/", "forecast-monte-carlo"),
        ("waste/", "lean-waste"),
        ("dataops/", "dataops"),
    ],
)
def test_every_report_page_links_its_section_of_the_metrics_guide(history, browser_for, path, section):
    """Issue 15 item 26: the definitions beside the charts point at the guide's section of that report."""
    from django.urls import reverse

    client = browser_for("stakeholder")
    url = f"/p/DATA/reports/sprints/{history['closed'].pk}/" if path == "sprint" else f"/p/DATA/reports/{path}"
    page = client.get(url).content.decode()
    assert f'href="{reverse("metrics-guide")}#{section}"' in page
    guide = client.get(reverse("metrics-guide")).content.decode()
    assert f'id="{section}"' in guide
