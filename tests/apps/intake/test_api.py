"""The requests API: submit, triage (accept, merge, decline), groups; nothing lands in the running sprint."""

from __future__ import annotations

import pytest

from apps.intake import services
from apps.intake.models import Request
from apps.stories import services as story_services
from apps.stories.models import Story, StoryEvent
from tests.apps.intake.helpers import email_request
from tests.apps.test_api_robustness import WRONG_VALUES, assert_clean_4xx

pytestmark = pytest.mark.django_db


@pytest.fixture
def ask(client_for):
    def submit(role: str, title: str, **extra) -> dict:
        response = client_for(role).post("/api/v1/projects/DATA/requests/", {"title": title, **extra}, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return submit


def test_a_stakeholder_submits_and_everyone_sees_it(world, ask, client_for):
    created = ask("stakeholder", "Churn by region", detail="For the Q3 review", channel="meeting")
    assert created["status"] == "open" and created["requester"] == "stakeholder" and created["channel"] == "meeting"
    listed = client_for("member").get("/api/v1/projects/DATA/requests/").json()["results"]
    assert [r["id"] for r in listed] == [created["id"]]
    assert client_for("outsider").get(f"/api/v1/requests/{created['id']}/").status_code == 404
    mine = client_for("member").get("/api/v1/projects/DATA/requests/?mine=true").json()["results"]
    assert mine == []


@pytest.mark.parametrize(
    "body, field", [({"title": " "}, "title"), ({"title": "x", "channel": "fax"}, "channel"), ({}, "title")]
)
def test_bad_submissions_are_400s(world, client_for, body, field):
    response = client_for("stakeholder").post("/api/v1/projects/DATA/requests/", body, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == field
    assert not Request.objects.exists()


def test_accept_creates_a_linked_story_at_the_bottom_of_the_backlog(world, ask, client_for):
    created = ask("stakeholder", "Churn by region", detail="Split by country")
    accepted = client_for("owner").post(f"/api/v1/requests/{created['id']}/accept/", {}, format="json")
    assert accepted.status_code == 200, accepted.content
    body = accepted.json()
    assert body["status"] == "accepted" and body["story"] == "DATA-3"
    story = Story.objects.get(key="DATA-3")
    assert story.sprint is None and story.title == "Churn by region" and "Split by country" in story.description
    assert "stakeholder" in story.description and story.requests.get().requester.username == "stakeholder"
    backlog = client_for("owner").get("/api/v1/projects/DATA/backlog/").json()["results"]
    assert [s["key"] for s in backlog][-1] == "DATA-3"
    again = client_for("owner").post(f"/api/v1/requests/{created['id']}/accept/", {}, format="json")
    assert again.status_code == 409 and Story.objects.count() == 3


def test_accept_with_a_placement_and_into_a_planned_sprint(world, ask, client_for):
    first = ask("stakeholder", "Churn by region")
    second = ask("stakeholder", "Revenue by product")
    owner = client_for("owner")
    assert owner.post(f"/api/v1/requests/{first['id']}/accept/", {"before": "DATA-1"}, format="json").status_code == 200
    keys = [s["key"] for s in owner.get("/api/v1/projects/DATA/backlog/").json()["results"]]
    assert keys == ["DATA-3", "DATA-1", "DATA-2"]
    planned = owner.post(
        f"/api/v1/requests/{second['id']}/accept/", {"position": "top", "sprint": world.sprint.pk}, format="json"
    )
    assert planned.status_code == 200 and Story.objects.get(key=planned.json()["story"]).sprint == world.sprint


def test_the_active_sprint_is_refused(world, ask, client_for, people):
    story_services.sprint_start(sprint=world.sprint, actor=people["owner"])
    created = ask("stakeholder", "Urgent thing")
    events = StoryEvent.objects.count()
    response = client_for("owner").post(
        f"/api/v1/requests/{created['id']}/accept/", {"position": "top", "sprint": world.sprint.pk}, format="json"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "sprint"
    assert (
        Request.objects.get().status == "open" and StoryEvent.objects.count() == events and Story.objects.count() == 2
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({"before": "DATA-99"}, "before"),
        ({"before": "DATA-1", "after": "DATA-2"}, "position"),
        ({"sprint": 999999}, "sprint"),
    ],
)
def test_bad_placements_are_400s_and_change_nothing(world, ask, client_for, body, field):
    created = ask("stakeholder", "Churn by region")
    response = client_for("owner").post(f"/api/v1/requests/{created['id']}/accept/", body, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == field
    assert Request.objects.get().status == "open" and Story.objects.count() == 2


def test_merge_folds_one_request_into_another_and_follows_chains(world, ask, client_for):
    a, b, c = (ask("stakeholder", t)["id"] for t in ("Churn dashboard", "Churn dashboards", "Dashboard of churn"))
    owner = client_for("owner")
    assert owner.post(f"/api/v1/requests/{a}/merge/", {"into": b}, format="json").json()["merged_into"] == b
    assert owner.post(f"/api/v1/requests/{b}/merge/", {"into": c}, format="json").status_code == 200
    assert Request.objects.get(pk=a).merged_into_id == c  # re-pointed: no chains
    for body, field in [({"into": c}, None), ({"into": a}, "into"), ({"into": 10**9}, "into")]:
        response = owner.post(f"/api/v1/requests/{c}/merge/", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["field"] in ("into", field)
    assert owner.post(f"/api/v1/requests/{a}/merge/", {"into": c}, format="json").status_code == 409


def test_decline_needs_a_reason_which_the_requester_sees(world, ask, client_for):
    created = ask("stakeholder", "Rewrite everything in Rust")
    owner = client_for("owner")
    assert owner.post(f"/api/v1/requests/{created['id']}/decline/", {"reason": "  "}, format="json").status_code == 400
    declined = owner.post(f"/api/v1/requests/{created['id']}/decline/", {"reason": "Not a data product"}, format="json")
    assert declined.json()["status"] == "declined"
    mine = client_for("stakeholder").get("/api/v1/projects/DATA/requests/?mine=true").json()["results"]
    assert mine[0]["decline_reason"] == "Not a data product"


def test_a_member_cannot_triage(world, ask, client_for):
    created = ask("stakeholder", "Churn by region")
    for action, body in [("accept", {}), ("merge", {"into": created["id"]}), ("decline", {"reason": "no"})]:
        assert (
            client_for("member").post(f"/api/v1/requests/{created['id']}/{action}/", body, format="json").status_code
            == 403
        )
    assert Request.objects.get().status == "open"


def test_groups_are_largest_first_with_distinct_requesters(world, ask, client_for):
    ask("stakeholder", "Churn dashboard for marketing")
    ask("member", "Marketing churn dashboards")
    ask("stakeholder", "A churn dashboard, marketing")
    ask("member", "Export revenue to CSV")
    merged = ask("admin", "Churn dashboard marketing please")
    first = Request.objects.order_by("pk").first()
    client_for("owner").post(f"/api/v1/requests/{merged['id']}/merge/", {"into": first.pk}, format="json")
    groups = client_for("stakeholder").get("/api/v1/projects/DATA/requests/groups/").json()["results"]
    assert [g["count"] for g in groups] == [3, 1]
    assert groups[0]["requesters"] == ["admin", "member", "stakeholder"]  # the merged ask's requester counts too
    assert groups[0]["title"] in {r.title for r in Request.objects.all()} and len(groups[0]["requests"]) == 3


def test_groups_are_documented_with_their_method_and_threshold(client):
    schema = client.get("/api/schema/?format=json").json()
    description = schema["paths"]["/api/v1/projects/{key}/requests/groups/"]["get"]["description"]
    assert "Jaccard" in description and "0.5" in description and "single-link" in description


def test_fuzzed_triage_bodies_get_clean_4xx(world, ask, client_for):
    created = ask("stakeholder", "Churn by region")
    owner = client_for("owner")
    for action in ("accept", "merge", "decline"):
        url = f"/api/v1/requests/{created['id']}/{action}/"
        for raw in ["{not json", "[1]", "null"]:
            assert owner.post(url, raw, content_type="application/json").status_code == 400
        for field in ("into", "reason", "position", "before", "after", "sprint", "title"):
            for value in WRONG_VALUES:
                assert_clean_4xx(owner.post(url, {field: value}, format="json"))
                Request.objects.filter(pk=created["id"]).update(status="open")


def test_groups_span_every_channel_and_count_the_asks_of_each(world, ask, client_for, people):
    ask("stakeholder", "Churn dashboard for marketing")
    ask("owner", "Marketing churn dashboards", channel="meeting")
    ask("member", "Export revenue to CSV")
    mailed = email_request(world.project, "Churn dashboard, marketing")
    folded = email_request(world.project, "Marketing churn dashboard", sender="cfo@elsewhere.org")
    services.request_merge(request=folded, into=mailed, actor=people["owner"])
    groups = client_for("stakeholder").get("/api/v1/projects/DATA/requests/groups/").json()["results"]
    assert [(g["count"], g["asks"], g["channels"]) for g in groups] == [
        (3, 4, {"email": 2, "meeting": 1, "web": 1}),
        (1, 1, {"web": 1}),
    ]
    assert list(groups[0]["channels"]) == ["email", "meeting", "web"], "most asks first"
    assert groups[0]["requesters"] == ["cfo@elsewhere.org", "client@elsewhere.org", "owner", "stakeholder"]


def test_the_queue_filters_by_channel(world, ask, client_for):
    ask("stakeholder", "Churn by region")
    meeting = ask("owner", "Revenue by product", channel="meeting")
    client = client_for("member")
    only = client.get("/api/v1/projects/DATA/requests/?channel=meeting").json()["results"]
    assert [r["id"] for r in only] == [meeting["id"]]
    assert client.get("/api/v1/projects/DATA/requests/?channel=email&status=open").json()["results"] == []
    assert len(client.get("/api/v1/projects/DATA/requests/").json()["results"]) == 2
    bad = client.get("/api/v1/projects/DATA/requests/?channel=fax")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "channel"


def test_an_emailed_request_shows_its_sender_address(world, client_for):
    created = email_request(world.project, "Export")
    body = client_for("stakeholder").get(f"/api/v1/requests/{created.pk}/").json()
    assert (body["channel"], body["requester"], body["requester_email"]) == ("email", None, "client@elsewhere.org")
