"""Story links in Chromium: a member links a story on its page; the other story's page and the board show it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.projects import services as project_services
from apps.projects.models import Role
from apps.projects.selectors import workflow
from apps.stories import services
from apps.stories.models import StoryLink
from tests.e2e.conftest import click_through, open_page

pytestmark = pytest.mark.e2e


def test_a_member_links_two_stories_on_the_story_page_and_the_board_shows_the_blocker(login, page, make_e2e_user):
    owner = make_e2e_user("olga")
    project = project_services.project_create(creator=owner, key="DATA", name="Data team")
    project_services.membership_add(project=project, user=make_e2e_user("mia"), role=Role.MEMBER)
    ready = {state.name: state for state in workflow(project)}["Ready"]
    for title in ("Load CRM", "Model churn"):
        services.story_create(project=project, actor=owner, title=title, state=ready)
    login(page, "mia")
    open_page(page, "/p/DATA/stories/DATA-1/")
    links = page.locator(".story-links")
    links.get_by_label("This story").select_option("blocks")
    links.get_by_label("Story key").fill("DATA-2")
    click_through(page, links.get_by_role("button", name="Add link"))
    expect(page.get_by_role("status")).to_contain_text("DATA-1 blocks DATA-2.")
    expect(page.locator(".story-links .link-list")).to_contain_text("blocks DATA-2 Model churn")
    expect(page.locator(".timeline")).to_contain_text("linked DATA-2 (blocks)")
    assert StoryLink.objects.filter(source__key="DATA-1", target__key="DATA-2", kind="blocks").exists()
    open_page(page, "/p/DATA/board/")
    expect(page.locator("#card-DATA-2 .badge.blocked-by")).to_have_text("Blocked by DATA-1")
    expect(page.locator("#card-DATA-1 .badge.blocked-by")).to_have_count(0)
