"""The pages as people use them (issue 15), in Chromium at 1440x900 and, where it is layout, 390x844:
the backlog's Bottom button past the first page, the board fitting the window (its own scroll, sticky heads,
collapsible closed columns), the side panel on a phone, the Move button beside a card's chips, planning
rows, the backlog on a phone, and Markdown task lists, images and comment lists."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from apps.projects import services as project_services
from apps.projects.models import Role
from apps.projects.selectors import workflow
from apps.stories import selectors, services
from apps.stories.models import Story
from tests.e2e.conftest import DESKTOP, PHONE, open_page, reload_page

pytestmark = pytest.mark.e2e

LONG_TITLES = (
    "Salesforce incremental load misses records updated during the run",
    "Map Salesforce account owners to the HR employee list for the regional revenue split",
    "Churn features leak future support tickets into training",
)


@pytest.fixture
def team(make_e2e_user):
    """Project DATA: olivia created it (admin, and so product owner), mia is a member."""
    olivia = make_e2e_user("olivia")
    project = project_services.project_create(creator=olivia, key="DATA", name="Data team")
    mia = make_e2e_user("mia")
    project_services.membership_add(project=project, user=mia, role=Role.MEMBER)
    return {"project": project, "olivia": olivia, "mia": mia, "states": {s.name: s for s in workflow(project)}}


def box(locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not shown"
    return found


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def inside_window(page, locator) -> bool:
    found, size = box(locator), page.viewport_size
    return (
        found["x"] >= 0
        and found["y"] >= 0
        and found["x"] + found["width"] <= size["width"]
        and (found["y"] + found["height"] <= size["height"])
    )


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def errors_of(page) -> list[str]:
    found: list[str] = []
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


# --- 1. Backlog: Bottom once the backlog has more than one page -------------------------------------------


def test_bottom_sends_a_story_below_the_stories_not_loaded_yet_and_undo_brings_it_back(page, login, team, monkeypatch):
    monkeypatch.setattr("apps.stories.views.backlog.BACKLOG_PAGE_SIZE", 20)
    for n in range(1, 46):
        services.story_create(project=team["project"], actor=team["olivia"], title=f"Story number {n}")
    errors = errors_of(page)
    login(page, "olivia")
    open_page(page, "/p/DATA/backlog/")
    expect(page.locator("#backlog-list > .backlog-row")).to_have_count(20)
    expect(page.locator("#backlog-list > .backlog-more")).to_have_count(1)

    page.get_by_role("button", name="Move DATA-3 down").click()
    expect(page.locator("#backlog-status")).to_contain_text("Moved DATA-3 below DATA-4")
    page.get_by_role("button", name="Move DATA-1 to the bottom").click()
    status = page.locator("#backlog-status")
    expect(status).to_contain_text("Moved DATA-1 to the bottom")
    expect(page.locator("#row-DATA-1")).to_have_count(0)  # it went below the stories not loaded yet
    order = list(Story.objects.filter(selectors.backlog_filter()).order_by("rank").values_list("key", flat=True))
    assert order[-1] == "DATA-1" and order[:3] == ["DATA-2", "DATA-4", "DATA-3"]

    # Undo speaks of this move, not the one before it.
    status.get_by_role("button", name="Undo").click()
    expect(status).to_contain_text("Undone: DATA-1 is back where it was.")
    expect(page.locator("#backlog-list > .backlog-row").first).to_have_id("row-DATA-1")
    order = list(Story.objects.filter(selectors.backlog_filter()).order_by("rank").values_list("key", flat=True))
    assert order[:4] == ["DATA-1", "DATA-2", "DATA-4", "DATA-3"]
    assert errors == []


# --- 22. The board fits 1440x900 -------------------------------------------------------------------------


@pytest.fixture
def full_board(team):
    """A running sprint with cards in every column, more in Ready than the window holds, for olivia and mia."""
    project, states, people = team["project"], team["states"], (team["olivia"], team["mia"])
    sprint = services.sprint_create(project=project, actor=team["olivia"], name="Sprint 1")
    n = 0
    for state in states.values():
        for _ in range(8 if state.name == "Ready" else 1):
            n += 1
            services.story_create(
                project=project, actor=team["olivia"], title=LONG_TITLES[n % 3], points=3, sprint=sprint,
                state=state, assignee=people[n % 2],
            )  # fmt: skip
    services.sprint_start(sprint=sprint, actor=team["olivia"])
    return team


def test_the_board_fits_the_window_and_scrolls_inside_with_its_heads_in_sight(page, login, full_board):
    login(page, "mia")
    open_page(page, "/p/DATA/board/?lanes=assignee")
    grid = page.locator(".board-grid")
    assert page_width(page) <= 1440, "the page scrolls sideways"
    grid_box = box(grid)
    assert grid_box["y"] + grid_box["height"] <= 900, "the board runs below the window"
    assert grid.evaluate("g => g.scrollWidth > g.clientWidth && g.scrollHeight > g.clientHeight")

    # Scrolled to its far corner, the last column's head is in sight at the top of the board...
    grid.evaluate("g => g.scrollTo(g.scrollWidth, g.scrollHeight)")
    last_head = page.locator(".column-head").last
    head_box, grid_box = box(last_head), box(grid)
    assert abs(head_box["y"] - grid_box["y"]) <= 2, "the column heads scrolled away"
    assert head_box["x"] + head_box["width"] <= grid_box["x"] + grid_box["width"] + 1
    # ...and so is the name of the swimlane being looked at, at the board's left, under the column heads.
    lane = page.locator(".lane-head").last
    lane_box = box(lane)
    assert abs(lane_box["x"] - grid_box["x"]) <= 2, "the swimlane's head scrolled sideways out of sight"
    assert lane_box["y"] >= head_box["y"] + head_box["height"] - 1


def test_closed_columns_collapse_and_stay_collapsed_after_a_reload(page, login, full_board, snapshot):
    done = full_board["states"]["Done"]
    login(page, "mia")
    open_page(page, "/p/DATA/board/")
    head = page.locator(f"#column-{done.pk}")
    toggle = page.get_by_role("button", name="Collapse the Done column")
    assert page.locator(".column-toggle").count() == 2  # Done and Won't do; the open columns have none
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    expect(head).to_have_class(re.compile(r"\bis-collapsed\b"))
    expect(page.get_by_role("button", name="Expand the Done column")).to_have_attribute("aria-expanded", "false")
    assert box(head)["width"] < 60
    expect(page.locator(f'ul.column-cell[data-state="{done.pk}"] .story-card').first).to_be_hidden()
    snapshot("done-collapsed")
    reload_page(page)
    expect(page.get_by_role("button", name="Expand the Done column")).to_be_visible()
    assert box(page.locator(f"#column-{done.pk}"))["width"] < 60
    page.get_by_role("button", name="Expand the Done column").click()
    expect(page.locator(f'ul.column-cell[data-state="{done.pk}"] .story-card').first).to_be_visible()


# --- 4. The board on a phone -----------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [PHONE], ids=["390x844"])
def test_on_a_phone_the_board_stays_in_the_screen_and_its_side_panel_fits(page, login, full_board, snapshot):
    login(page, "mia")
    open_page(page, "/p/DATA/board/")
    assert page_width(page) <= 390, "the page scrolls sideways"
    assert inside_window(page, page.get_by_role("navigation", name="Project DATA").get_by_role("link", name="Board"))
    page.locator(".story-card .card-open").first.click()
    panel = page.locator("#board-panel[data-ready]")
    expect(panel).to_be_visible()
    assert inside_window(page, panel)
    assert panel.evaluate("p => p.scrollWidth <= p.clientWidth"), "the panel scrolls sideways"
    close = page.get_by_role("button", name="Close the story panel")
    delete = panel.get_by_role("button", name="Delete")
    assert inside_window(page, close) and inside_window(page, delete)
    snapshot("panel")
    close.click()
    expect(page.locator("#board-panel")).to_be_hidden()
    assert page_width(page) <= 390


# --- 23. "Move…" beside the card's chips -----------------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440x900", "390x844"])
def test_a_focused_card_shows_its_move_button_without_covering_its_chips(page, login, full_board, viewport):
    login(page, "mia")
    open_page(page, "/p/DATA/board/")
    card = page.locator(".story-card").first
    card.focus()
    move = card.get_by_role("button", name="Move")
    expect(move).to_be_visible()
    for chip in (card.locator(".kind"), card.locator(".points"), card.locator(".card-open")):
        assert not overlap(box(move), box(chip)), f"Move… covers {chip}"


# --- 21 and 25. Planning rows; the backlog on a phone ------------------------------------------------------


@pytest.fixture
def planned(team):
    """A backlog of long titles with labels and an epic, beside a planned sprint holding one of them."""
    project, olivia = team["project"], team["olivia"]
    label = services.label_save(project=project, name="dbt", color="#ff694b")
    sprint = services.sprint_create(project=project, actor=olivia, name="Sprint 1")
    for n, title in enumerate(LONG_TITLES * 2):
        services.story_create(
            project=project, actor=olivia, title=title, points=3, labels=[label], sprint=sprint if n == 0 else None
        )
    return team


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440x900", "390x844"])
def test_planning_rows_keep_the_checkbox_and_handle_narrow_and_titles_short(page, login, planned, viewport):
    login(page, "olivia")
    open_page(page, "/p/DATA/planning/")
    assert page_width(page) <= viewport["width"], "the page scrolls sideways"
    for row in page.locator(".planning .backlog-row").all():
        assert box(row.locator(".row-select"))["width"] <= 24
        assert box(row.locator(".drag-handle"))["width"] <= 24
        title = row.locator(".row-title a")
        lines = title.evaluate(
            "a => Math.round(a.getBoundingClientRect().height / parseFloat(getComputedStyle(a).lineHeight))"
        )
        assert lines <= 3, f"{title.text_content()} wraps onto {lines} lines"
        assert box(row)["height"] <= 150


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440x900", "390x844"])
def test_on_a_phone_the_backlog_filters_fold_and_rows_stay_compact(page, login, planned, viewport):
    login(page, "olivia")
    open_page(page, "/p/DATA/backlog/")
    assert page_width(page) <= viewport["width"], "the page scrolls sideways"
    text_filter = page.get_by_role("form", name="Filter the backlog").get_by_label("Text")
    rows = page.locator("#backlog-list > .backlog-row")
    if viewport == PHONE:
        expect(text_filter).to_be_hidden()
        page.locator(".filters-summary").click()
        expect(text_filter).to_be_visible()
        for row in rows.all():
            assert box(row)["height"] <= 150, "a backlog row stacks up on a phone"
    else:
        expect(text_filter).to_be_visible()
        expect(page.locator(".filters-summary")).to_be_hidden()
        for row in rows.all():
            assert box(row)["height"] <= 80
    # The label chip's text is darkened from its colour until it reads on white.
    chip = rows.first.locator(".label-chip")
    assert chip.evaluate("c => getComputedStyle(c).color") == "rgb(194, 80, 57)"


# --- 24. Markdown ------------------------------------------------------------------------------------------

DESCRIPTION = """Steps:

- [x] load the accounts
- [ ] map the owners
- plain item

![](https://example.com/chart.png) <img src="https://example.com/pixel.png">
"""


def test_markdown_task_lists_are_checkboxes_images_have_alt_and_comment_lists_have_no_rules(page, login, team):
    story = services.story_create(
        project=team["project"], actor=team["olivia"], title="Owners", description=DESCRIPTION
    )
    services.comment_add(story=story, author=team["olivia"], body="Checked:\n\n- the export\n- the join")
    login(page, "mia")
    open_page(page, f"/p/DATA/stories/{story.key}/")
    preview = page.locator(f"#preview-{story.key}")
    done, todo = (
        preview.get_by_role("checkbox", name="load the accounts"),
        preview.get_by_role("checkbox", name="map the owners"),
    )
    expect(done).to_be_checked()
    expect(done).to_be_disabled()
    expect(todo).not_to_be_checked()
    expect(preview).not_to_contain_text("[ ]")
    expect(preview).not_to_contain_text("[x]")
    for image in preview.locator("img").all():
        assert image.get_attribute("alt") is not None
    for item in page.locator(".comments .markdown-body li").all():
        assert item.evaluate("li => getComputedStyle(li).borderBottomStyle") == "none"
    assert page.locator(".comments > li").first.evaluate("li => getComputedStyle(li).borderBottomStyle") == "solid"
