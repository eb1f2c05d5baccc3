"""One number per fact: every page that shows a sprint's committed and completed figures shows the engine's.

The sprints list, the sprint page and the project home read ``selectors.sprint_outcomes``; the sprint report
API and the velocity report compute the same ``sprintboard.sprints`` report in a task. Walking the demo,
they must all agree, sprint by sprint, and a closed sprint's figures never move after its close.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from apps.stories import services
from apps.stories.models import Sprint, SprintStatus, Story
from apps.web.demo import seed_demo
from tests.apps.reports.conftest import get_done

pytestmark = pytest.mark.django_db

COLD_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "sprint-numbers-cold"}
}


def figures(count: int, points: float) -> tuple[int, float]:
    return count, float(points)


def row_cells(page: str, sprint: Sprint) -> list[str]:
    """The number cells of a sprint's row on the sprints list."""
    row = re.search(rf'<tr id="sprint-row-{sprint.pk}">(.*?)</tr>', page, re.S)
    assert row, f"{sprint.name} is not on the list"
    return re.findall(r'<td class="num">([^<]*)</td>', row.group(1))


def list_figures(page: str, sprint: Sprint) -> dict[str, tuple[int, float]]:
    cells = row_cells(page, sprint)
    if sprint.status == SprintStatus.PLANNED:
        return {"planned": figures(int(cells[0]), float(cells[1]))}
    return {"committed": figures(int(cells[0]), float(cells[1])), "completed": figures(int(cells[2]), float(cells[3]))}


def dd(page: str, element_id: str) -> tuple[int, float]:
    """A figure of the sprint page: "10 · 29 pts" or "10 stories, 29 points"."""
    found = re.search(rf'<dd id="{element_id}">(\d+)\D+?([\d.]+) p', page)
    assert found, f"#{element_id} is not on the page"
    return figures(int(found.group(1)), float(found.group(2)))


def report_figures(body: dict, name: str) -> tuple[int, float]:
    return figures(len(body[name]), body[f"{name}_points"])


@pytest.fixture
def demo():
    return seed_demo()


@pytest.fixture
def demo_clients(demo):
    user = get_user_model().objects.get(username="owner")  # a product owner also sees planning
    browser, api = Client(), APIClient()
    browser.force_login(user)
    api.force_authenticate(user)
    return browser, api


def test_every_demo_sprint_shows_the_same_numbers_on_every_page_and_report(demo, demo_clients):
    browser, api = demo_clients
    sprints = list(Sprint.objects.filter(project=demo).order_by("start", "id"))
    assert {s.status for s in sprints} >= {SprintStatus.CLOSED, SprintStatus.ACTIVE}
    listed = browser.get(reverse("project-sprints", kwargs={"key": "DATA"})).content.decode()
    velocity = get_done(api, "/api/v1/projects/DATA/reports/velocity/").json()
    entries = {entry["sprint_id"]: entry for entry in velocity["sprints"]}
    for sprint in sprints:
        on_list = list_figures(listed, sprint)
        page = browser.get(reverse("project-sprint", kwargs={"key": "DATA", "sprint_id": sprint.pk})).content.decode()
        if sprint.status == SprintStatus.PLANNED:
            assert dd(page, "sprint-scope") == on_list["planned"], sprint.name
            continue
        report = get_done(api, f"/api/v1/sprints/{sprint.pk}/report/").json()
        expected = {"committed": report_figures(report, "committed"), "completed": report_figures(report, "completed")}
        assert on_list == expected, sprint.name
        assert dd(page, "sprint-committed") == dd(page, "outcome-committed") == expected["committed"], sprint.name
        assert dd(page, "outcome-completed") == expected["completed"], sprint.name
        if sprint.status == SprintStatus.CLOSED:
            entry = entries[sprint.pk]
            assert figures(entry["n_committed"], entry["committed_points"]) == expected["committed"], sprint.name
            assert figures(entry["n_completed"], entry["completed_points"]) == expected["completed"], sprint.name
        else:
            assert sprint.pk not in entries  # velocity counts closed sprints only
            assert 'So far <span class="muted">(as of now)</span>' in page
    assert len(entries) == Sprint.objects.filter(project=demo, status=SprintStatus.CLOSED).count()


def test_the_home_and_planning_read_the_same_figures(demo, demo_clients):
    browser, api = demo_clients
    active = Sprint.objects.get(project=demo, status=SprintStatus.ACTIVE)
    report = get_done(api, f"/api/v1/sprints/{active.pk}/report/").json()
    home = browser.get(reverse("project-home", kwargs={"key": "DATA"})).content.decode()
    in_sprint = len(report["completed"]) + len(report["cancelled"]) + len(report["not_completed"])
    scope = report["completed_points"] + report["cancelled_points"] + report["not_completed_points"]
    progress = re.search(
        r"(\d+) of (\d+) stories done · ([\d.]+) of ([\d.]+) points <span class=\"muted\">\(as of now\)", home
    )
    assert progress, "the home page shows no progress as of now"
    assert (int(progress[1]), int(progress[2])) == (len(report["completed"]), in_sprint)
    assert (float(progress[3]), float(progress[4])) == (float(report["completed_points"]), float(scope))
    planned = Sprint.objects.filter(project=demo, status=SprintStatus.PLANNED).order_by("start", "id").first()
    if planned is not None:
        listed = browser.get(reverse("project-sprints", kwargs={"key": "DATA"})).content.decode()
        planning = browser.get(reverse("project-planning", kwargs={"key": "DATA"})).content.decode()
        shown = re.search(r"Planned scope: <strong><span data-points-shown>([\d.]+)</span>", planning)
        assert shown and float(shown[1]) == list_figures(listed, planned)["planned"][1]


T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture
def closed(project, people, states):
    """Sprint 1 (2-13 March 2026): three stories committed, two finished, closed with one carried over."""
    owner, member = people["owner"], people["member"]
    sprint = services.sprint_create(
        project=project, actor=owner, name="Sprint 1", start=date(2026, 3, 2), end=date(2026, 3, 13), at=T0
    )
    stories = [
        services.story_create(
            project=project, actor=owner, title=title, points=points, sprint=sprint, state=states["Ready"], at=T0
        )
        for title, points in (("Load CRM", 3), ("Train model", 5), ("Publish dashboard", 2))
    ]
    services.sprint_start(sprint=sprint, actor=owner, at=T0 + timedelta(hours=1))
    for story, day in ((stories[0], 2), (stories[1], 4)):
        services.story_change_state(story=story, state=states["Done"], actor=member, at=T0 + timedelta(days=day))
    services.sprint_close(sprint=sprint, actor=owner, unfinished="backlog", at=T0 + timedelta(days=11))
    sprint.refresh_from_db()
    return sprint


def test_a_story_reopened_and_reestimated_after_the_close_leaves_the_closed_sprint_alone(
    as_user, client_for, people, states, closed
):
    client = as_user("stakeholder")
    sprints_url = reverse("project-sprints", kwargs={"key": "DATA"})
    sprint_url = reverse("project-sprint", kwargs={"key": "DATA", "sprint_id": closed.pk})
    before = list_figures(client.get(sprints_url).content.decode(), closed)
    assert before == {"committed": (3, 10.0), "completed": (2, 8.0)}

    story = Story.objects.get(key="DATA-2")
    services.story_change_state(story=story, state=states["In progress"], actor=people["member"])
    services.story_estimate(story=Story.objects.get(key="DATA-2"), points=13, actor=people["member"])

    assert list_figures(client.get(sprints_url).content.decode(), closed) == before
    with override_settings(CACHES=COLD_CACHE):  # recomputed from the log, not just remembered
        assert list_figures(client.get(sprints_url).content.decode(), closed) == before
        page = client.get(sprint_url).content.decode()
    assert dd(page, "outcome-committed") == dd(page, "sprint-committed") == before["committed"]
    assert dd(page, "outcome-completed") == before["completed"]
    report = get_done(client_for("stakeholder"), f"/api/v1/sprints/{closed.pk}/report/").json()
    assert report_figures(report, "completed") == before["completed"]
