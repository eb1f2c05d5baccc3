from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from apps.deliverables.models import Deliverable
from apps.projects import services as project_services
from apps.projects.models import Role
from apps.stories import services as story_services
from tests.e2e.conftest import click_through, open_page, reload_page

pytestmark = pytest.mark.e2e


def test_create_a_deliverable_see_publication_refused_tick_the_checklist_and_publish(
    page, login, make_e2e_user, snapshot
):
    login(page, "dana")
    dana = get_user_model().objects.get(username="dana")
    project = project_services.project_create(creator=dana, key="DATA", name="Data team")
    sofia = make_e2e_user("sofia")
    project_services.membership_add(project=project, user=sofia, role=Role.STAKEHOLDER)

    open_page(page, "/p/DATA/")
    click_through(page, page.get_by_role("navigation", name="Project DATA").get_by_role("link", name="Deliverables"))
    expect(page.get_by_role("heading", name="Deliverables")).to_be_visible()
    click_through(page, page.get_by_role("link", name="New deliverable"))
    page.get_by_label("Name").fill("Revenue dashboard")
    page.get_by_label("Kind").select_option("dashboard")
    page.get_by_label("Status").select_option("in_development")
    page.get_by_label("sofia").check()
    page.get_by_label("Consumer groups").fill("Finance, Leadership")
    click_through(page, page.get_by_role("button", name="Create deliverable"))
    expect(page.get_by_role("heading", name="Revenue dashboard")).to_be_visible()
    deliverable = Deliverable.objects.get()
    story = story_services.story_create(project=project, actor=dana, title="Build fct_mrr", deliverable=deliverable)

    reload_page(page)
    click_through(page, page.get_by_role("button", name="Publish"))
    alert = page.locator(".message-error")
    expect(alert).to_contain_text("cannot be published yet")
    blockers = page.locator("#blockers")
    for item in deliverable.checklist.all():
        expect(blockers).to_contain_text(f"“{item.text}” is not ticked")
    expect(blockers).to_contain_text(f"{story.key} “Build fct_mrr” is not finished")
    snapshot("refused")

    done = project.states.get(name="Done")
    story_services.story_change_state(story=story, state=done, actor=dana)
    for item in deliverable.checklist.all():
        click_through(page, page.get_by_role("button", name=f"Tick “{item.text}”"))
        expect(page.locator(f"#item-{item.pk}")).to_contain_text("Ticked by dana")
    click_through(page, page.get_by_role("button", name="Publish"))
    expect(page.get_by_text("Revenue dashboard is published.")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("moved it from In development to Published")
    assert Deliverable.objects.get().status == "published"

    click_through(page, page.get_by_role("link", name="Deliverables").first)
    row = page.get_by_role("row").filter(has_text="Revenue dashboard")
    expect(row).to_contain_text("Published")
    expect(row).to_contain_text("4/4")


def test_a_stakeholder_signs_off_the_item_assigned_to_them(page, login, make_e2e_user):
    owner = make_e2e_user("dana")
    project = project_services.project_create(creator=owner, key="DATA", name="Data team")
    login(page, "sofia")
    sofia = get_user_model().objects.get(username="sofia")
    project_services.membership_add(project=project, user=sofia, role=Role.STAKEHOLDER)
    from apps.deliverables import services

    deliverable = services.deliverable_create(project=project, actor=owner, name="Churn list", kind="dashboard")
    sign_off = deliverable.checklist.get(text="Stakeholder sign-off")
    services.checklist_item_update(item=sign_off, actor=owner, assignee=sofia)

    open_page(page, f"/p/DATA/deliverables/{deliverable.pk}/")
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)
    expect(page.get_by_role("button", name="Tick “Refresh schedule set”")).to_have_count(0)
    page.get_by_label("Evidence link for “Stakeholder sign-off”").fill("https://docs.example.com/sign-off")
    click_through(page, page.get_by_role("button", name="Tick “Stakeholder sign-off”"))
    expect(page.locator(f"#item-{sign_off.pk}")).to_contain_text("Ticked by sofia")
    expect(page.locator(f"#item-{sign_off.pk}").get_by_role("link", name="Evidence")).to_have_attribute(
        "href", "https://docs.example.com/sign-off"
    )
