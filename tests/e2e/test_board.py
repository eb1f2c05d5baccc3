"""The board in Chromium: drag and drop, live updates in a second browser, WIP refusal, keyboard moves."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from apps.projects import services as project_services
from apps.projects.models import Role, WipPolicy
from apps.projects.selectors import workflow
from apps.stories import services
from apps.stories.models import Story
from tests.e2e.conftest import new_page, open_page, reload_page

pytestmark = pytest.mark.e2e


@pytest.fixture
def board(login, page, make_e2e_user):
    """A project with a running sprint of three cards, and the member "mia" logged in on the board."""
    owner = make_e2e_user("olga")
    project = project_services.project_create(creator=owner, key="DATA", name="Data team")
    mia = make_e2e_user("mia")
    project_services.membership_add(project=project, user=mia, role=Role.MEMBER)
    states = {state.name: state for state in workflow(project)}
    sprint = services.sprint_create(project=project, actor=owner, name="Sprint 1")
    for title in ("Load CRM", "Model churn", "Revenue dashboard"):
        services.story_create(project=project, actor=owner, title=title, points=3, sprint=sprint, state=states["Ready"])
    services.sprint_start(sprint=sprint, actor=owner)
    login(page, "mia")
    open_page(page, "/p/DATA/board/")
    return {"project": project, "states": states}


def column(page, state) -> object:
    return page.locator(f'ul.column-cell[data-state="{state.pk}"]')


def open_panel(page, key: str):
    """Click a card's link and wait for the side panel's signal that it holds that story (board.js)."""
    page.locator(f"#card-{key}").get_by_role("link", name=key).click()
    expect(page.locator(f'#board-panel[data-ready="{key}"]')).to_be_visible()
    return page.locator("#board-panel")


def drag(page, card, target) -> None:
    """A pointer drag in small steps, as a person does it (SortableJS runs in its fallback mode).

    It waits for SortableJS's own signals, never for time: the drag has started (the card is its ghost),
    then the card's place is in the target column, and only then the pointer is released."""
    start, end = card.bounding_box(), target.bounding_box()
    placed = page.locator(f"#{card.get_attribute('id')}:not(.sortable-fallback)")  # not the copy under the pointer
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 12)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + 20, steps=5)
    expect(placed).to_have_class(re.compile(r"\bsortable-ghost\b"))
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 30, steps=20)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 34, steps=5)
    expect(target.locator(placed)).to_have_count(1)
    page.mouse.up()


def test_drag_a_card_to_the_next_column_and_it_stays_after_a_reload(page, board, snapshot):
    states = board["states"]
    card = page.locator("#card-DATA-1")
    drag(page, card, column(page, states["In progress"]))
    expect(column(page, states["In progress"]).locator("#card-DATA-1")).to_be_visible()
    expect(page.locator("#board-status")).to_have_text("DATA-1 moved to In progress.")
    snapshot("after-drag")
    assert Story.objects.get(key="DATA-1").state == states["In progress"]
    reload_page(page)
    expect(column(page, states["In progress"]).locator("#card-DATA-1")).to_be_visible()
    expect(column(page, states["Ready"]).locator("#card-DATA-1")).to_have_count(0)


def test_a_second_browser_sees_the_move_without_reloading(page, board, browser, live_server, login):
    states = board["states"]
    other = new_page(browser, live_server.url)
    try:
        login(other, "olga")
        open_page(other, "/p/DATA/board/")
        expect(column(other, states["Ready"]).locator("#card-DATA-2")).to_be_visible()
        other.evaluate("window.__notReloaded = true")

        fetched = []
        other.on("response", lambda r: fetched.append(r) if "/board/live/" in r.url and r.status == 200 else None)
        drag(page, page.locator("#card-DATA-2"), column(page, states["In progress"]))
        expect(page.locator("#board-status")).to_have_text("DATA-2 moved to In progress.")
        # The poll runs every 1.5 s: the other person sees the card move at the next poll or the one after
        # (one may have been under way when the move was saved), on the same page. 5 s leaves room for a busy CPU.
        expect(column(other, states["In progress"]).locator("#card-DATA-2")).to_be_visible(timeout=5_000)
        assert other.evaluate("window.__notReloaded") is True
        # It came gzipped (as stored), unpacked by the browser.
        assert fetched and all(r.headers.get("content-encoding") == "gzip" for r in fetched)
    finally:
        other.context.close()


def test_a_move_into_a_full_column_is_refused_under_the_block_policy(page, board, snapshot):
    states, project = board["states"], board["project"]
    project_services.project_update(project=project, wip_policy=WipPolicy.BLOCK)
    project_services.state_update(state=states["In progress"], name="In progress", category="active", wip_limit=1)
    services.story_change_state(story=Story.objects.get(key="DATA-3"), state=states["In progress"], actor=None)
    reload_page(page)
    expect(page.locator(f"#column-{states['In progress'].pk} .column-count")).to_contain_text("1 / 1")

    drag(page, page.locator("#card-DATA-1"), column(page, states["In progress"]))
    expect(page.get_by_role("alert")).to_contain_text("In progress is at its WIP limit of 1")
    # The card snaps back to where it was, and nothing changed.
    expect(column(page, states["Ready"]).locator("#card-DATA-1")).to_be_visible()
    expect(column(page, states["In progress"]).locator("#card-DATA-1")).to_have_count(0)
    snapshot("wip-refused")
    assert Story.objects.get(key="DATA-1").state == states["Ready"]


def test_a_move_over_the_limit_under_the_warn_policy_is_made_and_says_so(page, board, snapshot):
    states = board["states"]
    project_services.state_update(state=states["In progress"], name="In progress", category="active", wip_limit=1)
    services.story_change_state(story=Story.objects.get(key="DATA-3"), state=states["In progress"], actor=None)
    reload_page(page)
    drag(page, page.locator("#card-DATA-1"), column(page, states["In progress"]))
    expect(page.get_by_role("alert")).to_contain_text("In progress is over its WIP limit: 2 stories for a limit of 1.")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(column(page, states["In progress"]).locator("#card-DATA-1")).to_be_visible()
    snapshot("wip-warned")
    assert Story.objects.get(key="DATA-1").state == states["In progress"]


def test_a_card_moves_with_the_keyboard(page, board):
    states = board["states"]
    card = page.locator("#card-DATA-1")
    card.focus()
    page.keyboard.press("Shift+ArrowRight")
    expect(column(page, states["In progress"]).locator("#card-DATA-1")).to_be_visible()
    expect(page.locator("#card-DATA-1")).to_be_focused()
    # The Move… button opens a dialog with every column.
    page.locator("#card-DATA-1").get_by_role("button", name="Move DATA-1 to another column").click()
    page.get_by_label("To column").select_option(label="Waiting")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(column(page, states["Waiting"]).locator("#card-DATA-1")).to_be_visible()
    assert Story.objects.get(key="DATA-1").state == states["Waiting"]


def test_the_side_panel_blocks_a_card_with_a_reason(page, board):
    """The panel is the story page's ?panel=1 fragment; a change in it refreshes the board."""
    panel = open_panel(page, "DATA-2")
    expect(panel.get_by_role("heading", name="DATA-2 Model churn")).to_be_visible()
    expect(panel).to_be_focused()
    panel.get_by_label("Blocked because").fill("Waiting for the warehouse")
    panel.get_by_role("button", name="Block", exact=True).click()
    expect(panel.get_by_role("status")).to_contain_text("DATA-2 is blocked.")
    expect(panel.get_by_role("status")).to_be_focused()
    expect(page.locator("#card-DATA-2 .card-blocked")).to_contain_text("Waiting for the warehouse")
    expect(panel.locator(".panel-history")).to_contain_text("flagged it blocked: Waiting for the warehouse")
    panel.get_by_role("button", name="Unblock").click()
    expect(panel.get_by_role("status")).to_contain_text("DATA-2 is unblocked.")
    expect(page.locator("#card-DATA-2 .card-blocked")).to_have_count(0)
    assert not Story.objects.get(key="DATA-2").blocked


def test_the_side_panel_assigns_re_estimates_and_shows_a_stale_change(page, board):
    panel = open_panel(page, "DATA-1")
    panel.get_by_label("Assign to").select_option("mia")
    panel.get_by_role("button", name="Assign").click()
    expect(panel.get_by_role("status")).to_contain_text("DATA-1 is assigned to mia.")
    expect(page.locator("#card-DATA-1 .assignee")).to_have_text("mia")
    # Someone else changes the story while the panel is open: the panel's change is refused, inside the panel.
    services.story_estimate(story=Story.objects.get(key="DATA-1"), points=13, actor=None)
    panel.get_by_label("Estimate (points)").fill("5")
    panel.get_by_role("button", name="Re-estimate").click()
    expect(panel.get_by_role("alert")).to_contain_text("changed by someone else")
    expect(panel.get_by_label("Estimate (points)")).to_have_value("13")  # the panel shows the story as it is now
    assert Story.objects.get(key="DATA-1").points == 13
    panel.get_by_label("Estimate (points)").fill("5")
    panel.get_by_role("button", name="Re-estimate").click()
    expect(panel.get_by_role("status")).to_contain_text("DATA-1 is re-estimated.")
    expect(page.locator("#card-DATA-1 .points")).to_have_text("5 pt")
    panel.get_by_role("button", name="Close the story panel").click()
    expect(panel).to_be_hidden()
    expect(page.locator("#card-DATA-1")).to_be_focused()
