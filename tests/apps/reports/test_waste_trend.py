"""The trend of every Lean waste across sprints: in the waste report, on its page and as the ``trend`` CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from apps.reports.models import Report
from tests.apps.reports.conftest import compute_queued, get_done

pytestmark = pytest.mark.django_db
WASTES = (
    "partially_done",
    "waiting",
    "task_switching",
    "handoffs",
    "rework",
    "extra_features",
    "backlog",
    "relearning",
)
# A window after sprint 1 closed: its signals are empty, its trend is not (the trend is per sprint, not per window).
API_URL = "/api/v1/projects/DATA/reports/waste/?from=2024-03-20&to=2024-03-31"
PAGE_URL = "/p/DATA/reports/waste/?from=2024-03-20&to=2024-03-31"


def test_the_waste_report_has_each_wastes_figure_per_closed_sprint(history, client_for):
    body = get_done(client_for("stakeholder"), API_URL).json()
    assert body["partially_done"] == []  # no sprint closed in this window
    (sprint,) = body["trend"]  # sprint 1 closed; sprint 2 is still active
    keys = [s.key for s in history["stories"]]
    late = sorted(sprint["backlog"]["keys"])
    assert (sprint["name"], sprint["start"], sprint["end"]) == (history["closed"].name, "2024-03-04", "2024-03-15")
    # Hand-computed: 6 stories in the sprint at its close (3 completed, 1 cancelled, 2 carried over).
    assert sprint["partially_done"] == {"value": 2, "n": 6, "keys": [keys[3], keys[4]]}
    assert sprint["waiting"] == {"value": 0.0, "n": 3, "keys": []}  # finished straight from in progress
    assert sprint["rework"] == {"value": 0.0, "n": 3, "keys": []}
    assert sprint["extra_features"] == {"value": 1, "n": 1, "keys": [keys[2]]}  # cancelled after its start
    assert sprint["backlog"]["value"] == pytest.approx(2 / 19) and sprint["backlog"]["n"] == 5 and len(late) == 1
    assert sprint["relearning"] == {"value": 0, "n": 0, "keys": []}
    assert set(WASTES) <= set(sprint)


def test_the_trend_csv_has_one_row_per_sprint_and_waste_matching_the_json(history, client_for):
    client = client_for("stakeholder")
    body = get_done(client, API_URL).json()
    response = client.get(API_URL + "&format=csv&table=trend")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "waste-2" in response["Content-Disposition"] and "-trend.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["sprint", "start", "end", "waste", "figure", "value", "n", "stories"]
    assert [row[3] for row in rows[1:]] == list(WASTES)
    sprint = body["trend"][0]
    for row in rows[1:]:
        figure = sprint[row[3]]
        assert float(row[5]) == pytest.approx(figure["value"], abs=0.005) and int(row[6]) == figure["n"]  # 2 decimals
        assert row[7] == " ".join(figure["keys"])


def test_the_waste_page_draws_a_trend_with_its_table_for_every_waste(history, people):
    client = Client()
    client.force_login(people["stakeholder"])
    client.get(PAGE_URL)
    compute_queued()
    text = client.get(PAGE_URL).content.decode()
    sprint, carried = history["closed"].name, history["stories"][3].key
    for waste in WASTES:
        slug = waste.replace("_", "-")
        assert f'data-chart="waste-trend-{slug}"' in text
        assert f'id="table-trend-{slug}"' in text and f'id="definition-waste-trend-{slug}"' in text
    table = text.split('id="table-trend-partially-done"')[1].split("</table>")[0]
    assert f'<th scope="row">{sprint}</th>' in table and carried in table and ">6<" in table
    assert "format=csv&amp;table=trend" in text


def test_a_result_stored_before_the_trend_still_shows_and_downloads(history, people, client_for):
    client = client_for("stakeholder")
    get_done(client, API_URL)
    report = Report.objects.get(kind="waste")
    report.result.pop("trend")
    report.save(update_fields=["result"])
    rows = list(csv.reader(io.StringIO(client.get(API_URL + "&format=csv&table=trend").content.decode())))
    assert rows == [["sprint", "start", "end", "waste", "figure", "value", "n", "stories"]]
    browser = Client()
    browser.force_login(people["stakeholder"])
    page = browser.get(PAGE_URL)
    assert page.status_code == 200 and "No closed sprint yet." in page.content.decode()
