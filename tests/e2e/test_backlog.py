from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from apps.projects import services as project_services
from apps.projects.models import Role
from apps.stories import selectors, services
from apps.stories.models import Story

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


def test_drag_a_story_to_the_top_reload_and_it_stays_there_then_undo(page, backlog_project, snapshot):
    page.goto("/p/DATA/backlog/")
    rows = page.locator("#backlog-list > .backlog-row")
    expect(rows).to_have_count(4)
    handle = rows.nth(3).locator(".drag-handle")
    target = rows.nth(0)
    start, end = handle.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    goal = end["y"] + end["height"] / 4  # the upper part of the first row
    for step in range(1, 21):  # several steps, so SortableJS sees a drag
        page.mouse.move(start["x"] + 5, start["y"] - (start["y"] - goal) * step / 20)
        page.wait_for_timeout(15)
    for wiggle in (1, -1, 0):  # rest over the target so the swap settles before the drop
        page.mouse.move(start["x"] + 5, goal + wiggle)
        page.wait_for_timeout(50)
    page.mouse.up()
    expect(page.locator("#backlog-status")).to_contain_text("Moved DATA-4 above DATA-1")
    snapshot("dragged")
    page.reload()
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
    page.wait_for_timeout(200)
    assert backlog_order(backlog_project)[:2] == ["Data quality checks", "Ingest CRM"]


def test_create_a_story_inline_then_edit_it_on_its_page(page, backlog_project, snapshot):
    page.goto("/p/DATA/backlog/")
    page.get_by_label("New story").fill("Validate churn labels")
    page.get_by_label("Add at").select_option("top")
    page.get_by_role("button", name="Add story").click()
    expect(page.locator("#backlog-status")).to_contain_text("Added DATA-5 at the top")
    expect(page.locator("#backlog-list > .backlog-row").first).to_contain_text("Validate churn labels")
    page.get_by_role("link", name="Validate churn labels").click()
    page.wait_for_url("**/stories/DATA-5/")
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
