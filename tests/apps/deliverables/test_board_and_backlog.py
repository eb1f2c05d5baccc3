"""Deliverables on the stories' pages: a badge and a swimlane on the board, a filter on the backlog."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.deliverables import services
from apps.stories import services as story_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(project, people, states):
    dashboard = services.deliverable_create(
        project=project, actor=people["member"], name="Revenue dashboard", kind="dashboard"
    )
    member = people["member"]
    on = story_services.story_create(
        project=project, actor=member, title="MRR tile", deliverable=dashboard, state=states["In progress"]
    )
    off = story_services.story_create(
        project=project, actor=member, title="Upgrade Airflow", state=states["In progress"]
    )
    story_services.story_create(project=project, actor=member, title="Region filter", deliverable=dashboard)
    story_services.story_create(project=project, actor=member, title="Rotate keys")
    return dashboard, on, off


@pytest.fixture
def client(people):
    client = Client()
    client.force_login(people["stakeholder"])
    return client


def test_board_cards_carry_their_deliverables_badge_and_lanes_group_by_deliverable(client, linked):
    dashboard, on, off = linked
    html = client.get("/p/DATA/board/?mode=kanban").content.decode()
    card = html[html.index(f'id="card-{on.key}"') :]
    card = card[: card.index("</li>")]
    assert "deliverable-badge" in card and "Revenue dashboard" in card
    other = html[html.index(f'id="card-{off.key}"') :]
    assert "deliverable-badge" not in other[: other.index("</li>")]
    lanes = client.get("/p/DATA/board/?mode=kanban&lanes=deliverable").content.decode()
    assert lanes.index(">Revenue dashboard <") < lanes.index(">No deliverable <")


def test_the_backlog_filters_by_deliverable(client, linked):
    dashboard, *_ = linked
    only = client.get(f"/p/DATA/backlog/?deliverable={dashboard.pk}").content.decode()
    assert "Region filter" in only and "Rotate keys" not in only
    none = client.get("/p/DATA/backlog/?deliverable=none").content.decode()
    assert "Rotate keys" in none and "Region filter" not in none
    assert "Revenue dashboard (2)" in client.get("/p/DATA/backlog/").content.decode()


def _card(html: str, key: str) -> str:
    card = html[html.index(f'id="card-{key}"') :]
    return card[: card.index("</li>")]


def test_a_card_shows_a_badge_when_its_deliverables_latest_run_failed_in_the_same_queries(client, linked, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sprintboard.pipelines import parse_run
    from tests.sprintboard.pipeline_builders import dbt_failing, dbt_passing

    dashboard, on, off = linked
    with CaptureQueriesContext(connection) as before:
        html = client.get("/p/DATA/board/?mode=kanban").content.decode()
    assert "run-failed" not in _card(html, on.key)
    services.pipeline_run_record(deliverable=dashboard, actor=people["member"], report=parse_run(dbt_failing()))
    with CaptureQueriesContext(connection) as failing:
        html = client.get("/p/DATA/board/?mode=kanban").content.decode()
    assert "Run failed" in _card(html, on.key) and "run-failed" not in _card(html, off.key)
    assert len(failing) == len(before)  # read with the card's deliverable, not per card
    services.pipeline_run_record(deliverable=dashboard, actor=people["member"], report=parse_run(dbt_passing()))
    assert "run-failed" not in _card(client.get("/p/DATA/board/?mode=kanban").content.decode(), on.key)


def test_an_open_board_picks_up_a_failing_run_and_a_renamed_deliverable_at_its_next_poll(client, linked, people):
    """Neither changes a story, but both change what a card shows: the board's version covers them."""
    from sprintboard.pipelines import parse_run
    from tests.sprintboard.pipeline_builders import dbt_failing

    dashboard, on, _ = linked
    live = "/p/DATA/board/live/?mode=kanban"
    etag = client.get(live)["ETag"]
    assert client.get(live, HTTP_IF_NONE_MATCH=etag).status_code == 304
    services.pipeline_run_record(deliverable=dashboard, actor=people["member"], report=parse_run(dbt_failing()))
    changed = client.get(live, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and "Run failed" in _card(changed.content.decode(), on.key)
    etag = changed["ETag"]
    assert client.get(live, HTTP_IF_NONE_MATCH=etag).status_code == 304
    services.deliverable_update(deliverable=dashboard, actor=people["member"], name="Revenue board")
    renamed = client.get(live, HTTP_IF_NONE_MATCH=etag)
    assert renamed.status_code == 200 and "Revenue board" in _card(renamed.content.decode(), on.key)
