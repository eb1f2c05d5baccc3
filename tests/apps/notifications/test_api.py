"""/api/v1/notifications/ and /api/v1/stories/{KEY}/watchers/."""

from __future__ import annotations

import pytest

from apps.notifications.models import Notification
from apps.stories import services as story_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def mentioned(world, people):
    """Three notifications for the stakeholder: two mentions on DATA-1, one on DATA-2."""
    story_services.comment_add(story=world.story, author=people["member"], body="@stakeholder please check")
    story_services.comment_add(story=world.story, author=people["owner"], body="@stakeholder and again")
    story_services.comment_add(story=world.other_story, author=people["owner"], body="cc @stakeholder")
    return Notification.objects.filter(user=people["stakeholder"]).order_by("pk")


def test_the_list_has_the_contract_fields_newest_first(mentioned, client_for):
    body = client_for("stakeholder").get("/api/v1/notifications/").json()
    assert body["count"] == 3
    newest = body["results"][0]
    assert set(newest) == {"id", "kind", "read", "created_at", "actor", "story", "text", "url"}
    assert (newest["kind"], newest["read"], newest["actor"], newest["story"]) == ("mentioned", False, "owner", "DATA-2")
    assert newest["url"] == "/p/DATA/stories/DATA-2/"


def test_one_sees_only_their_own(mentioned, client_for):
    assert client_for("outsider").get("/api/v1/notifications/").json()["count"] == 0


def test_mark_some_then_all_read_and_filter_unread(mentioned, client_for):
    client = client_for("stakeholder")
    first = mentioned[0].pk
    assert client.post("/api/v1/notifications/read/", {"ids": [first]}, format="json").json() == {"marked": 1}
    unread = client.get("/api/v1/notifications/?unread=1").json()
    assert unread["count"] == 2 and first not in [n["id"] for n in unread["results"]]
    assert client.post("/api/v1/notifications/read/", {"all": True}, format="json").json() == {"marked": 2}
    assert client.get("/api/v1/notifications/?unread=1").json()["count"] == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "ids"),
        ({"ids": [1], "all": True}, "ids"),
        ({"ids": ["x"]}, "ids"),
        ({"ids": [0]}, "ids"),
        ({"al": 1}, "al"),
    ],
)
def test_a_bad_read_body_is_a_400_naming_the_field(world, client_for, body, field):
    response = client_for("member").post("/api/v1/notifications/read/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"].startswith(field)  # "ids.0": the list item at fault


def test_watch_and_unwatch_a_story(world, client_for):
    client = client_for("stakeholder")
    assert client.post("/api/v1/stories/DATA-1/watchers/").json() == {"watching": True, "count": 3}
    listed = client.get("/api/v1/stories/DATA-1/watchers/").json()["results"]
    assert [w["user"] for w in listed] == ["member", "owner", "stakeholder"]
    assert client.delete("/api/v1/stories/DATA-1/watchers/").json() == {"watching": False, "count": 2}


def test_outsiders_cannot_see_or_watch(world, client_for):
    assert client_for("outsider").post("/api/v1/stories/DATA-1/watchers/").status_code == 404
    assert client_for("outsider").get("/api/v1/stories/DATA-1/watchers/").status_code == 404
