"""Pages under the Content-Security-Policy in Chromium: the guard every browser test runs with (conftest's
csp_guard) sees a refusal, and the pages the policy is most likely to break — the API docs (Swagger UI),
the admin, the board's label colours and a Markdown image from another host — work without one."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.projects import services as project_services
from apps.projects.selectors import workflow
from apps.stories import services
from tests.e2e.conftest import CSP_VIOLATIONS, open_page

pytestmark = pytest.mark.e2e

INJECT_INLINE_SCRIPT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.__inlineRan = true";
  document.body.append(script);
}"""


def test_the_guard_sees_what_the_policy_refuses(page, login):
    login(page, "mia")
    open_page(page, "/account/")
    page.evaluate(INJECT_INLINE_SCRIPT)
    page.evaluate("() => document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">styled</p>')")
    expect(page.locator("p", has_text="styled")).not_to_have_css("color", "rgb(255, 0, 0)")
    assert page.evaluate("() => window.__inlineRan") is None
    page.wait_for_function("() => true")  # one round trip: the console messages have arrived
    refused = list(CSP_VIOLATIONS)
    CSP_VIOLATIONS.clear()  # seen on purpose: the test itself must not fail on them
    assert any("script" in line for line in refused), refused
    assert any("style" in line for line in refused), refused


def test_the_api_docs_render_under_the_policy(page, login):
    login(page, "mia")
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Sprintboard API")
    expect(page.locator(".opblock-tag").first).to_be_visible()


def test_the_admin_works_under_the_policy(page, make_e2e_user):
    admin = make_e2e_user("root")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("e2e-password")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.goto("/admin/auth/user/")
    page.get_by_role("checkbox", name="Select all objects on this page").check()  # actions.js
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")
    page.goto(f"/admin/auth/user/{admin.pk}/change/")
    expect(page.locator("#id_groups_from")).to_be_attached()  # SelectFilter2 built the two-box widget


def test_label_colours_and_markdown_images_without_inline_styles(page, login, make_e2e_user):
    olivia = make_e2e_user("olivia")
    project = project_services.project_create(creator=olivia, key="DATA", name="Data team")
    states = {state.name: state for state in workflow(project)}
    label = services.label_save(project=project, actor=olivia, name="crm", color="#ff694b")
    sprint = services.sprint_create(project=project, actor=olivia, name="Sprint 1")
    services.story_create(
        project=project,
        actor=olivia,
        title="Load CRM",
        labels=[label],
        sprint=sprint,
        state=states["Ready"],
        description="![Weekly numbers](https://tracker.example/pixel.gif) and ![](/static/css/app.css)",
    )
    services.sprint_start(sprint=sprint, actor=olivia)
    login(page, "olivia")
    open_page(page, "/p/DATA/board/")
    chip = page.locator(".card-labels li").first
    expect(chip).to_have_css("border-top-color", "rgb(255, 105, 75)")  # --label-color, from data-css-vars
    open_page(page, "/p/DATA/stories/DATA-1/")
    description = page.locator(".markdown-body").first
    expect(description).to_contain_text("Weekly numbers and")
    assert description.locator("img").count() == 1  # the site's own image only


def test_an_htmx_swap_does_not_copy_a_style_set_from_script(page, login, make_e2e_user):
    """htmx settles attributes from the old element onto the new one with setAttribute, which the policy
    refuses for style: base.html leaves style out of htmx's attributesToSettle."""
    project_services.project_create(creator=make_e2e_user("dana"), key="DATA", name="Data team")
    login(page, "dana")
    open_page(page, "/p/DATA/settings/")
    page.evaluate(
        "() => document.querySelectorAll('#workflow [id]').forEach((e) => { e.style.outline = '1px solid'; })"
    )
    page.locator("#add-state-name").fill("Peer review")
    page.locator("#workflow").get_by_role("button", name="Add state").click()
    expect(page.locator("#workflow .state-row input[value='Peer review']")).to_be_visible()
    # csp_guard fails the test if the swap tried to set a style attribute
