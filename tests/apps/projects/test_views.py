from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from apps.projects.models import Membership, Project, Role, WorkflowState
from apps.stories import services as story_services
from apps.stories.models import Sprint

pytestmark = pytest.mark.django_db

PROJECT_PAGES = [
    "project-home",
    "project-backlog",
    "project-board",
    "project-sprints",
    "project-reports",
    "project-deliverables",
    "project-requests",
]
ROLES = ["admin", "owner", "member", "stakeholder"]


def settings_url(project, name="project-settings", **kwargs):
    return reverse(name, kwargs={"key": project.key, **kwargs})


def names(project) -> list[str]:
    return list(WorkflowState.objects.filter(project=project).order_by("position", "id").values_list("name", flat=True))


# --- Who may see what --------------------------------------------------------------


@pytest.mark.parametrize("page", PROJECT_PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_every_project_page_renders_for_every_member(as_user, project, states, page, role):
    response = as_user(role).get(reverse(page, kwargs={"key": "DATA"}))
    assert response.status_code == 200
    assert b"Backlog" in response.content and b"Board" in response.content


@pytest.mark.parametrize("page", [*PROJECT_PAGES, "project-settings"])
def test_non_members_get_404(as_user, project, page):
    assert as_user("outsider").get(reverse(page, kwargs={"key": "DATA"})).status_code == 404


@pytest.mark.parametrize("page", [*PROJECT_PAGES, "project-settings"])
def test_an_unknown_project_is_404(as_user, project, page):
    assert as_user("admin").get(reverse(page, kwargs={"key": "NOPE"})).status_code == 404


@pytest.mark.parametrize("page", [*PROJECT_PAGES, "project-settings", "project-list", "project-create"])
def test_anonymous_users_are_sent_to_login(client, project, page):
    url = reverse(page) if page in ("project-list", "project-create") else reverse(page, kwargs={"key": "DATA"})
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("role", ["owner", "member", "stakeholder"])
def test_settings_are_for_admins_only(as_user, project, role):
    client = as_user(role)
    assert client.get(settings_url(project)).status_code == 403
    assert (
        client.post(settings_url(project, "project-state-add"), {"name": "X", "category": "active"}).status_code == 403
    )
    assert b"Settings" not in client.get(reverse("project-home", kwargs={"key": "DATA"})).content
    assert "X" not in names(project)


def test_settings_link_shows_for_admins(as_user, project):
    response = as_user("admin").get(reverse("project-home", kwargs={"key": "DATA"}))
    assert settings_url(project).encode() in response.content


# --- List and create ----------------------------------------------------------------


def test_project_list_shows_my_projects_and_role(as_user, project):
    response = as_user("owner").get(reverse("project-list"))
    assert b"DATA" in response.content and b"Product owner" in response.content
    assert b"OTHER" not in response.content


def test_create_project(as_user, project, people):
    data = {
        "key": "ml",
        "name": "ML team",
        "sprint_length_days": 10,
        "timezone": "Europe/Amsterdam",
        "wip_policy": "block",
    }
    response = as_user("member").post(reverse("project-create"), data)
    assert response.status_code == 302 and response["Location"] == "/p/ML/"
    created = Project.objects.get(key="ML")
    assert (created.sprint_length_days, created.timezone, created.wip_policy) == (10, "Europe/Amsterdam", "block")
    assert Membership.objects.get(project=created, user=people["member"]).role == Role.ADMIN


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"key": "DATA", "name": "Again"}, b"already exists"),
        ({"key": "X1", "name": "Bad key"}, b"2 to 10 capital letters"),
        ({"key": "OK", "name": ""}, b"This field is required"),
        ({"key": "OK", "name": "Long", "sprint_length_days": 400}, b"less than or equal to 90"),
        ({"key": "OK", "name": "Zone", "timezone": "Mars/Base"}, b"Select a valid choice"),
    ],
)
def test_create_project_refuses_bad_input(as_user, project, data, message):
    before = Project.objects.count()
    form = {"sprint_length_days": 14, "timezone": "UTC", "wip_policy": "warn"} | data
    response = as_user("member").post(reverse("project-create"), form)
    assert response.status_code == 400 and message in response.content
    assert Project.objects.count() == before


# --- Settings: project details --------------------------------------------------------


def test_admin_updates_project_settings(as_user, project):
    data = {"name": "Data platform", "sprint_length_days": 7, "timezone": "Asia/Tokyo", "wip_policy": "block"}
    response = as_user("admin").post(settings_url(project), data)
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.name, project.sprint_length_days, project.timezone, project.wip_policy) == (
        "Data platform",
        7,
        "Asia/Tokyo",
        "block",
    )


def test_bad_project_settings_change_nothing(as_user, project):
    data = {"name": "", "sprint_length_days": 0, "timezone": "UTC", "wip_policy": "warn"}
    response = as_user("admin").post(settings_url(project), data)
    assert response.status_code == 400 and b"errorlist" in response.content
    project.refresh_from_db()
    assert (project.name, project.sprint_length_days) == ("Data team", 14)


# --- Settings: members ------------------------------------------------------------------


def test_admin_adds_a_member_by_username(as_user, project, make_user):
    newcomer = make_user("newcomer")
    response = as_user("admin").post(
        settings_url(project, "project-member-add"), {"username": "newcomer", "role": "member"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(project=project, user=newcomer).role == "member"


@pytest.mark.parametrize(("username", "message"), [("nobody", b"no user named"), ("member", b"already a member")])
def test_adding_an_unknown_or_existing_member_is_an_error(as_user, project, username, message):
    before = Membership.objects.filter(project=project).count()
    response = as_user("admin").post(
        settings_url(project, "project-member-add"), {"username": username, "role": "admin"}
    )
    assert response.status_code == 400 and message in response.content
    assert Membership.objects.filter(project=project).count() == before
    assert Membership.objects.get(project=project, user__username="member").role == "member"


def test_admin_changes_a_role_and_removes_a_member(as_user, project, people):
    client = as_user("admin")
    member = Membership.objects.get(project=project, user=people["member"])
    client.post(settings_url(project, "project-member-role", member_id=member.pk), {"role": "product_owner"})
    member.refresh_from_db()
    assert member.role == "product_owner"
    client.post(settings_url(project, "project-member-remove", member_id=member.pk))
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_the_last_admin_cannot_step_down(as_user, project, people):
    admin = Membership.objects.get(project=project, user=people["admin"])
    client = as_user("admin")
    response = client.post(settings_url(project, "project-member-role", member_id=admin.pk), {"role": "member"})
    assert response.status_code == 400 and b"at least one admin" in response.content
    response = client.post(settings_url(project, "project-member-remove", member_id=admin.pk), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"at least one admin" in response.content
    admin.refresh_from_db()
    assert admin.role == "admin"


def test_members_of_another_project_cannot_be_reached(as_user, project):
    foreign = Membership.objects.get(project=project.other)
    response = as_user("admin").post(settings_url(project, "project-member-remove", member_id=foreign.pk))
    assert response.status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_member_actions_need_post(as_user, project):
    assert as_user("admin").get(settings_url(project, "project-member-add")).status_code == 405


# --- Settings: workflow ------------------------------------------------------------------


def test_add_a_state_with_htmx_returns_the_list(as_user, project):
    response = as_user("admin").post(
        settings_url(project, "project-state-add"),
        {"name": "Peer review", "category": "waiting", "wip_limit": "3"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response.content.lstrip().startswith(
        b'<section class="card" aria-labelledby="workflow-heading" id="workflow">'
    )
    assert b"Peer review" in response.content and b"<html" not in response.content
    state = WorkflowState.objects.get(project=project, name="Peer review")
    assert (state.category, state.wip_limit) == ("waiting", 3)
    assert names(project)[-3:] == ["Peer review", "Done", "Won't do"]  # an open state lands before the closed ones


def test_a_new_closed_state_goes_last(as_user, project):
    as_user("admin").post(settings_url(project, "project-state-add"), {"name": "Abandoned", "category": "cancelled"})
    assert names(project)[-1] == "Abandoned"


def test_saving_a_state_says_so_and_the_arrows_say_left_and_right(as_user, project):
    state = WorkflowState.objects.get(project=project, name="In progress")
    response = as_user("admin").post(
        settings_url(project, "project-state-update", state_id=state.pk),
        {"name": "In progress", "category": "active", "wip_limit": "4"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "In progress is saved, with a WIP limit of 4." in html and 'role="status"' in html
    assert "Move In progress left on the board" in html and "Right →" in html and "↑" not in html
    plain = as_user("admin").post(
        settings_url(project, "project-state-update", state_id=state.pk),
        {"name": "In progress", "category": "active", "wip_limit": ""},
        follow=True,
    )
    assert "In progress is saved, without a WIP limit." in plain.content.decode()


def test_the_time_zone_is_a_searchable_field(as_user, project):
    html = as_user("admin").get(reverse("project-settings", kwargs={"key": "DATA"})).content.decode()
    assert 'list="timezone-choices"' in html and '<datalist id="timezone-choices">' in html
    assert '<option value="Europe/Berlin">' in html
    bad = as_user("admin").post(
        reverse("project-settings", kwargs={"key": "DATA"}),
        {"name": "Data", "sprint_length_days": "14", "timezone": "Mars/Olympus", "wip_policy": "warn"},
    )
    assert bad.status_code == 400 and "Mars/Olympus" in bad.content.decode()


def test_add_a_state_without_htmx_redirects(as_user, project):
    response = as_user("admin").post(settings_url(project, "project-state-add"), {"name": "QA", "category": "active"})
    assert response.status_code == 302 and response["Location"].endswith("/p/DATA/settings/#workflow")
    assert "QA" in names(project)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Done", "category": "done"}, b"already a state named"),
        ({"name": "", "category": "done"}, b"This field is required"),
        ({"name": "New", "category": "finished"}, b"Select a valid choice"),
        ({"name": "New", "category": "active", "wip_limit": "0"}, b"greater than or equal to 1"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_adding_a_bad_state_is_refused(as_user, project, data, message, htmx):
    before = names(project)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = as_user("admin").post(settings_url(project, "project-state-add"), data, **headers)
    assert response.status_code == (200 if htmx else 400)
    assert message in response.content
    assert names(project) == before


def test_rename_recategorise_and_limit_a_state(as_user, project, states):
    state = states["Validating"]
    response = as_user("admin").post(
        settings_url(project, "project-state-update", state_id=state.pk),
        {"name": "Data checks", "category": "waiting", "wip_limit": "2"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and b"Data checks" in response.content
    state.refresh_from_db()
    assert (state.name, state.category, state.wip_limit) == ("Data checks", "waiting", 2)


def test_clearing_a_wip_limit(as_user, project, states):
    state = states["In progress"]
    WorkflowState.objects.filter(pk=state.pk).update(wip_limit=4)
    as_user("admin").post(
        settings_url(project, "project-state-update", state_id=state.pk),
        {"name": "In progress", "category": "active", "wip_limit": ""},
    )
    state.refresh_from_db()
    assert state.wip_limit is None


def test_renaming_to_a_duplicate_name_is_refused(as_user, project, states):
    state = states["Ready"]
    response = as_user("admin").post(
        settings_url(project, "project-state-update", state_id=state.pk),
        {"name": "Done", "category": "todo"},
        HTTP_HX_REQUEST="true",
    )
    assert b"already a state named" in response.content and b'role="alert"' in response.content
    state.refresh_from_db()
    assert state.name == "Ready"


def test_move_states_up_and_down(as_user, project, states):
    client = as_user("admin")
    client.post(settings_url(project, "project-state-move", state_id=states["Ready"].pk), {"direction": "up"})
    assert names(project)[:2] == ["Ready", "Backlog"]
    client.post(
        settings_url(project, "project-state-move", state_id=states["Ready"].pk),
        {"direction": "down"},
        HTTP_HX_REQUEST="true",
    )
    assert names(project)[:2] == ["Backlog", "Ready"]


def test_moving_past_the_edge_is_refused(as_user, project, states):
    before = names(project)
    response = as_user("admin").post(
        settings_url(project, "project-state-move", state_id=states["Backlog"].pk), {"direction": "up"}
    )
    assert response.status_code == 400 and b"position must be between" in response.content
    response = as_user("admin").post(
        settings_url(project, "project-state-move", state_id=states["Backlog"].pk), {"direction": "sideways"}
    )
    assert response.status_code == 400
    assert names(project) == before


def test_delete_an_empty_state(as_user, project, states):
    response = as_user("admin").post(
        settings_url(project, "project-state-delete", state_id=states["Waiting"].pk), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and b'value="Waiting"' not in response.content
    assert "Waiting" not in names(project)


def test_a_state_holding_stories_cannot_be_deleted(as_user, project, states, people):
    story_services.story_create(project=project, actor=people["member"], title="Load", state=states["Ready"])
    response = as_user("admin").post(settings_url(project, "project-state-delete", state_id=states["Ready"].pk))
    assert response.status_code == 400 and b"still holds 1 story" in response.content
    assert "Ready" in names(project)


def test_a_state_holding_only_deleted_stories_says_so_and_moves_them_to_delete(as_user, project, states, people):
    story = story_services.story_create(project=project, actor=people["member"], title="Load", state=states["Ready"])
    story_services.story_delete(story=story, actor=people["member"])
    client = as_user("admin")
    page = client.get(settings_url(project)).content.decode()
    assert "1 story (1 deleted)" in page and 'name="move_to"' in page
    url = settings_url(project, "project-state-delete", state_id=states["Ready"].pk)
    refused = client.post(url)
    assert refused.status_code == 400 and b"still holds 1 story (1 of them deleted)" in refused.content
    response = client.post(url, {"move_to": states["Backlog"].pk})
    assert response.status_code in (200, 302) and "Ready" not in names(project)
    story.refresh_from_db()
    assert story.state == states["Backlog"] and story.version == 3
    assert story.events.order_by("-seq").values_list("kind", "from_value", "to_value").first() == (
        "state",
        states["Ready"].pk,
        states["Backlog"].pk,
    )


def test_states_of_another_project_cannot_be_reached(as_user, project):
    foreign = WorkflowState.objects.filter(project=project.other).first()
    response = as_user("admin").post(settings_url(project, "project-state-delete", state_id=foreign.pk))
    assert response.status_code == 404
    assert WorkflowState.objects.filter(pk=foreign.pk).exists()


# --- Backlog, board, sprints, home ------------------------------------------------------


@pytest.fixture
def sprint_with_stories(project, states, people):
    sprint = story_services.sprint_create(
        project=project,
        actor=people["owner"],
        name="Sprint 1",
        goal="Ship the churn model",
        start=date(2026, 3, 2),
        end=date(2026, 3, 13),
    )
    make = story_services.story_create
    make(
        project=project,
        actor=people["owner"],
        title="Train model",
        points=5,
        sprint=sprint,
        state=states["Ready"],
        assignee=people["member"],
    )
    done = make(
        project=project, actor=people["owner"], title="Get data access", points=3, sprint=sprint, state=states["Ready"]
    )
    story_services.sprint_start(sprint=sprint, actor=people["owner"])
    story_services.story_change_state(story=done, state=states["Done"], actor=people["member"])
    blocked = make(
        project=project, actor=people["owner"], title="Wait for the warehouse", sprint=sprint, state=states["Waiting"]
    )
    story_services.story_block(story=blocked, reason="No credentials", actor=people["member"])
    return sprint


def test_backlog_lists_unplanned_open_stories_in_rank_order(as_user, project, states, people, sprint_with_stories):
    make = story_services.story_create
    epic = story_services.epic_save(project=project, name="Churn")
    make(project=project, actor=people["owner"], title="Second", points="1.5", kind="bug")
    first = make(
        project=project,
        actor=people["owner"],
        title="First",
        epic=epic,
        assignee=people["member"],
        placement=story_services.Placement(position="top"),
    )
    make(project=project, actor=people["owner"], title="Finished", state=states["Done"])
    gone = make(project=project, actor=people["owner"], title="Deleted")
    story_services.story_delete(story=gone, actor=people["owner"])
    content = as_user("stakeholder").get(reverse("project-backlog", kwargs={"key": "DATA"})).content.decode()
    assert content.index("First") < content.index("Second")
    assert "Churn" in content and "1.5" in content and "Bug" in content and first.key in content
    for hidden in ("Finished", "Deleted", "Train model"):
        assert hidden not in content


def test_backlog_is_paginated(as_user, project, people, monkeypatch):
    from apps.stories.views import backlog as views

    monkeypatch.setattr(views, "BACKLOG_PAGE_SIZE", 2)
    for n in range(3):
        story_services.story_create(project=project, actor=people["owner"], title=f"Story {n}")
    client = as_user("member")
    first = client.get(reverse("project-backlog", kwargs={"key": "DATA"})).content
    second = client.get(reverse("project-backlog", kwargs={"key": "DATA"}) + "?page=2").content
    assert b"Story 0" in first and b"Story 2" not in first and b"Story 2" in second and b"Page 2 of 2" in second


def test_board_shows_the_active_sprint_in_columns(as_user, project, sprint_with_stories):
    content = as_user("member").get(reverse("project-board", kwargs={"key": "DATA"})).content.decode()
    assert "Sprint 1" in content and "Train model" in content and "Blocked" in content and "No credentials" in content
    for column in ("Backlog", "Ready", "In progress", "Waiting", "Validating", "Done", "Won&#x27;t do"):
        assert column in content
    assert content.index("Train model") < content.index("Get data access")  # Ready comes before Done


def test_board_without_an_active_sprint(as_user, project):
    assert b"No sprint is running" in as_user("member").get(reverse("project-board", kwargs={"key": "DATA"})).content


def test_sprints_page_shows_commitment_and_completion(as_user, project, people, sprint_with_stories):
    story_services.sprint_create(project=project, actor=people["owner"], name="Sprint 2")
    content = as_user("stakeholder").get(reverse("project-sprints", kwargs={"key": "DATA"})).content.decode()
    assert "Sprint 1" in content and "Sprint 2" in content and "Ship the churn model" in content
    row = content[content.index("Sprint 1") :]
    assert '<td class="num">8</td>' in row and '<td class="num">3</td>' in row


def test_home_shows_the_active_sprint_and_counts(as_user, project, sprint_with_stories):
    content = as_user("member").get(reverse("project-home", kwargs={"key": "DATA"})).content.decode()
    assert "Sprint 1" in content and "1 of 3 stories done" in content and "3 of 8 points" in content
    assert 'value="38"' in content


@pytest.mark.parametrize(
    "page", ["project-home", "project-backlog", "project-board", "project-sprints", "project-settings"]
)
def test_pages_issue_a_fixed_number_of_queries(as_user, project, states, people, page, django_assert_max_num_queries):
    client = as_user("admin")
    url = reverse(page, kwargs={"key": "DATA"})
    sprint = story_services.sprint_create(project=project, actor=people["owner"], name="S1")
    story_services.sprint_start(sprint=sprint, actor=people["owner"])

    def add_stories(n: int) -> None:
        for i in range(n):
            story_services.story_create(
                project=project,
                actor=people["owner"],
                title=f"S{i}",
                points=1,
                assignee=people["member"],
                sprint=sprint if i % 2 else None,
                epic=story_services.epic_save(project=project, name=f"E{Sprint.objects.count()}-{i}-{n}"),
            )

    add_stories(2)  # one of them in the sprint: an empty sprint's report reads nothing at all
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add_stories(6)
    with django_assert_max_num_queries(len(few)):
        assert client.get(url).status_code == 200


def test_the_members_table_names_people_in_full_with_their_username(as_user, project, people):
    """Issue 15 item 16: full names (username as fallback) here too; the username stays beside it, as it is what
    adding a member asks for."""
    people["member"].first_name, people["member"].last_name = "Mia", "Member"
    people["member"].save()
    page = as_user("admin").get(reverse("project-settings", kwargs={"key": project.key})).content.decode()
    assert '<th scope="row">Mia Member <span class="muted">member</span>' in page
    assert "Role of Mia Member" in page and 'aria-label="Remove Mia Member"' in page
    assert '<th scope="row">admin <span class="muted">(you)</span>' in page  # no full name: the username alone
