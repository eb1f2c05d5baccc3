from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import open_page, wait_ready

pytestmark = pytest.mark.e2e


def test_slash_focuses_the_search_box_and_enter_shows_grouped_results(page, login, django_user_model):
    from apps.projects import services as project_services
    from apps.stories import services

    login(page, "dana")
    dana = django_user_model.objects.get(username="dana")
    project = project_services.project_create(creator=dana, key="DATA", name="Data team")
    services.story_create(project=project, actor=dana, title="Revenue dashboard for finance")
    services.epic_save(project=project, name="Revenue reporting", description="Every dashboard of revenue")
    open_page(page, "/p/DATA/")

    page.keyboard.press("/")
    box = page.get_by_role("searchbox", name="Search DATA")
    expect(box).to_be_focused()
    box.fill("revenue dashboard")
    with page.expect_navigation():
        box.press("Enter")
    wait_ready(page)
    assert "/search/?q=revenue+dashboard&project=DATA" in page.url
    stories = page.get_by_role("region", name="Stories 1")
    expect(stories.get_by_role("link", name="DATA-1 Revenue dashboard for finance")).to_be_visible()
    expect(stories.locator("mark").first).to_have_text("Revenue")
    expect(page.get_by_role("region", name="Epics 1")).to_contain_text("Revenue reporting")

    # In a field, "/" is typed, not a shortcut
    field = page.get_by_label("Search for")
    field.fill("")
    field.press("/")
    expect(field).to_have_value("/")
