from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from apps.projects.models import Membership, Project, WorkflowState
from apps.stories import services
from apps.stories.models import Comment, Epic, Label, Sprint, Story, StoryEvent
from apps.web.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, make_user):
    user = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def story_form(story_or_project, states, **overrides):
    data = {
        "title": "Build the churn dashboard",
        "description": "",
        "acceptance_criteria": "",
        "kind": "story",
        "points": "3",
        "state": states["Ready"].pk,
        "epic": "",
        "assignee": "",
        "sprint": "",
        "blocked_reason": "",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
        "comments-TOTAL_FORMS": "0",
        "comments-INITIAL_FORMS": "0",
    }
    return data | overrides


@pytest.mark.parametrize(
    "model", [Project, Membership, WorkflowState, Story, StoryEvent, Sprint, Epic, Label, Comment, ApiToken]
)
def test_every_model_is_registered(model):
    assert admin.site.is_registered(model)


@pytest.mark.parametrize(
    "model",
    ["project", "membership", "workflowstate", "story", "storyevent", "sprint", "epic", "label", "comment", "apitoken"],
)
def test_admin_lists_render(client, staff, project, model):
    app = {"apitoken": "web", "project": "projects", "membership": "projects", "workflowstate": "projects"}.get(
        model, "stories"
    )
    assert client.get(reverse(f"admin:{app}_{model}_changelist")).status_code == 200


def test_adding_a_story_goes_through_the_service(client, staff, project, states):
    response = client.post(reverse("admin:stories_story_add"), story_form(project, states, project=project.pk))
    assert response.status_code == 302, response.content
    story = Story.objects.get()
    assert story.key == "DATA-1" and story.rank
    assert list(StoryEvent.objects.filter(story=story).values_list("kind", "seq", "actor")) == [
        ("created", 1, staff.pk)
    ]


def test_changing_a_story_writes_one_event_per_changed_field(client, staff, project, states, people):
    story = services.story_create(
        project=project, actor=people["member"], title="Build the churn dashboard", points=3, state=states["Ready"]
    )
    data = story_form(story, states, points="5", state=states["In progress"].pk)
    response = client.post(reverse("admin:stories_story_change", args=[story.pk]), data)
    assert response.status_code == 302, response.content
    story.refresh_from_db()
    assert (story.points, story.state_id, story.version) == (5, states["In progress"].pk, 2)
    kinds = list(StoryEvent.objects.filter(story=story).order_by("seq").values_list("kind", flat=True))
    assert sorted(kinds) == ["created", "points", "state"]


def test_a_refused_change_is_a_message_not_a_500(client, staff, project, states, people):
    story = services.story_create(
        project=project, actor=people["member"], title="Build the churn dashboard", state=states["Ready"]
    )
    sprint = services.sprint_create(project=project, actor=people["owner"])
    services.sprint_start(sprint=sprint, actor=people["owner"])
    services.sprint_close(sprint=sprint, actor=people["owner"], unfinished="backlog")
    response = client.post(
        reverse("admin:stories_story_change", args=[story.pk]), story_form(story, states, sprint=sprint.pk), follow=True
    )
    assert response.status_code == 200 and b"is closed" in response.content
    story.refresh_from_db()
    assert story.sprint is None and story.version == 1


def test_deleting_a_story_is_a_soft_delete_with_an_event(client, staff, project, states, people):
    story = services.story_create(project=project, actor=people["member"], title="Old", state=states["Ready"])
    assert b"Old" in client.get(reverse("admin:stories_story_delete", args=[story.pk])).content
    response = client.post(reverse("admin:stories_story_delete", args=[story.pk]), {"post": "yes"})
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.deleted_at is not None
    assert StoryEvent.objects.filter(story=story, kind="deleted").count() == 1


def test_bulk_delete_goes_through_the_service(client, staff, project, states, people):
    stories = [services.story_create(project=project, actor=people["member"], title=f"S{i}") for i in range(2)]
    data = {"action": "delete_selected", "_selected_action": [s.pk for s in stories], "post": "yes"}
    assert client.post(reverse("admin:stories_story_changelist"), data).status_code == 302
    assert Story.objects.filter(deleted_at__isnull=False).count() == 2
    assert StoryEvent.objects.filter(kind="deleted").count() == 2


def test_the_story_page_shows_its_events_read_only(client, staff, project, people):
    story = services.story_create(project=project, actor=people["member"], title="Logged")
    content = client.get(reverse("admin:stories_story_change", args=[story.pk])).content.decode()
    assert "created" in content and 'name="events-0-kind"' not in content


def test_story_events_cannot_be_added_changed_or_deleted(client, staff, project, people):
    story = services.story_create(project=project, actor=people["member"], title="Logged")
    event = StoryEvent.objects.get(story=story)
    assert client.get(reverse("admin:stories_storyevent_add")).status_code == 403
    assert client.get(reverse("admin:stories_storyevent_delete", args=[event.pk])).status_code == 403
    response = client.post(reverse("admin:stories_storyevent_change", args=[event.pk]), {"kind": "deleted"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.kind == "created"


def test_adding_a_project_in_the_admin_gives_it_a_workflow_and_an_admin(client, staff):
    data = {
        "key": "ML",
        "name": "ML",
        "sprint_length_days": 14,
        "timezone": "UTC",
        "wip_policy": "warn",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "states-TOTAL_FORMS": "0",
        "states-INITIAL_FORMS": "0",
    }
    response = client.post(reverse("admin:projects_project_add"), data)
    assert response.status_code == 302, response.content
    project = Project.objects.get(key="ML")
    assert project.states.count() == 7 and project.memberships.get().user == staff


def test_removing_the_last_admin_in_the_admin_is_refused(client, staff, project, people):
    membership = Membership.objects.get(project=project, user=people["admin"])
    response = client.post(
        reverse("admin:projects_membership_delete", args=[membership.pk]), {"post": "yes"}, follow=True
    )
    assert b"at least one admin" in response.content
    assert Membership.objects.filter(pk=membership.pk).exists()
