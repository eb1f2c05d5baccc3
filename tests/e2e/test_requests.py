from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from apps.projects import services as project_services
from apps.projects.models import Role
from apps.stories.models import Story
from tests.e2e.conftest import click_through, open_page

pytestmark = pytest.mark.e2e


def test_a_stakeholders_request_reaches_the_triage_queue_and_once_accepted_the_backlog(
    page, login, make_e2e_user, snapshot
):
    owner = make_e2e_user("olivia")
    stakeholder = make_e2e_user("sam")
    project = project_services.project_create(creator=owner, key="DATA", name="Data team")
    project_services.membership_add(project=project, user=stakeholder, role=Role.STAKEHOLDER)

    login(page, "sam")
    open_page(page, "/p/DATA/requests/")
    page.get_by_label("Title").fill("Churn by region for the Q3 review")
    page.get_by_label("Detail").fill("Marketing needs it by September")
    expect(page.get_by_label("Channel", exact=True)).to_have_count(0)  # a stakeholder asks here: the web channel
    click_through(page, page.get_by_role("button", name="Submit request"))
    expect(page.get_by_role("status")).to_contain_text("is in the triage queue")
    click_through(page, page.get_by_role("link", name="My requests"))
    expect(page.locator(".request-item")).to_contain_text("Waiting for the product owner")
    click_through(page, page.get_by_role("button", name="Log out"))

    login(page, "olivia")
    open_page(page, "/p/DATA/requests/")
    queue = page.locator("#queue")
    expect(queue).to_contain_text("Churn by region for the Q3 review")
    expect(queue).to_contain_text("sam · Web")
    # The queue comes first for the product owner; recording an ask from elsewhere is folded below it.
    assert page.locator("#queue").bounding_box()["y"] < page.locator(".ask-fold").bounding_box()["y"]
    expect(page.get_by_label("Title")).not_to_be_visible()
    snapshot("triage")
    click_through(page, queue.get_by_role("button", name="Accept request #"))
    expect(page.get_by_role("status")).to_contain_text("is now DATA-1")
    click_through(page, page.get_by_role("navigation", name="Project DATA").get_by_role("link", name="Backlog"))
    expect(page.locator("#backlog-list > .backlog-row").first).to_contain_text("Churn by region for the Q3 review")
    assert Story.objects.get().requests.get().requester == get_user_model().objects.get(username="sam")
    click_through(page, page.get_by_role("button", name="Log out"))
    login(page, "sam")
    open_page(page, "/p/DATA/requests/mine/")
    expect(page.locator(".request-item")).to_contain_text(
        "Accepted as DATA-1, in the backlog: not planned into a sprint yet"
    )
