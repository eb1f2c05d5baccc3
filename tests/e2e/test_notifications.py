"""A mention in one browser shows in the other person's bell without a reload; Watch / Unwatch; the
@mention autocomplete; the story page's comment form, answered in place (added, refused, or not saved)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.projects import services as project_services
from apps.projects.models import Role
from apps.stories import services
from tests.e2e.conftest import click_through, new_page, open_page

pytestmark = pytest.mark.e2e


@pytest.fixture
def story_page(login, page, make_e2e_user, settings):
    """DATA-1, created by the owner "olga"; the member "mia" on its page."""
    settings.NOTIFICATION_POLL_INTERVAL_MS = 1000
    owner = make_e2e_user("olga")
    project = project_services.project_create(creator=owner, key="DATA", name="Data team")
    project_services.membership_add(project=project, user=make_e2e_user("mia"), role=Role.MEMBER)
    services.story_create(project=project, actor=owner, title="Load CRM")
    login(page, "mia")
    open_page(page, "/p/DATA/stories/DATA-1/")
    return project


def test_a_mention_rings_the_other_persons_bell_without_a_reload(page, story_page, browser, live_server, login):
    bell = page.locator("#notification-bell .bell-count")
    expect(bell).to_have_text("0")
    page.evaluate("window.__notReloaded = true")
    other = new_page(browser, live_server.url)
    try:
        login(other, "olga")
        open_page(other, "/p/DATA/stories/DATA-1/")
        other.get_by_role("textbox", name="Comment").fill("@mia can you check the CRM numbers?")
        other.get_by_role("button", name="Add comment").click()  # htmx: the comments section is answered in place
        expect(other.locator(".comments a.mention")).to_have_text("@mia")
        expect(other.locator(".story-comments .story-notice")).to_have_text("Your comment is added.")
        expect(other.get_by_role("textbox", name="Comment")).to_have_value("")
    finally:
        other.context.close()
    expect(bell).to_have_text("1", timeout=5_000)
    assert page.evaluate("window.__notReloaded") is True

    click_through(page, page.locator("#notification-bell"))
    expect(page.locator(".notification-group h2")).to_have_text("DATA-1 Load CRM")
    click_through(page, page.get_by_role("link", name="olga mentioned you in the comment of DATA-1 Load CRM"))
    assert page.url.endswith("/p/DATA/stories/DATA-1/")
    expect(page.locator("#notification-bell .bell-count")).to_have_text("0")


def test_watch_and_unwatch_with_the_count(page, story_page):
    button = page.locator(".watch-button")
    expect(button).to_have_text("Watch 1")
    button.click()
    expect(page.locator(".watch-button")).to_have_text("Unwatch 2")
    page.locator(".watch-button").click()
    expect(page.locator(".watch-button")).to_have_text("Watch 1")


def test_the_editor_offers_members_after_an_at(page, story_page):
    box = page.get_by_role("textbox", name="Comment")
    box.click()
    box.press_sequentially("thanks @ol")
    expect(page.locator(".mention-menu li")).to_have_text(["olga"])
    box.press("Enter")
    expect(box).to_have_value("thanks @olga ")


def test_a_refused_comment_shows_its_reason_in_place_and_the_page_stays(page, story_page):
    """The comment form posts with htmx; a refused comment (only spaces: the browser's `required` lets it through,
    the server does not) answers 400 with the section and its error, which the page shows (data-swap-errors)."""
    page.evaluate("window.__notReloaded = true")
    page.get_by_role("textbox", name="Comment").fill("   ")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator(".story-comments .errorlist")).to_contain_text("This field is required.")
    expect(page.get_by_role("textbox", name="Comment")).to_be_focused()  # the field to correct
    page.get_by_role("textbox", name="Comment").fill("Checked against the warehouse.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator(".story-comments .comments .markdown-body")).to_have_text("Checked against the warehouse.")
    expect(page.locator(".story-comments .errorlist")).to_have_count(0)
    expect(page.locator(".story-comments .story-notice")).to_be_focused()  # "Your comment is added." read out
    assert page.evaluate("window.__notReloaded") is True


def test_a_comment_the_server_refuses_without_a_section_says_so_and_keeps_the_text(page, story_page):
    """Removed from the project while the page is open: the post answers 404 (no section to show). The form says
    it was not saved, and the text typed is still there."""
    membership = story_page.memberships.get(user__username="mia")
    page.get_by_role("textbox", name="Comment").fill("Checked against the warehouse.")
    project_services.membership_remove(membership=membership)
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator(".story-comments .request-error")).to_have_text(
        "Not saved: the server answered 404. Reload the page and try again."
    )
    expect(page.get_by_role("textbox", name="Comment")).to_have_value("Checked against the warehouse.")
    expect(page.locator(".story-comments .comments .markdown-body")).to_have_count(0)
