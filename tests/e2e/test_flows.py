"""Issue 15's page behaviours in Chromium that had only server-side tests: the login's landing page (item 20), a
story linked to a deliverable from its page and named in its history (items 2 and 7), the sprint start's
guardrails (item 10), a refused action leaving the browser on the page, not the action's URL (item 12), and the
forecast page's plain visit (items 5 and 18)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from apps.deliverables import services as deliverable_services
from apps.deliverables.models import DeliverableKind
from apps.projects import services as project_services
from apps.projects.models import Role
from apps.stories import services
from apps.stories.models import Sprint, SprintStatus, Story
from tests.e2e.conftest import click_through, open_page, reload_page

pytestmark = pytest.mark.e2e


@pytest.fixture
def team(make_e2e_user):
    """Project DATA: olivia created it (admin, and so product owner), mia is a member."""
    olivia = make_e2e_user("olivia")
    project = project_services.project_create(creator=olivia, key="DATA", name="Data team")
    mia = make_e2e_user("mia")
    mia.first_name, mia.last_name = "Mia", "Moreau"
    mia.save()
    project_services.membership_add(project=project, user=mia, role=Role.MEMBER)
    return {"project": project, "olivia": olivia, "mia": mia}


def test_a_person_of_one_project_lands_on_its_board_after_login(page, login, team):
    login(page, "mia")
    assert page.url.endswith("/p/DATA/board/"), page.url
    expect(page.get_by_role("navigation", name="Project DATA").get_by_role("link", name="Board")).to_be_visible()
    expect(page.locator("header")).to_contain_text("Mia Moreau")  # named in full, not by username


def test_a_story_is_linked_to_a_deliverable_on_its_page_and_its_history_names_it(page, login, team):
    deliverable = deliverable_services.deliverable_create(
        project=team["project"], actor=team["olivia"], name="Churn dashboard", kind=DeliverableKind.DASHBOARD
    )
    story = services.story_create(project=team["project"], actor=team["olivia"], title="Build fct_churn", points=5)
    login(page, "mia")
    open_page(page, f"/p/DATA/stories/{story.key}/")
    expect(page.get_by_label("Points:", exact=True)).to_have_value("5")  # 5, not 5.0
    assert page.get_by_label("Points:", exact=True).get_attribute("step") == "0.1"
    assignees = page.get_by_label("Assignee:", exact=True).locator("option").all_text_contents()
    assert "Mia Moreau" in assignees
    page.get_by_label("Deliverable:", exact=True).select_option(label="Churn dashboard")
    click_through(page, page.get_by_role("button", name=f"Save {story.key}"))
    expect(page.locator(".timeline")).to_contain_text("changed the deliverable to “Churn dashboard”")
    expect(page.locator(".timeline")).not_to_contain_text(f"“{deliverable.pk}”")
    assert Story.objects.get(pk=story.pk).deliverable == deliverable
    open_page(page, f"/p/DATA/deliverables/{deliverable.pk}/")
    expect(page.locator("#stories")).to_contain_text("Build fct_churn")


def test_the_sprint_start_moves_the_dates_to_today_and_warns_of_an_empty_sprint(page, login, team):
    project, olivia = team["project"], team["olivia"]
    today = services.project_today(project)
    later = services.sprint_create(
        project=project, actor=olivia, name="Sprint 9", start=today + timedelta(days=6), end=today + timedelta(days=19)
    )
    empty = services.sprint_create(project=project, actor=olivia, name="Sprint 10")
    services.story_create(project=project, actor=olivia, title="Load CRM", points=3, sprint=later)
    login(page, "olivia")
    open_page(page, f"/p/DATA/sprints/{empty.pk}/")
    expect(page.get_by_role("note")).to_contain_text("Sprint 10 has no stories: it would start empty")

    open_page(page, f"/p/DATA/sprints/{later.pk}/")
    expect(page.get_by_role("note")).to_have_count(0)
    expect(page.get_by_text("starting today, it runs:")).to_be_visible()
    start = page.get_by_role("region", name="Start the sprint")
    expect(start.get_by_label("Start", exact=True)).to_have_value(f"{today:%Y-%m-%d}")
    expect(start.get_by_label("End", exact=True)).to_have_value(f"{today + timedelta(days=13):%Y-%m-%d}")
    click_through(page, page.get_by_role("button", name="Start Sprint 9"))
    expect(page.get_by_text("Sprint 9 has started with a commitment of 1 story, 3 points.")).to_be_visible()
    started = Sprint.objects.get(pk=later.pk)
    assert (started.status, started.start) == (SprintStatus.ACTIVE, today)


def test_a_refused_publish_leaves_the_browser_on_the_deliverable_and_a_reload_sends_nothing(page, login, team):
    deliverable = deliverable_services.deliverable_create(
        project=team["project"], actor=team["olivia"], name="Churn dashboard", kind=DeliverableKind.DASHBOARD
    )
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    login(page, "mia")
    open_page(page, f"/p/DATA/deliverables/{deliverable.pk}/")
    posts.clear()
    click_through(page, page.get_by_role("button", name="Publish"))
    expect(page.locator(".message-error")).to_contain_text("is only proposed: start its development first")
    assert page.url.split("#")[0].endswith(f"/p/DATA/deliverables/{deliverable.pk}/"), page.url
    assert len(posts) == 1 and posts[0].endswith("/publish/")
    reload_page(page)
    assert len(posts) == 1, "the reload sent the refused action again"
    expect(page.locator("#blockers")).to_contain_text("It is only proposed")


def test_the_forecast_page_asks_plainly_and_folds_the_seed(page, login, team):
    login(page, "mia")
    open_page(page, "/p/DATA/reports/forecast/")
    asked = page.get_by_role("form", name="When will N stories be done?")
    expect(asked.get_by_label("Stories")).to_have_value("")  # nothing asked yet: no QueryDict.items leaking in
    expect(asked.get_by_label("Seed")).to_be_hidden()  # folded under Advanced
    asked.locator("details.advanced summary").click()
    expect(asked.get_by_label("Seed")).to_be_visible()
    open_page(page, "/p/DATA/reports/flow/?from=2024-03-31&to=2024-03-01")
    expect(page.locator("body")).to_contain_text("The start date (2024-03-31) is after the end date (2024-03-01)")
    expect(page.locator("body")).not_to_contain_text("from is after to")


def test_planning_messages_name_the_sprint_a_story_goes_into_and_the_backlog_it_comes_back_to(page, login, team):
    project, olivia = team["project"], team["olivia"]
    sprint = services.sprint_create(project=project, actor=olivia, name="Sprint 8")
    for title in ("Load CRM", "Model churn"):
        services.story_create(project=project, actor=olivia, title=title, points=3)
    login(page, "olivia")
    open_page(page, "/p/DATA/planning/")
    status = page.locator("#backlog-status")
    page.get_by_role("button", name="Move DATA-2 into Sprint 8").click()
    expect(status).to_contain_text("Moved DATA-2 to the bottom of Sprint 8.")
    expect(page.locator("#sprint-list #row-DATA-2")).to_have_count(1)
    page.get_by_role("button", name="Move DATA-2 back to the top of the backlog").click()
    expect(status).to_contain_text("Moved DATA-2 to the top of the backlog.")
    expect(page.locator("#backlog-list > .backlog-row").first).to_have_id("row-DATA-2")
    assert Story.objects.get(key="DATA-2").sprint is None and Sprint.objects.get(pk=sprint.pk).stories.count() == 0


def test_the_owner_merges_a_request_into_an_accepted_one_from_a_menu_and_the_story_names_both(
    page, login, team, make_e2e_user
):
    from apps.intake import services as intake_services

    project = team["project"]
    sam = make_e2e_user("sam")
    project_services.membership_add(project=project, user=sam, role=Role.STAKEHOLDER)
    first = intake_services.request_submit(project=project, requester=sam, title="Churn dashboard", detail="For Q3")
    login(page, "olivia")
    open_page(page, "/p/DATA/requests/")
    click_through(page, page.get_by_role("button", name=f"Accept request #{first.pk}"))
    second = intake_services.request_submit(project=project, requester=sam, title="Churn by region", detail="Same")
    intake_services.request_submit(project=project, requester=sam, title="Revenue export", detail="Other")
    reload_page(page)
    key = Story.objects.get().key
    # A search over the menu: what is typed keeps the matching requests and stories, and chooses the first.
    into = page.locator(f"#merge-{second.pk}-into")
    page.get_by_role("searchbox", name=f"Search the requests and stories to merge #{second.pk} into").fill("churn dash")
    expect(into).to_have_value(str(first.pk))
    shown = into.evaluate("s => Array.from(s.options).filter(o => o.value && !o.hidden).map(o => o.textContent)")
    assert shown == [f"{key} (story of #{first.pk}) Churn dashboard"]
    click_through(page, page.get_by_role("button", name=f"Merge request #{second.pk}"))
    assert page.url.split("?")[0].endswith("/p/DATA/requests/"), page.url  # back on the queue, not the action
    open_page(page, f"/p/DATA/stories/{key}/")
    expect(page.locator("body")).to_contain_text(
        f"#{first.pk} “Churn dashboard”, #{second.pk} “Churn by region” (merged)"
    )
