"""Sprint pages in Chromium: start with the commitment shown, close carrying unfinished stories."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.projects import services as project_services
from apps.projects.models import Role
from apps.projects.selectors import workflow
from apps.stories import services
from apps.stories.models import Sprint, SprintStatus, Story
from tests.e2e.conftest import click_through, open_page, reload_page

pytestmark = pytest.mark.e2e


def test_start_a_sprint_then_close_it_carrying_unfinished_stories_to_the_next(page, login, make_e2e_user, snapshot):
    admin = make_e2e_user("ada")
    project = project_services.project_create(creator=admin, key="DATA", name="Data team")
    project_services.membership_add(project=project, user=make_e2e_user("paula"), role=Role.PRODUCT_OWNER)
    states = {state.name: state for state in workflow(project)}
    sprint = services.sprint_create(project=project, actor=admin, name="Sprint 1", goal="Churn model")
    for title, points in (("Load CRM", 3), ("Train model", 5), ("Publish dashboard", 2)):
        services.story_create(
            project=project, actor=admin, title=title, points=points, sprint=sprint, state=states["Ready"]
        )

    login(page, "paula")
    open_page(page, "/p/DATA/sprints/")
    click_through(page, page.get_by_role("link", name="Sprint 1"))
    expect(page.get_by_text("Starting records this commitment: 3 stories, 10 points")).to_be_visible()
    click_through(page, page.get_by_role("button", name="Start Sprint 1"))
    expect(page.get_by_text("Sprint 1 has started with a commitment of 3 stories, 10 points.")).to_be_visible()

    services.story_change_state(story=Story.objects.get(key="DATA-1"), state=states["Done"], actor=admin)
    reload_page(page)
    page.get_by_role("link", name="Close Sprint 1…").click()
    dialog = page.get_by_role("dialog", name="Close Sprint 1")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Train model")
    expect(dialog).to_contain_text("Publish dashboard")
    expect(dialog).not_to_contain_text("Load CRM")
    dialog.get_by_label("To the next sprint").check()
    snapshot("close-dialog")
    click_through(page, dialog.get_by_role("button", name="Close Sprint 1"))

    expect(page.get_by_text("Sprint 1 is closed. 2 unfinished stories moved to Sprint 2.")).to_be_visible()
    expect(page.get_by_text("this page is read-only")).to_be_visible()
    nxt = Sprint.objects.get(project=project, status=SprintStatus.PLANNED)
    assert nxt.name == "Sprint 2"
    assert set(Story.objects.filter(sprint=nxt).values_list("key", flat=True)) == {"DATA-2", "DATA-3"}
    assert Sprint.objects.get(pk=sprint.pk).status == SprintStatus.CLOSED


def test_delete_a_planned_sprint_and_its_stories_go_back_to_the_backlog(page, login, make_e2e_user):
    admin = make_e2e_user("ada")
    project = project_services.project_create(creator=admin, key="DATA", name="Data team")
    project_services.membership_add(project=project, user=make_e2e_user("paula"), role=Role.PRODUCT_OWNER)
    sprint = services.sprint_create(project=project, actor=admin, name="Sprint 1")
    story = services.story_create(project=project, actor=admin, title="Load CRM", points=3, sprint=sprint)

    login(page, "paula")
    open_page(page, f"/p/DATA/sprints/{sprint.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    click_through(page, page.get_by_role("button", name="Delete Sprint 1"))
    expect(page.get_by_text("Sprint 1 is deleted; its stories are back in the backlog.")).to_be_visible()
    story.refresh_from_db()
    assert story.sprint is None and story.events.order_by("-seq").first().kind == "sprint"
    assert not Sprint.objects.filter(pk=sprint.pk).exists()


def test_a_workflow_state_holding_only_deleted_stories_is_emptied_and_deleted(page, login, make_e2e_user):
    admin = make_e2e_user("ada")
    project = project_services.project_create(creator=admin, key="DATA", name="Data team")
    states = {state.name: state for state in workflow(project)}
    story = services.story_create(project=project, actor=admin, title="Old idea", state=states["Waiting"])
    services.story_delete(story=story, actor=admin)

    login(page, "ada")
    open_page(page, "/p/DATA/settings/")
    row = page.locator(f"#state-{states['Waiting'].pk}")
    expect(row).to_contain_text("1 story (1 deleted)")
    row.get_by_label("Move its stories to").select_option(label="Backlog")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete Waiting").click()
    expect(page.locator(f"#state-{states['Waiting'].pk}")).to_have_count(0)
    story.refresh_from_db()
    assert story.state_id == states["Backlog"].pk and story.events.order_by("-seq").first().kind == "state"
