from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from apps.projects import services as project_services
from apps.projects.models import Role
from apps.stories import selectors, services
from apps.stories.models import Story
from tests.e2e.conftest import click_through, open_page, reload_page

pytestmark = pytest.mark.e2e


@pytest.fixture
def backlog_project(login, page):
    login(page, "olivia")
    owner = get_user_model().objects.get(username="olivia")
    project = project_services.project_create(creator=owner, key="DATA", name="Data team")
    project_services.membership_add(
        project=project, user=get_user_model().objects.create_user("pat"), role=Role.PRODUCT_OWNER
    )
    for title in ("Ingest CRM", "Revenue dashboard", "Churn model", "Data quality checks"):
        services.story_create(project=project, actor=owner, title=title, points=3)
    return project


def backlog_order(project) -> list[str]:
    return list(
        Story.objects.filter(project=project)
        .filter(selectors.backlog_filter())
        .order_by("rank")
        .values_list("title", flat=True)
    )


def hover_until(page, x: float, y: float, done) -> None:
    """Keep the pointer moving a pixel to and fro over (x, y) until ``done()``: a native drag sees the
    pointer only when it moves, and SortableJS ignores it while a row is still animating."""
    deadline = time.monotonic() + 10
    wiggle = 1
    while not done():
        assert time.monotonic() < deadline, "the dragged row never reached its place"
        wiggle = -wiggle
        page.mouse.move(x, y + wiggle)


def test_drag_a_story_to_the_top_reload_and_it_stays_there_then_undo(page, backlog_project, snapshot):
    open_page(page, "/p/DATA/backlog/")
    rows = page.locator("#backlog-list > .backlog-row")
    expect(rows).to_have_count(4)
    handle = rows.nth(3).locator(".drag-handle")
    target = rows.nth(0)
    start, end = handle.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    goal = end["y"] + end["height"] / 4  # the upper part of the first row
    page.mouse.move(start["x"] + 5, goal, steps=20)  # several steps, so SortableJS sees a drag
    # SortableJS has put the row first (its signal that the drop lands there): only then let go.
    hover_until(page, start["x"] + 5, goal, lambda: rows.first.get_attribute("id") == "row-DATA-4")
    page.mouse.up()
    expect(page.locator("#backlog-status")).to_contain_text("Moved DATA-4 above DATA-1")
    snapshot("dragged")
    reload_page(page)
    expect(page.locator("#backlog-list > .backlog-row").first).to_contain_text("Data quality checks")
    assert backlog_order(backlog_project)[0] == "Data quality checks"

    # The keyboard alternative: focus a row's "down" button and press Enter; then undo it.
    page.get_by_role("button", name="Move DATA-4 down").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#backlog-status")).to_contain_text("Moved DATA-4 below DATA-1")
    expect(page.locator("#backlog-list > .backlog-row").nth(1)).to_contain_text("Data quality checks")
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#backlog-status")).to_contain_text("back where it was")
    expect(page.locator("#backlog-list > .backlog-row").first).to_contain_text("Data quality checks")
    assert backlog_order(backlog_project)[:2] == ["Data quality checks", "Ingest CRM"]


def test_create_a_story_inline_then_edit_it_on_its_page(page, backlog_project, snapshot):
    open_page(page, "/p/DATA/backlog/")
    page.get_by_label("New story").fill("Validate churn labels")
    page.get_by_label("Add at").select_option("top")
    page.get_by_role("button", name="Add story").click()
    expect(page.locator("#backlog-status")).to_contain_text("Added DATA-5 at the top")
    expect(page.locator("#backlog-list > .backlog-row").first).to_contain_text("Validate churn labels")
    click_through(page, page.get_by_role("link", name="Validate churn labels"))
    assert page.url.endswith("/stories/DATA-5/")
    page.get_by_label("Title:", exact=True).fill("Validate the churn labels")
    page.get_by_label("Description:", exact=True).fill("Check **every** label against the CRM")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-DATA-5 strong")).to_have_text("every")
    page.get_by_label("Points:", exact=True).fill("5")
    page.get_by_label("Kind:", exact=True).select_option("spike")
    page.get_by_role("button", name="Save DATA-5").click()
    expect(page.get_by_role("heading", name="DATA-5 Validate the churn labels")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("estimated it at 5 points")
    snapshot("edited")
    story = Story.objects.get(key="DATA-5")
    assert (story.title, story.points, story.kind) == ("Validate the churn labels", 5, "spike")


def test_the_header_totals_follow_an_inline_create_and_estimate(page, backlog_project, snapshot):
    open_page(page, "/p/DATA/backlog/")
    totals = page.locator("#backlog-totals")
    expect(totals).to_contain_text("4 stories · 12 points")
    page.get_by_label("New story").fill("Size the churn backfill")
    page.get_by_label("Add at").select_option("top")
    page.get_by_role("button", name="Add story").click()
    expect(page.locator("#backlog-status")).to_contain_text("Added DATA-5 at the top")
    expect(totals).to_contain_text("5 stories · 12 points · 1 unestimated")
    page.get_by_role("spinbutton", name="Points of DATA-5").fill("2.5")
    page.get_by_role("button", name="Save points of DATA-5").click()
    expect(totals).to_contain_text("5 stories · 14.5 points")
    expect(totals).not_to_contain_text("unestimated")
    assert page.get_by_role("spinbutton", name="Points of DATA-5").get_attribute("step") == "0.1"
    snapshot("totals")
