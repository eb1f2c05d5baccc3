"""The backlog and planning pages: moves with undo, buttons without script, filters, inline create and edit, bulk moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from apps.stories import selectors, services
from apps.stories.models import Sprint, Story, StoryEvent

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def five(project, people):
    return [
        services.story_create(project=project, actor=people["owner"], title=f"Story {n}", points=n) for n in range(1, 6)
    ]


def url(name: str, **kwargs) -> str:
    return reverse(name, kwargs={"key": "DATA", **kwargs})


def order(project) -> list[str]:
    return list(
        Story.objects.filter(project=project)
        .filter(selectors.backlog_filter())
        .order_by("rank")
        .values_list("key", flat=True)
    )


def test_a_move_is_saved_at_once_and_answers_its_undo(as_user, project, five):
    client = as_user("owner")
    moved = client.post(url("project-backlog-move"), {"story": "DATA-5", "position": "top", "version": 1}, **JSON)
    assert moved.status_code == 200
    body = moved.json()
    assert body["version"] == 2 and body["undo"] == {"position": "bottom", "sprint": "backlog"}
    assert order(project)[0] == "DATA-5"
    undone = client.post(url("project-backlog-move"), {"story": "DATA-5", "version": 2, **body["undo"]}, **JSON)
    assert undone.status_code == 200 and order(project) == ["DATA-1", "DATA-2", "DATA-3", "DATA-4", "DATA-5"]
    middle = client.post(
        url("project-backlog-move"), {"story": "DATA-2", "after": "DATA-4", "version": 1}, **JSON
    ).json()
    assert middle["undo"]["before"] == "DATA-3"
    client.post(
        url("project-backlog-move"), {"story": "DATA-2", "version": middle["version"], **middle["undo"]}, **JSON
    )
    assert order(project) == ["DATA-1", "DATA-2", "DATA-3", "DATA-4", "DATA-5"]


@pytest.mark.parametrize(
    "fields, status, text",
    [
        ({"story": "DATA-2", "before": "DATA-2"}, 400, "itself"),
        ({"story": "DATA-2", "before": "OTHER-1"}, 400, "not a story of DATA"),
        ({"story": "DATA-2", "before": "DATA-99"}, 400, "not a story of DATA"),
        ({"story": "DATA-2", "before": "DATA-1", "after": "DATA-3"}, 400, "exactly one"),
        ({"story": "DATA-2", "position": "middle"}, 400, "valid choice"),
        ({"story": "DATA-2", "position": "top", "version": 7}, 409, "changed by someone else"),
        ({"story": "DATA-2", "position": "top", "sprint": "424242"}, 400, "no sprint"),
    ],
)
def test_bad_moves_are_refused_with_a_message_and_change_nothing(as_user, project, people, five, fields, status, text):
    services.story_create(project=project.other, actor=people["outsider"], title="Elsewhere")
    response = as_user("owner").post(url("project-backlog-move"), fields, **JSON)
    assert response.status_code == status and text in response.json()["errors"][0]["message"]
    assert not StoryEvent.objects.filter(kind="rank").exists()


def test_only_product_owners_move(as_user, project, five):
    assert (
        as_user("member").post(url("project-backlog-move"), {"story": "DATA-2", "position": "top"}, **JSON).status_code
        == 403
    )
    assert order(project)[0] == "DATA-1"


def test_the_buttons_work_without_javascript(as_user, project, five):
    client = as_user("owner")
    page = client.get(url("project-backlog")).content.decode()
    assert 'aria-label="Move DATA-3 up"' in page and 'name="before" value="DATA-2"' in page
    response = client.post(url("project-backlog-move"), {"story": "DATA-3", "before": "DATA-2"})
    assert response.status_code == 302 and response["Location"] == url("project-backlog")
    assert order(project)[:3] == ["DATA-1", "DATA-3", "DATA-2"]
    client.post(url("project-backlog-move"), {"story": "DATA-1", "position": "bottom"})
    assert order(project)[-1] == "DATA-1"
    assert "Moved DATA-1 to the bottom." in client.get(url("project-backlog")).content.decode()


def test_filters_with_counts_and_totals(as_user, project, people, five):
    epic = services.epic_save(project=project, name="Churn")
    label = services.label_save(project=project, name="dbt")
    services.story_update(
        story=five[0], actor=people["owner"], epic=epic, labels=[label], assignee=people["member"], kind="bug"
    )
    services.story_update(story=five[1], actor=people["owner"], epic=epic)
    client = as_user("stakeholder")
    page = client.get(url("project-backlog")).content.decode()
    assert "Churn (2)" in page and "dbt (1)" in page and "Bug (1)" in page and "No epic (3)" in page
    assert "15</span> points" in page
    only_epic = client.get(url("project-backlog") + f"?epic={epic.pk}").content.decode()
    assert (
        "Story 1" in only_epic
        and "Story 2" in only_epic
        and "Story 3" not in only_epic
        and "3</span> points" in only_epic
    )
    assert (
        "Story 1"
        in client.get(
            url("project-backlog") + f"?label={label.pk}&kind=bug&assignee={people['member'].pk}"
        ).content.decode()
    )
    assert "Story 4" in client.get(url("project-backlog") + "?q=story+4").content.decode()
    text = client.get(url("project-backlog") + "?q=story+4").content.decode()
    assert "Story 5" not in text
    bad = client.get(url("project-backlog") + "?epic=999999&kind=nope")
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()


def test_the_counts_follow_every_change_and_a_state_that_comes_to_count_as_finished(project, people, states):
    from apps.projects import services as project_services

    stories = [services.story_create(project=project, actor=people["owner"], title=f"S{n}", points=n) for n in (1, 2)]
    assert selectors.backlog_counts(project).totals == {"count": 2, "points": 3, "unestimated": 0}
    services.story_estimate(story=stories[0], points=None, actor=people["owner"])
    project.refresh_from_db()  # a page reads the project (and its event sequence number) with each request
    assert selectors.backlog_counts(project).totals == {"count": 2, "points": 2, "unestimated": 1}
    services.story_change_state(story=stories[1], state=states["Validating"], actor=people["owner"])
    project.refresh_from_db()
    assert selectors.backlog_counts(project).by_filter["kind"] == {"story": 2}
    # No event: the category of a state changes what counts as finished, all along.
    project_services.state_update(state=states["Validating"], category="done")
    project.refresh_from_db()
    counts = selectors.backlog_counts(project)
    assert counts.totals == {"count": 1, "points": 0, "unestimated": 1} and counts.by_filter["kind"] == {"story": 1}


def test_the_filters_offer_this_projects_names_in_order_and_keep_the_choice(as_user, project, people):
    from apps.deliverables import services as deliverable_services
    from apps.deliverables.models import DeliverableKind

    for name in ("churn", "Billing", "Activation"):
        services.epic_save(project=project, name=name)
    services.epic_save(project=project.other, name="Elsewhere")
    services.label_save(project=project, name="dbt")
    deliverable_services.deliverable_create(
        project=project, actor=people["admin"], name="Churn dashboard", kind=DeliverableKind.DASHBOARD
    )
    people["member"].first_name, people["member"].last_name = "Mia", "Moreau"
    people["member"].save()
    options = selectors.filter_options(project)
    assert [name for _, name in options["epic"]] == ["Activation", "Billing", "churn"]
    assert [name for _, name in options["label"]] == ["dbt"] and len(options["deliverable"]) == 1
    assert [name for _, name in options["assignee"]] == ["admin", "owner", "Mia Moreau"]  # no stakeholder
    page = as_user("member").get(url("project-backlog") + f"?assignee={people['member'].pk}").content.decode()
    assert f'<option value="{people["member"].pk}" selected>Mia Moreau (0)</option>' in page
    assert '<option value="" selected>Any</option>' in page and "Elsewhere" not in page
    refused = as_user("member").get(url("project-backlog") + "?label=999999").content.decode()
    assert 'id="id_label" aria-invalid="true" aria-describedby="id_label_error"' in refused
    assert 'id="id_label_error" role="alert">Select a valid choice.' in refused


def test_the_list_loads_page_by_page(as_user, project, people, monkeypatch):
    from apps.stories.views import backlog

    monkeypatch.setattr(backlog, "BACKLOG_PAGE_SIZE", 2)
    for n in range(5):
        services.story_create(project=project, actor=people["owner"], title=f"Item {n}")
    client = as_user("member")
    first = client.get(url("project-backlog")).content.decode()
    assert "Item 1" in first and "Item 2" not in first and 'hx-trigger="revealed"' in first
    rows = client.get(url("project-backlog") + "?page=2&rows=1").content.decode()
    assert "<html" not in rows and "Item 2" in rows and "Item 3" in rows and "page=3" in rows


def test_inline_create_at_the_top_and_the_bottom(as_user, project, five):
    client = as_user("member")
    response = client.post(
        url("project-backlog-create"), {"title": "New on top", "position": "top"}, HTTP_HX_REQUEST="true"
    )
    content = response.content.decode()
    assert 'hx-swap-oob="afterbegin:#backlog-list"' in content and "New on top" in content and "Added DATA-6" in content
    client.post(url("project-backlog-create"), {"title": "New at the bottom", "position": "bottom"})
    assert order(project)[0] == "DATA-6" and order(project)[-1] == "DATA-7"
    empty = client.post(url("project-backlog-create"), {"title": "  ", "position": "top"}, HTTP_HX_REQUEST="true")
    assert "is-error" in empty.content.decode() and Story.objects.count() == 7
    assert (
        as_user("stakeholder").post(url("project-backlog-create"), {"title": "x", "position": "top"}).status_code == 403
    )


def test_inline_points_with_a_stale_version_show_an_error(as_user, project, five):
    client = as_user("member")
    row = client.post(
        url("project-backlog-points", story_key="DATA-1"), {"points": "8", "version": 1}, HTTP_HX_REQUEST="true"
    )
    assert row.status_code == 200 and 'value="8"' in row.content.decode()
    stale = client.post(
        url("project-backlog-points", story_key="DATA-1"), {"points": "13", "version": 1}, HTTP_HX_REQUEST="true"
    )
    assert "changed by someone else" in stale.content.decode() and 'role="alert"' in stale.content.decode()
    bad = client.post(
        url("project-backlog-points", story_key="DATA-1"), {"points": "-2", "version": 2}, HTTP_HX_REQUEST="true"
    )
    assert "field-error" in bad.content.decode()
    assert Story.objects.get(key="DATA-1").points == 8


def test_bulk_moves_to_the_top_and_into_a_sprint(as_user, project, people, five):
    sprint = services.sprint_create(project=project, actor=people["owner"], name="Sprint 1")
    client = as_user("owner")
    client.post(url("project-backlog-bulk"), {"keys": ["DATA-4", "DATA-5"], "action": "top"})
    assert order(project)[:2] == ["DATA-4", "DATA-5"]
    client.post(url("project-backlog-bulk"), {"keys": ["DATA-1", "DATA-2"], "action": "sprint", "sprint": sprint.pk})
    assert set(Story.objects.filter(sprint=sprint).values_list("key", flat=True)) == {"DATA-1", "DATA-2"}
    refused = client.post(url("project-backlog-bulk"), {"keys": ["DATA-3"], "action": "sprint"}, follow=True)
    assert "Choose the sprint" in refused.content.decode()
    refused = client.post(url("project-backlog-bulk"), {"keys": ["OTHER-1"], "action": "top"}, follow=True)
    assert "no longer in this project" in refused.content.decode()


def test_planning_shows_velocity_against_planned_points_and_warns(as_user, project, people, states):
    owner = people["owner"]
    client = as_user("owner")
    page = client.get(url("project-planning")).content.decode()
    assert "No sprint is planned yet" in page
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    past = services.sprint_create(
        project=project, actor=owner, name="Past", start=start.date(), end=start.date() + timedelta(days=13), at=start
    )
    done = services.story_create(project=project, actor=owner, title="Done work", points=5, sprint=past, at=start)
    services.sprint_start(sprint=past, actor=owner, at=start)
    services.story_change_state(story=done, state=states["Done"], actor=owner, at=start + timedelta(days=3))
    services.sprint_close(sprint=past, actor=owner, at=start + timedelta(days=13))
    created = client.post(url("project-planning-sprint"), {"name": "", "goal": "Churn"})
    assert created.status_code == 302
    nxt = Sprint.objects.get(status="planned")
    big = services.story_create(project=project, actor=owner, title="Big one", points=8)
    page = client.get(url("project-planning")).content.decode()
    assert nxt.name in page and "5 points" in page and "data-over-velocity hidden" in page
    client.post(url("project-backlog-move"), {"story": big.key, "position": "bottom", "sprint": str(nxt.pk)}, **JSON)
    page = client.get(url("project-planning")).content.decode()
    assert (
        "data-over-velocity hidden" not in page
        and "More points are planned" in page
        and "→ Sprint" not in page.split("sprint-list")[1].split("</ol>")[0]
    )
    assert as_user("member").get(url("project-planning")).status_code == 403


def test_inline_create_and_estimate_answer_the_header_totals_again(as_user, project, five):
    client = as_user("member")
    here = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/p/DATA/backlog/"}
    created = client.post(url("project-backlog-create"), {"title": "Unsized", "position": "top"}, **here)
    totals = created.content.decode().split('<span id="backlog-totals" hx-swap-oob="true">', 1)[1]
    assert "<span data-count>6</span> stories" in totals and "<span data-points>15</span> points" in totals
    assert "1 unestimated" in totals
    estimated = client.post(url("project-backlog-points", story_key="DATA-6"), {"points": "4", "version": 1}, **here)
    totals = estimated.content.decode().split('<span id="backlog-totals" hx-swap-oob="true">', 1)[1]
    assert "<span data-points>19</span> points" in totals and "unestimated" not in totals
    filtered = {**here, "HTTP_HX_CURRENT_URL": "http://testserver/p/DATA/backlog/?kind=bug"}
    answer = client.post(url("project-backlog-points", story_key="DATA-1"), {"points": "2", "version": 1}, **filtered)
    assert "<span data-count>0</span> stories match" in answer.content.decode()
    planning = {**here, "HTTP_HX_CURRENT_URL": "http://testserver/p/DATA/planning/"}
    answer = client.post(url("project-backlog-points", story_key="DATA-2"), {"points": "3", "version": 1}, **planning)
    assert "backlog-totals" not in answer.content.decode()


def test_a_move_into_a_sprint_names_it_in_its_message(as_user, project, people, five):
    sprint = services.sprint_create(project=project, actor=people["owner"], name="Sprint 8")
    client = as_user("owner")
    into = client.post(
        url("project-backlog-move"),
        {"story": "DATA-1", "position": "bottom", "sprint": str(sprint.pk), "version": 1},
        **JSON,
    ).json()
    assert into["message"] == "Moved DATA-1 to the bottom of Sprint 8."
    back = client.post(
        url("project-backlog-move"),
        {"story": "DATA-1", "before": "DATA-3", "sprint": "backlog", "version": into["version"]},
        **JSON,
    ).json()
    assert back["message"] == "Moved DATA-1 in the backlog above DATA-3."
    within = client.post(
        url("project-backlog-move"), {"story": "DATA-2", "position": "top", "version": 1}, **JSON
    ).json()
    assert within["message"] == "Moved DATA-2 to the top."
