"""The sprints pages: the list, the next sprint, editing, starting with a commitment, closing, read-only history."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from apps.stories import selectors, services
from apps.stories.models import Sprint, SprintStatus, Story

pytestmark = pytest.mark.django_db


def url(name: str, sprint: Sprint | None = None) -> str:
    kwargs = {"key": "DATA"} | ({"sprint_id": sprint.pk} if sprint else {})
    return reverse(name, kwargs=kwargs)


@pytest.fixture
def planned(project, people, states):
    sprint = services.sprint_create(
        project=project,
        actor=people["owner"],
        name="Sprint 1",
        goal="Churn",
        start=date(2026, 3, 2),
        end=date(2026, 3, 15),
    )
    make = services.story_create
    make(project=project, actor=people["owner"], title="Train model", points=5, sprint=sprint, state=states["Ready"])
    make(project=project, actor=people["owner"], title="Get access", points=3, sprint=sprint, state=states["Ready"])
    make(project=project, actor=people["owner"], title="Unsized", sprint=sprint, state=states["Ready"])
    return sprint


def test_the_next_sprint_is_proposed_from_the_cadence(as_user, planned):
    content = as_user("owner").get(url("project-sprints")).content.decode()
    assert 'name="name" value="Sprint 2"' in content
    assert 'name="start" value="2026-03-16"' in content and 'name="end" value="2026-03-29"' in content
    assert "Plan the next sprint" not in as_user("member").get(url("project-sprints")).content.decode()


def test_creating_the_next_sprint(as_user, planned):
    response = as_user("owner").post(
        url("project-sprint-new"), {"name": "Sprint 2", "goal": "Revenue", "start": "2026-03-16", "end": "2026-03-27"}
    )
    sprint = Sprint.objects.get(name="Sprint 2")
    assert response.status_code == 302 and response["Location"] == url("project-sprint", sprint)
    assert (sprint.goal, sprint.start, sprint.end, sprint.status) == (
        "Revenue",
        date(2026, 3, 16),
        date(2026, 3, 27),
        SprintStatus.PLANNED,
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"name": "S", "start": "2026-03-16", "end": "2026-03-01"}, "A sprint cannot end before it starts."),
        ({"name": "", "start": "2026-03-16", "end": "2026-03-20"}, "This field is required."),
        ({"name": "S", "start": "soon", "end": "2026-03-20"}, "Enter a valid date."),
        ({"name": "S", "start": "2026-03-16", "end": "2026-06-08"}, "A sprint lasts at most 12 weeks."),
        ({"name": "S", "start": "0001-01-01", "end": "0001-01-14"}, "start must be within ten years of today."),
    ],
)
def test_a_bad_new_sprint_is_a_form_error_and_nothing_is_created(as_user, planned, body, error):
    response = as_user("owner").post(url("project-sprint-new"), body)
    assert response.status_code == 400 and error in response.content.decode()
    assert Sprint.objects.filter(project__key="DATA").count() == 1


def test_members_may_not_plan_sprints(as_user, planned):
    member = as_user("member")
    assert (
        member.post(url("project-sprint-new"), {"name": "X", "start": "2026-04-01", "end": "2026-04-02"}).status_code
        == 403
    )
    assert member.post(url("project-sprint-start", planned)).status_code == 403
    assert (
        member.post(
            url("project-sprint-edit", planned), {"name": "X", "start": "2026-04-01", "end": "2026-04-02"}
        ).status_code
        == 403
    )
    page = member.get(url("project-sprint", planned)).content.decode()
    assert "Start Sprint 1" not in page and "Save sprint" not in page
    assert as_user("outsider").get(url("project-sprint", planned)).status_code == 404


def test_editing_name_goal_and_dates(as_user, planned):
    client = as_user("owner")
    response = client.post(
        url("project-sprint-edit", planned),
        {"name": "Sprint One", "goal": "Churn v2", "start": "2026-03-03", "end": "2026-03-16"},
    )
    assert response.status_code == 302
    planned.refresh_from_db()
    assert (planned.name, planned.goal, planned.start, planned.end) == (
        "Sprint One",
        "Churn v2",
        date(2026, 3, 3),
        date(2026, 3, 16),
    )
    response = client.post(
        url("project-sprint-edit", planned), {"name": "Bad", "start": "2026-03-10", "end": "2026-03-01"}
    )
    assert response.status_code == 400 and "cannot end before it starts" in response.content.decode()
    planned.refresh_from_db()
    assert planned.name == "Sprint One"


def test_the_start_shows_and_records_the_commitment(as_user, planned):
    client = as_user("owner")
    page = client.get(url("project-sprint", planned)).content.decode()
    assert "Starting records this commitment: <strong>3 stories, 8 points</strong> (1 not estimated" in page
    response = client.post(url("project-sprint-start", planned), follow=True)
    assert "Sprint 1 has started with a commitment of 3 stories, 8 points." in response.content.decode()
    planned.refresh_from_db()
    assert planned.status == SprintStatus.ACTIVE
    assert [(c["key"], c["points"]) for c in planned.commitment] == [("DATA-1", 5), ("DATA-2", 3), ("DATA-3", None)]


def test_the_start_offers_today_s_dates_and_moves_the_sprint_to_them(as_user, project, planned):
    client = as_user("owner")
    today = services.project_today(project)
    page = client.get(url("project-sprint", planned)).content.decode()
    assert "Planned for 2 Mar–15 Mar 2026; starting today, it runs:" in page
    assert f'name="start" value="{today:%Y-%m-%d}"' in page
    assert f'name="end" value="{today + timedelta(days=13):%Y-%m-%d}"' in page
    assert "has no stories" not in page and "average velocity" not in page
    bad = client.post(url("project-sprint-start", planned), {"start": "2026-12-10", "end": "2026-12-01"})
    assert bad.status_code == 400 and "cannot end before it starts" in bad.content.decode()
    client.post(url("project-sprint-start", planned), {"start": f"{today:%Y-%m-%d}", "end": f"{today:%Y-%m-%d}"})
    planned.refresh_from_db()
    assert (planned.status, planned.start, planned.end) == (SprintStatus.ACTIVE, today, today)


def test_the_start_warns_of_an_empty_sprint_and_of_a_commitment_over_the_velocity(
    as_user, project, people, planned, monkeypatch
):
    from apps.stories import selectors
    from sprintboard.sprints import VelocityReport

    empty = services.sprint_create(project=project, actor=people["owner"], name="Empty one")
    page = as_user("owner").get(url("project-sprint", empty)).content.decode()
    assert "Empty one has no stories: it would start empty" in page
    # The engine's velocity of three closed sprints (tests/sprintboard test the figure itself).
    velocity = VelocityReport(sprints=(), average_velocity=2.5, n=3)
    monkeypatch.setattr(selectors, "average_velocity", lambda project, now=None: velocity)
    page = as_user("owner").get(url("project-sprint", planned)).content.decode()
    assert "This commits 8 points against an average velocity of 2.5 (the last 3 closed sprints)" in page


def test_a_planned_sprint_is_deleted_from_its_page_and_its_stories_go_back_to_the_backlog(as_user, planned):
    keys = list(planned.stories.values_list("key", flat=True))
    assert as_user("member").post(url("project-sprint-delete", planned)).status_code == 403
    response = as_user("owner").post(url("project-sprint-delete", planned), follow=True)
    assert "Sprint 1 is deleted; its stories are back in the backlog." in response.content.decode()
    assert not Sprint.objects.filter(pk=planned.pk).exists()
    for story in Story.objects.filter(key__in=keys):
        assert story.sprint is None and story.events.order_by("-seq").first().kind == "sprint"


def test_an_active_sprint_cannot_be_deleted_from_its_page(as_user, people, planned):
    services.sprint_start(sprint=planned, actor=people["owner"])
    page = url("project-sprint", planned)
    response = as_user("owner").post(url("project-sprint-delete", planned), HTTP_REFERER=page, follow=True)
    assert response.redirect_chain == [(page, 302)]  # post/redirect/get, back to the page, with the reason
    assert "only a planned sprint can be deleted" in response.content.decode()
    assert Sprint.objects.filter(pk=planned.pk).exists()


def test_a_second_sprint_cannot_start_while_one_is_active(as_user, project, people, planned):
    services.sprint_start(sprint=planned, actor=people["owner"])
    second = services.sprint_create(project=project, actor=people["owner"])
    client = as_user("owner")
    assert "Sprint 1 is still active" in client.get(url("project-sprint", second)).content.decode()
    response = client.post(url("project-sprint-start", second), follow=True)
    assert response.redirect_chain[0][1] == 302 and "close it before starting another" in response.content.decode()
    second.refresh_from_db()
    assert second.status == SprintStatus.PLANNED


@pytest.fixture
def active(people, states, planned):
    services.sprint_start(sprint=planned, actor=people["owner"])
    services.story_change_state(story=Story.objects.get(key="DATA-2"), state=states["Done"], actor=people["member"])
    return planned


def test_the_close_dialog_lists_the_unfinished_stories(as_user, active):
    page = as_user("owner").get(url("project-sprint", active)).content.decode()
    dialog = page[page.index('<dialog id="close-dialog"') : page.index("</dialog>")]
    assert "Train model" in dialog and "Unsized" in dialog and "Get access" not in dialog
    assert "To the next sprint" in dialog and "To the top of the backlog" in dialog
    assert 'href="' + url("project-sprint-close", active) + '"' in page  # the page without JavaScript
    assert as_user("owner").get(url("project-sprint-close", active)).status_code == 200


def test_the_close_dialog_names_the_next_sprint_and_warns_of_an_early_close(as_user, project, people, active):
    dialog = as_user("owner").get(url("project-sprint", active)).content.decode()
    assert "there is no planned sprint, so a new one is created for 16 Mar–29 Mar 2026" in dialog
    assert "early" not in dialog[dialog.index('<dialog id="close-dialog"') :]
    services.sprint_create(
        project=project, actor=people["owner"], name="Sprint 2", start=date(2026, 3, 16), end=date(2026, 3, 29)
    )
    Sprint.objects.filter(pk=active.pk).update(end=date.today() + timedelta(days=3))
    page = as_user("owner").get(url("project-sprint", active)).content.decode()
    dialog = page[page.index('<dialog id="close-dialog"') : page.index("</dialog>")]
    assert '"The next sprint" is <strong>Sprint 2</strong> (16 Mar–29 Mar 2026)' in dialog
    assert "closing it now ends it" in dialog and "days early" in dialog


def test_closing_carries_unfinished_stories_to_the_next_sprint(as_user, project, active):
    response = as_user("owner").post(url("project-sprint-close", active), {"unfinished": "next_sprint"}, follow=True)
    nxt = Sprint.objects.get(project=project, status=SprintStatus.PLANNED)
    assert "Sprint 1 is closed. 2 unfinished stories moved to Sprint 2." in response.content.decode()
    assert set(Story.objects.filter(sprint=nxt).values_list("key", flat=True)) == {"DATA-1", "DATA-3"}
    assert nxt.start == active.end + timedelta(days=1)
    assert Story.objects.get(key="DATA-2").sprint == active


def test_closing_sends_each_unfinished_story_where_it_is_chosen(as_user, project, active):
    one, three = Story.objects.get(key="DATA-1"), Story.objects.get(key="DATA-3")
    page = as_user("owner").get(url("project-sprint", active)).content.decode()
    assert f'name="story-{one.pk}"' in page and f'name="story-{three.pk}"' in page
    response = as_user("owner").post(
        url("project-sprint-close", active), {"unfinished": "next_sprint", f"story-{three.pk}": "backlog"}, follow=True
    )
    nxt = Sprint.objects.get(project=project, status=SprintStatus.PLANNED)
    assert "2 unfinished stories moved" not in response.content.decode()
    assert "1 unfinished story moved to Sprint 2; 1 to the top of the backlog." in response.content.decode()
    assert Story.objects.get(pk=one.pk).sprint == nxt and Story.objects.get(pk=three.pk).sprint is None
    assert order_of_backlog(project)[0] == "DATA-3"


def test_closing_to_the_top_of_the_backlog(as_user, project, people, active):
    services.story_create(project=project, actor=people["owner"], title="Already in the backlog")
    as_user("owner").post(url("project-sprint-close", active), {"unfinished": "backlog"})
    backlog = list(
        Story.objects.filter(project=project)
        .filter(selectors.backlog_filter())
        .order_by("rank")
        .values_list("key", flat=True)
    )
    assert backlog == ["DATA-1", "DATA-3", "DATA-4"]
    assert not Sprint.objects.filter(project=project, status=SprintStatus.PLANNED).exists()


def test_a_bad_close_choice_changes_nothing(as_user, active):
    response = as_user("owner").post(url("project-sprint-close", active), {"unfinished": "the bin"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    active.refresh_from_db()
    assert active.status == SprintStatus.ACTIVE


def test_a_closed_sprint_is_read_only_and_its_history_is_not_rewritten(as_user, project, people, states, active):
    client = as_user("owner")
    client.post(url("project-sprint-close", active), {"unfinished": "backlog"})
    # After the close, a finished story is reopened: the sprint's page still shows it as completed then.
    services.story_change_state(
        story=Story.objects.get(key="DATA-2"), state=states["In progress"], actor=people["member"]
    )
    page = client.get(url("project-sprint", active)).content.decode()
    assert "this page is read-only" in page and "<form" not in page.split("</nav>", 2)[-1].split('id="main"')[
        -1
    ].replace('action="/logout/"', "")
    assert "Commitment recorded at start" in page and "DATA-1" in page
    completed = page[page.index("<h3>Completed</h3>") :]
    assert "DATA-2" in completed[: completed.index("</p>")]
    response = client.post(
        url("project-sprint-edit", active), {"name": "Rewritten", "start": "2026-03-02", "end": "2026-03-15"}
    )
    assert response.status_code == 409 and "its history is not rewritten" in response.content.decode()
    active.refresh_from_db()
    assert active.name == "Sprint 1"


def test_the_list_links_every_sprint_with_its_points(as_user, active):
    content = as_user("stakeholder").get(url("project-sprints")).content.decode()
    assert f'href="{url("project-sprint", active)}"' in content
    row = content[content.index("Sprint 1") :]
    assert '<td class="num">8</td>' in row and '<td class="num">3</td>' in row


def order_of_backlog(project) -> list[str]:
    from apps.stories import selectors

    return list(selectors.backlog_stories(project).values_list("key", flat=True))
