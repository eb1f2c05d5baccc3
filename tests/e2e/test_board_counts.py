"""The board's column counts in Chromium (issue 15 item 6): each column head counts the cards the board shows in
it (the sprint's), never the project's stories in that state; the WIP a limit counts (project-wide) is shown
beside it, labelled, and only where a limit is set. A move changes both."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.projects import services as project_services
from apps.projects.models import Role
from apps.projects.selectors import workflow
from apps.stories import services
from tests.e2e.conftest import open_page

pytestmark = pytest.mark.e2e

# Cards of the running sprint, and stories of the same states outside it, per state.
IN_SPRINT = {"Ready": 2, "In progress": 1, "Done": 1}
OUTSIDE = {"Backlog": 3, "Ready": 2, "In progress": 2, "Done": 4}


@pytest.fixture
def sprint_board(login, page, make_e2e_user):
    owner = make_e2e_user("olga")
    project = project_services.project_create(creator=owner, key="DATA", name="Data team")
    project_services.membership_add(project=project, user=make_e2e_user("mia"), role=Role.MEMBER)
    states = {state.name: state for state in workflow(project)}
    project_services.state_update(state=states["In progress"], name="In progress", category="active", wip_limit=4)
    sprint = services.sprint_create(project=project, actor=owner, name="Sprint 1")
    for name, n in IN_SPRINT.items():
        for i in range(n):
            services.story_create(project=project, actor=owner, title=f"{name} {i}", sprint=sprint, state=states[name])
    for name, n in OUTSIDE.items():
        for i in range(n):
            services.story_create(project=project, actor=owner, title=f"Elsewhere {name} {i}", state=states[name])
    services.sprint_start(sprint=sprint, actor=owner)
    login(page, "mia")
    open_page(page, "/p/DATA/board/")
    return states


def head(page, state):
    return page.locator(f"#column-{state.pk} .column-count")


def cards(page, state):
    return page.locator(f'ul.column-cell[data-state="{state.pk}"] .story-card')


def test_each_column_counts_its_cards_and_labels_the_wip_its_limit_counts(page, sprint_board):
    states = sprint_board
    for name, state in states.items():
        shown = IN_SPRINT.get(name, 0)
        expect(cards(page, state)).to_have_count(shown)
        expect(head(page, state).locator(".shown-count")).to_have_text(str(shown))
        title = head(page, state).get_attribute("title") or ""
        assert title.startswith(f"{shown} card{'' if shown == 1 else 's'} on this board"), (name, title)
        if name != "In progress":  # no limit: no WIP figure at all, so no project-wide number beside the cards
            expect(head(page, state).locator(".wip-count")).to_have_count(0)
    in_progress = head(page, states["In progress"])
    wip = IN_SPRINT["In progress"] + OUTSIDE["In progress"]
    expect(in_progress.locator(".wip-count")).to_have_text(f"· WIP {wip} / 4")
    assert "1 card on this board; WIP 3 of the limit of 4 across the project" in (
        in_progress.get_attribute("title") or ""
    )
    # What a screen reader hears: the cards, then the WIP, each named.
    assert " ".join(in_progress.text_content().split()) == "1 card on this board · WIP 3 / 4 across the project"


def test_a_move_changes_the_card_counts_and_the_wip_and_past_the_limit_says_so(page, sprint_board):
    states = sprint_board
    for n in range(2):
        card = cards(page, states["Ready"]).first
        card.focus()
        page.keyboard.press("Shift+ArrowRight")
        expect(cards(page, states["In progress"])).to_have_count(2 + n)
    expect(head(page, states["Ready"]).locator(".shown-count")).to_have_text("0")
    in_progress = head(page, states["In progress"])
    expect(in_progress.locator(".shown-count")).to_have_text("3")
    expect(in_progress.locator(".wip-count")).to_have_text("· WIP 5 / 4")
    expect(in_progress).to_contain_text("over the limit")
    expect(page.get_by_role("alert")).to_contain_text("In progress is over its WIP limit: 5 stories for a limit of 4.")
