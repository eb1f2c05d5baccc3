from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.projects.models import Project, WorkflowState
from tests.e2e.conftest import click_through, open_page

pytestmark = pytest.mark.e2e


def test_create_a_project_edit_its_workflow_and_log_out(page, login, snapshot):
    login(page, "dana")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()

    click_through(page, page.get_by_role("link", name="New project"))
    page.get_by_label("Key").fill("DATA")
    page.get_by_label("Name").fill("Data team")
    page.get_by_label("Time zone").fill("Europe/Amsterdam")  # a searchable field: the zones are its suggestions
    click_through(page, page.get_by_role("button", name="Create project"))
    assert page.url.endswith("/p/DATA/")
    expect(page.get_by_role("heading", name="Data team DATA")).to_be_visible()
    assert Project.objects.get(key="DATA").timezone == "Europe/Amsterdam"

    click_through(page, page.get_by_role("navigation", name="Project DATA").get_by_role("link", name="Settings"))
    assert page.url.endswith("/p/DATA/settings/")
    workflow = page.locator("#workflow")
    page.locator("#add-state-name").fill("Peer review")
    page.locator("#add-state-category").select_option("waiting")
    workflow.get_by_role("button", name="Add state").click()
    # htmx swaps the list in place: the page does not reload.
    expect(page.locator("#workflow .state-row input[value='Peer review']")).to_be_visible()
    assert page.url.endswith("/p/DATA/settings/")

    row = page.locator(".state-row").filter(has=page.locator("input[value='Peer review']"))
    row.get_by_label("Name").fill("Code review")
    row.get_by_role("button", name="Save Peer review").click()
    expect(page.get_by_role("button", name="Save Code review")).to_be_visible()
    expect(page.locator("#workflow-saved")).to_have_text("Code review is saved, without a WIP limit.")
    names = page.locator("#workflow .state-row input[name=name]")
    assert [names.nth(i).input_value() for i in range(names.count())][-3:] == ["Code review", "Done", "Won't do"]
    state = WorkflowState.objects.get(project__key="DATA", name="Code review")
    assert state.category == "waiting"

    # A duplicate name is refused beside the row, and nothing changes.
    row = page.locator(".state-row").filter(has=page.locator("input[value='Code review']"))
    row.get_by_label("Name").fill("Done")
    row.get_by_role("button", name="Save Code review").click()
    expect(page.get_by_role("alert")).to_contain_text("already a state named")
    assert WorkflowState.objects.filter(project__key="DATA", name="Code review").exists()
    snapshot("workflow-error")

    click_through(page, page.get_by_role("button", name="Log out"))
    assert "/login/" in page.url
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    open_page(page, "/")
    assert "/login/" in page.url
