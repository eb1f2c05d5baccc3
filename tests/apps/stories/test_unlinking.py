"""Deleting what stories point at, from every door (API, admin, a deliverable's page): each affected story
gets its event and a new version, so replaying the log still gives the row (issue 12's reproductions)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.stories import services
from apps.stories.models import Sprint, Story

pytestmark = pytest.mark.django_db


def last_event(story: Story) -> tuple:
    return story.events.order_by("-seq").values_list("kind", "field", "from_value", "to_value").first()


def test_deleting_an_epic_through_the_api_logs_the_change_on_its_stories(world, client_for):
    response = client_for("member").delete(f"/api/v1/projects/DATA/epics/{world.epic.pk}/")
    assert response.status_code == 204
    story = Story.objects.get(pk=world.story.pk)
    assert story.epic is None and story.version == 2
    assert last_event(story) == ("updated", "epic", world.epic.pk, None)


def test_deleting_a_label_through_the_api_logs_the_change_on_its_stories(world, client_for):
    assert client_for("member").delete(f"/api/v1/projects/DATA/labels/{world.label.pk}/").status_code == 204
    story = Story.objects.get(pk=world.story.pk)
    assert list(story.labels.all()) == [] and story.version == 2
    assert last_event(story) == ("updated", "labels", ["dbt"], [])


def test_an_epic_merges_into_another_and_a_bad_target_changes_nothing(world, client_for, project):
    other = services.epic_save(project=project, name="Revenue")
    client = client_for("member")
    refused = client.delete(f"/api/v1/projects/DATA/epics/{world.epic.pk}/?into=nope")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "into"
    assert Story.objects.get(pk=world.story.pk).version == 1
    assert client.delete(f"/api/v1/projects/DATA/epics/{world.epic.pk}/?into={other.pk}").status_code == 204
    story = Story.objects.get(pk=world.story.pk)
    assert story.epic == other and last_event(story) == ("updated", "epic", world.epic.pk, other.pk)


def test_a_planned_sprint_deleted_through_the_api_sends_its_stories_to_the_backlog(world, client_for, people):
    services.story_move(story=world.story, actor=people["owner"], placement=services.TOP, sprint=world.sprint)
    client = client_for("owner")
    assert client.delete(f"/api/v1/sprints/{world.sprint.pk}/").status_code == 204
    story = Story.objects.get(pk=world.story.pk)
    assert story.sprint is None and last_event(story) == ("sprint", "", world.sprint.pk, None)
    assert not Sprint.objects.filter(pk=world.sprint.pk).exists()


def test_a_started_sprint_cannot_be_deleted(world, client_for, people):
    services.sprint_start(sprint=world.sprint, actor=people["owner"])
    response = client_for("owner").delete(f"/api/v1/sprints/{world.sprint.pk}/")
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "bad_transition"


def test_deleting_a_sprint_in_the_admin_goes_through_the_service(world, client, make_user, people):
    services.story_move(story=world.story, actor=people["owner"], placement=services.TOP, sprint=world.sprint)
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    response = client.post(reverse("admin:stories_sprint_delete", args=[world.sprint.pk]), {"post": "yes"})
    assert response.status_code == 302
    story = Story.objects.get(pk=world.story.pk)
    assert story.sprint is None and last_event(story) == ("sprint", "", world.sprint.pk, None)


@pytest.mark.parametrize("model", ["epic", "label"])
def test_deleting_an_epic_or_label_in_the_admin_goes_through_the_service(world, client, make_user, model):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    item = getattr(world, model)
    response = client.post(reverse(f"admin:stories_{model}_delete", args=[item.pk]), {"post": "yes"})
    assert response.status_code == 302
    story = Story.objects.get(pk=world.story.pk)
    assert story.version == 2 and last_event(story)[:2] == ("updated", "labels" if model == "label" else "epic")


def test_deleting_a_deliverable_unlinks_its_stories_with_events(world, client_for, people):
    services.story_update(story=world.story, actor=people["member"], deliverable=world.deliverable)
    assert client_for("member").delete(f"/api/v1/deliverables/{world.deliverable.pk}/").status_code == 204
    story = Story.objects.get(pk=world.story.pk)
    assert story.deliverable is None and story.version == 3
    assert last_event(story) == ("updated", "deliverable", world.deliverable.pk, None)


def test_a_deleted_story_is_unlinked_too(world, people):
    services.story_delete(story=world.story, actor=people["member"])
    services.epic_delete(epic=world.epic, actor=people["member"])
    story = Story.objects.get(pk=world.story.pk)
    assert story.is_deleted and story.epic is None and story.version == 3


def test_deleting_a_user_unassigns_their_stories_with_events(world, people):
    services.story_assign(story=world.story, assignee=people["member"], actor=people["owner"])
    people["member"].delete()
    story = Story.objects.get(pk=world.story.pk)
    assert story.assignee is None and last_event(story) == ("assignee", "", "member", None)
