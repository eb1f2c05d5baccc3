"""The pages the other roles use, in Chromium at 1440x900 and 390x844 (issue 15, Accessibility): what an admin
and a stakeholder of the demo project see on the main pages, and the pages test_pages.py does not open
(project list and home, sprints, deliverables, settings, requests of one's own, notifications, account, the
metrics guide). axe-core finds no critical or serious violation, no page scrolls sideways, and a screenshot of
each lands in test-results/."""

from __future__ import annotations

import pytest

from apps.deliverables.models import Deliverable
from apps.stories.models import Sprint, SprintStatus, Story
from apps.web.demo import DEMO_PASSWORD
from tests.e2e.conftest import DESKTOP, PHONE, RESULTS, SCREENSHOT_TIMEOUT_MS, log_in, new_page, open_page
from tests.e2e.test_pages import AUDIT, axe_source

pytestmark = pytest.mark.e2e


def pages_by_role(project) -> list[tuple[str, str, str]]:
    """(name, who looks, URL)."""
    sprint = Sprint.objects.filter(project=project, status=SprintStatus.CLOSED).order_by("-closed_at").first()
    active = Sprint.objects.filter(project=project, status=SprintStatus.ACTIVE).first() or sprint
    story = Story.objects.filter(project=project, labels__isnull=False, description__contains="\n").order_by("pk")
    key = (story.first() or Story.objects.filter(project=project).order_by("pk").first()).key
    deliverable = Deliverable.objects.filter(project=project).order_by("pk").first()
    return [
        # The stakeholder: reads the work, asks for things, follows them.
        ("board", "stakeholder", "/p/DATA/board/"),
        ("backlog", "stakeholder", "/p/DATA/backlog/"),
        ("story", "stakeholder", f"/p/DATA/stories/{key}/"),
        ("requests", "stakeholder", "/p/DATA/requests/"),
        ("my-requests", "stakeholder", "/p/DATA/requests/mine/"),
        ("deliverables", "stakeholder", "/p/DATA/deliverables/"),
        ("deliverable", "stakeholder", f"/p/DATA/deliverables/{deliverable.pk}/"),
        ("report-velocity", "stakeholder", "/p/DATA/reports/velocity/"),
        ("notifications", "stakeholder", "/notifications/"),
        # The admin: every page, settings included.
        ("projects", "admin", "/"),
        ("project", "admin", "/p/DATA/"),
        ("board", "admin", "/p/DATA/board/"),
        ("story", "admin", f"/p/DATA/stories/{key}/"),
        ("sprints", "admin", "/p/DATA/sprints/"),
        ("sprint", "admin", f"/p/DATA/sprints/{active.pk}/"),
        ("deliverable", "admin", f"/p/DATA/deliverables/{deliverable.pk}/"),
        ("checklists", "admin", "/p/DATA/deliverables/checklists/"),
        ("settings", "admin", "/p/DATA/settings/"),
        ("account", "admin", "/account/"),
        ("metrics-guide", "admin", "/docs/metrics/"),
    ]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440x900", "390x844"])
def test_the_admin_s_and_the_stakeholder_s_pages_have_no_serious_accessibility_violation(
    browser, live_server, demo, viewport
):
    source = axe_source()
    size = f"{viewport['width']}x{viewport['height']}"
    pages = {who: new_page(browser, live_server.url, viewport) for who in ("stakeholder", "admin")}
    failures, sideways = [], []
    try:
        for who, page in pages.items():
            page.context.add_init_script(source)  # an inline <script> would be refused by the CSP
            log_in(page, who, DEMO_PASSWORD)
        for name, who, url in pages_by_role(demo):
            page = pages[who]
            open_page(page, url)
            RESULTS.mkdir(exist_ok=True)
            page.screenshot(
                path=str(RESULTS / f"page-{name}-{who}-{size}.png"), full_page=True, timeout=SCREENSHOT_TIMEOUT_MS
            )
            failures += [f"{name} as {who} at {size}: {finding}" for finding in page.evaluate(AUDIT)]
            if page.evaluate("document.documentElement.scrollWidth") > viewport["width"]:
                sideways.append(f"{name} as {who} ({url})")
    finally:
        for page in pages.values():
            page.context.close()
    assert not failures, "\n".join(failures)
    assert not sideways, f"scrolls sideways at {size}: " + ", ".join(sideways)
