"""Every main page of the demo project in Chromium at 1440x900 and 390x844: axe-core finds no critical or
serious accessibility violation, and a screenshot of each page at each size lands in test-results/."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.stories.models import Sprint, SprintStatus, Story
from apps.web.demo import DEMO_PASSWORD
from tests.e2e.conftest import CI, DESKTOP, PHONE, RESULTS, SCREENSHOT_TIMEOUT_MS, log_in, new_page, open_page

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# Only what fails the page for someone: axe's critical and serious findings (WCAG 2.x A and AA, best practices).
AUDIT = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations
    .filter((v) => v.impact === "critical" || v.impact === "serious")
    .map((v) => `${v.id} (${v.impact}): ${v.help}; ${v.nodes.length} node(s), e.g. ${v.nodes[0].target.join(" ")}`);
}"""

CUT_TABLES = """() => Array.from(document.querySelectorAll(".report-table"))
  .filter((wrap) => wrap.scrollWidth > wrap.clientWidth + 1).map((wrap) => wrap.firstElementChild.id)"""


def axe_source() -> str:
    if not AXE.exists():
        message = "axe-core is not installed (npm ci, or make static): the accessibility audit needs it"
        if CI:
            pytest.fail(f"CI=true: {message}.", pytrace=False)
        pytest.skip(message)
    return AXE.read_text()


def main_pages(project) -> list[tuple[str, str, str]]:
    """(name, who looks, URL): what a member sees, and planning, which only a product owner has."""
    sprint = Sprint.objects.filter(project=project, status=SprintStatus.CLOSED).order_by("-closed_at").first()
    story = Story.objects.filter(project=project, labels__isnull=False, description__contains="\n").order_by("pk")
    key = (story.first() or Story.objects.filter(project=project).order_by("pk").first()).key
    return [
        ("board", "member", "/p/DATA/board/"),
        ("board-lanes", "member", "/p/DATA/board/?lanes=assignee"),
        ("backlog", "member", "/p/DATA/backlog/"),
        ("backlog", "owner", "/p/DATA/backlog/"),
        ("planning", "owner", "/p/DATA/planning/"),
        ("story", "member", f"/p/DATA/stories/{key}/"),
        ("requests", "member", "/p/DATA/requests/"),
        ("requests", "owner", "/p/DATA/requests/"),
        ("reports", "member", "/p/DATA/reports/"),
        ("report-sprint", "member", f"/p/DATA/reports/sprints/{sprint.pk}/"),
        ("report-flow", "member", "/p/DATA/reports/flow/"),
        ("report-velocity", "member", "/p/DATA/reports/velocity/"),
        ("report-forecast", "member", "/p/DATA/reports/forecast/"),
        ("report-dataops", "member", "/p/DATA/reports/dataops/"),
        ("report-waste", "member", "/p/DATA/reports/waste/"),
    ]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440x900", "390x844"])
def test_the_main_pages_have_no_serious_accessibility_violation(browser, live_server, demo, viewport):
    source = axe_source()
    size = f"{viewport['width']}x{viewport['height']}"
    pages = {who: new_page(browser, live_server.url, viewport) for who in ("member", "owner")}
    failures = []
    try:
        for page in pages.values():
            page.context.add_init_script(source)  # an inline <script> would be refused by the CSP
        for who, page in pages.items():
            log_in(page, who, DEMO_PASSWORD)
        for name, who, url in main_pages(demo):
            page = pages[who]
            open_page(page, url)
            RESULTS.mkdir(exist_ok=True)
            shot = RESULTS / f"page-{name}-{who}-{size}.png"
            page.screenshot(path=str(shot), full_page=True, timeout=SCREENSHOT_TIMEOUT_MS)
            failures += [f"{name} as {who} at {size}: {finding}" for finding in page.evaluate(AUDIT)]
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], (
                f"{name} as {who} scrolls sideways at {size}"
            )
            if viewport == DESKTOP:  # a report's tables show every column, none cut off behind a sideways scroll
                assert page.evaluate(CUT_TABLES) == [], f"{name}: tables cut off at {size}"
    finally:
        for page in pages.values():
            page.context.close()
    assert not failures, "\n".join(failures)
