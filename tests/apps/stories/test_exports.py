"""Stories as CSV from the API: ?format=csv on the story list (its filters) and the backlog."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.projects import services as project_services
from apps.stories import services
from apps.stories.exports import COLUMNS

pytestmark = pytest.mark.django_db


def table(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    reader = csv.reader(io.StringIO(response.content.decode()))
    header = next(reader)
    assert tuple(header) == COLUMNS
    return [dict(zip(header, row, strict=True)) for row in reader]


def test_the_story_list_downloads_every_match_with_the_same_filters(world, client_for):
    client = client_for("stakeholder")
    response = client.get("/api/v1/projects/DATA/stories/?format=csv")
    assert 'attachment; filename="DATA-stories-' in response["Content-Disposition"]
    assert [row["key"] for row in table(response)] == ["DATA-1", "DATA-2"]
    assert [row["key"] for row in table(client.get("/api/v1/projects/DATA/stories/?format=csv&label=dbt"))] == [
        "DATA-1"
    ]
    by_epic = table(client.get(f"/api/v1/projects/DATA/stories/?format=csv&epic={world.epic.pk}"))
    assert [(row["key"], row["epic"], row["labels"]) for row in by_epic] == [("DATA-1", "CRM ingestion", "dbt")]


def test_the_backlog_downloads_as_csv(world, client_for, people):
    services.story_update(story=world.other_story, actor=people["owner"], sprint=world.sprint)
    rows = table(client_for("member").get("/api/v1/projects/DATA/backlog/?format=csv"))
    assert [row["key"] for row in rows] == ["DATA-1"]


def test_a_row_carries_the_flow_projection_in_the_project_time_zone(world, client_for, people, states):
    people["member"].first_name, people["member"].last_name = "Milan", "de Vries"
    people["member"].save()
    project_services.project_update(project=world.project, timezone="Europe/Amsterdam")
    story = services.story_assign(story=world.story, assignee=people["member"], actor=people["owner"])
    story = services.story_change_state(story=story, state=states["In progress"], actor=people["member"])
    story = services.story_change_state(story=story, state=states["Done"], actor=people["member"])
    row = table(client_for("stakeholder").get(f"/api/v1/projects/DATA/stories/?format=csv&state={states['Done'].pk}"))[
        0
    ]
    assert (row["assignee"], row["assignee_username"], row["state"], row["category"]) == (
        "Milan de Vries",
        "member",
        "Done",
        "done",
    )
    assert (row["points"], row["cycle_days"], row["times_reopened"], row["blocked"]) == ("3", "1", "0", "no")
    amsterdam = ZoneInfo("Europe/Amsterdam")
    assert row["started"] == story.flow_started_at.astimezone(amsterdam).isoformat(timespec="seconds")
    assert row["finished"] == story.flow_finished_at.astimezone(amsterdam).isoformat(timespec="seconds")
    assert row["created"].endswith(("+01:00", "+02:00"))


def test_cells_a_spreadsheet_would_run_are_neutralised(world, client_for, people):
    services.story_update(story=world.story, actor=people["owner"], title='=HYPERLINK("x")')
    services.story_block(story=world.story, reason="@channel waiting", actor=people["owner"])
    row = table(client_for("stakeholder").get("/api/v1/projects/DATA/stories/?format=csv&label=dbt"))[0]
    assert row["title"] == '\'=HYPERLINK("x")' and row["blocked_reason"] == "'@channel waiting"


def test_the_download_costs_the_same_queries_for_one_story_or_many(world, client_for, people):
    client = client_for("stakeholder")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            table(client.get("/api/v1/projects/DATA/stories/?format=csv"))
        return len(captured)

    few = queries()
    for n in range(8):
        services.story_create(project=world.project, actor=people["owner"], title=f"Story {n}", epic=world.epic)
    assert queries() == few


def test_who_may_download(world, client_for):
    assert client_for("outsider").get("/api/v1/projects/DATA/stories/?format=csv").status_code == 404
    assert client_for(None).get("/api/v1/projects/DATA/backlog/?format=csv").status_code in (401, 403)
    bad = client_for("stakeholder").get("/api/v1/projects/DATA/stories/?format=csv&kind=epic")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "kind"


def test_without_format_the_list_answers_json_as_before(world, client_for):
    response = client_for("stakeholder").get("/api/v1/projects/DATA/stories/")
    assert response.status_code == 200 and response.json()["count"] == 2
