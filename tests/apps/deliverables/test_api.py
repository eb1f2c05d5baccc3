from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.deliverables import services
from apps.deliverables.models import DEFAULT_CHECKLISTS, Deliverable
from apps.stories import services as story_services

pytestmark = pytest.mark.django_db


def create(client, **body):
    return client.post(
        "/api/v1/projects/DATA/deliverables/", {"name": "Revenue dashboard", "kind": "dashboard", **body}, format="json"
    )


def test_a_member_creates_a_deliverable_with_its_people_and_its_checklist(client_for, world):
    response = create(
        client_for("member"),
        owner="member",
        consumers=["stakeholder"],
        consumer_groups=["Finance"],
        data_sources=["Stripe", "Salesforce"],
        link="https://looker.example.com/d/12",
        target_date="2026-06-30",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert {
        k: body[k]
        for k in ("name", "kind", "owner", "consumers", "consumer_groups", "data_sources", "status", "version")
    } == {
        "name": "Revenue dashboard",
        "kind": "dashboard",
        "owner": "member",
        "consumers": ["stakeholder"],
        "consumer_groups": ["Finance"],
        "data_sources": ["Stripe", "Salesforce"],
        "status": "proposed",
        "version": 1,
    }
    assert body["progress"]["items_total"] == len(DEFAULT_CHECKLISTS["dashboard"])
    checklist = client_for("stakeholder").get(f"/api/v1/deliverables/{body['id']}/checklist/").json()["results"]
    assert [item["text"] for item in checklist] == list(DEFAULT_CHECKLISTS["dashboard"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"consumers": ["outsider"]}, "consumers"),
        ({"owner": "nobody"}, "owner"),
        ({"kind": "spreadsheet"}, "kind"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"status": "published"}, "status"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client_for, world, body, field):
    response = create(client_for("member"), **body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert not Deliverable.objects.filter(name="Revenue dashboard").exists()


def test_a_duplicate_name_is_a_409(client_for, world):
    response = create(client_for("member"), name="CRM dataset")
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "duplicate"


def test_the_list_filters_by_kind_status_and_consumer(client_for, world, people):
    member = client_for("member")
    create(member, consumers=["stakeholder"])
    create(member, name="Lead model", kind="ml_model", consumer_groups=["Sales ops"], status="validating")

    def names(query):
        response = member.get(f"/api/v1/projects/DATA/deliverables/?{query}")
        assert response.status_code == 200, response.content
        return [d["name"] for d in response.json()["results"]]

    assert names("") == ["CRM dataset", "Lead model", "Revenue dashboard"]
    assert names("kind=ml_model") == ["Lead model"]
    assert names("status=in_development") == ["CRM dataset"]
    assert names("consumer=stakeholder") == ["Revenue dashboard"]
    assert names("consumer=sales%20OPS") == ["Lead model"]
    assert member.get("/api/v1/projects/DATA/deliverables/?status=done").status_code == 400


def test_the_list_answers_in_a_fixed_number_of_queries(client_for, world, people, project):
    client = client_for("stakeholder")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/projects/DATA/deliverables/").status_code == 200
        return len(queries)

    few = count()
    for n in range(6):
        d = services.deliverable_create(
            project=project, actor=people["member"], name=f"D{n}", kind="report", consumers=[people["stakeholder"]]
        )
        story_services.story_create(project=project, actor=people["member"], title=f"S{n}", points=2, deliverable=d)
    assert count() == few


def test_progress_is_shown_in_count_and_points(client_for, world, people, states):
    story_services.story_update(
        story=world.story, actor=people["member"], deliverable=world.deliverable, state=states["Done"]
    )
    story_services.story_update(
        story=world.other_story, actor=people["member"], deliverable=world.deliverable, points=2
    )
    body = client_for("stakeholder").get(f"/api/v1/deliverables/{world.deliverable.pk}/").json()
    assert body["progress"] == {
        "stories_done": 1,
        "stories_total": 2,
        "points_done": 3,
        "points_total": 5,
        "items_done": 0,
        "items_total": 4,
        "percent": 60,
    }


def test_patch_needs_the_current_version_and_a_stale_one_is_a_409(client_for, world):
    member = client_for("member")
    url = f"/api/v1/deliverables/{world.deliverable.pk}/"
    assert member.patch(url, {"description": "x"}, format="json").status_code == 400
    assert (
        member.patch(url, {"version": 1, "description": "Customers from both CRMs"}, format="json").status_code == 200
    )
    stale = member.patch(url, {"version": 1, "name": "Lost"}, format="json")
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert Deliverable.objects.get(pk=world.deliverable.pk).name == "CRM dataset"


def test_publishing_is_refused_with_a_409_naming_each_open_item_and_unfinished_story(client_for, world, people):
    story_services.story_update(story=world.story, actor=people["member"], deliverable=world.deliverable)
    first, *others = list(world.deliverable.checklist.order_by("position"))
    services.checklist_item_update(item=first, actor=people["member"], done=True)
    response = client_for("member").post(f"/api/v1/deliverables/{world.deliverable.pk}/publish/")
    assert response.status_code == 409
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [f"checklist[{i.pk}]" for i in others] + ["stories[DATA-1]"]
    assert {e["code"] for e in errors} == {"item_open", "story_unfinished"}
    assert all(item.text in error["message"] for item, error in zip(others, errors, strict=False))
    assert Deliverable.objects.get(pk=world.deliverable.pk).status == "in_development"


def test_publishing_succeeds_once_everything_is_done_and_then_shows_in_the_timeline(client_for, world, people, states):
    story_services.story_update(
        story=world.story, actor=people["member"], deliverable=world.deliverable, state=states["Done"]
    )
    member = client_for("member")
    for item in world.deliverable.checklist.all():
        url = f"/api/v1/deliverables/{world.deliverable.pk}/checklist/{item.pk}/"
        assert member.patch(url, {"done": True}, format="json").json()["ticked_by"] == "member"
    response = member.post(f"/api/v1/deliverables/{world.deliverable.pk}/publish/")
    assert response.status_code == 200 and response.json()["status"] == "published"
    events = client_for("stakeholder").get(f"/api/v1/deliverables/{world.deliverable.pk}/events/").json()["results"]
    assert events[-1] | {"id": 0, "at": ""} == {
        "id": 0,
        "kind": "status",
        "field": None,
        "from": "in_development",
        "to": "published",
        "actor": "member",
        "at": "",
    }
    assert member.post(f"/api/v1/deliverables/{world.deliverable.pk}/publish/").status_code == 409
    assert member.delete(f"/api/v1/deliverables/{world.deliverable.pk}/").status_code == 409


def test_a_stakeholder_may_tick_only_an_item_assigned_to_them(client_for, world, people):
    stakeholder = client_for("stakeholder")
    url = f"/api/v1/deliverables/{world.deliverable.pk}/checklist/{world.item.pk}/"
    assert stakeholder.patch(url, {"done": True}, format="json").status_code == 403
    services.checklist_item_update(item=world.item, actor=people["member"], assignee=people["stakeholder"])
    response = stakeholder.patch(
        url, {"done": True, "evidence_url": "https://docs.example.com/sign-off"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["done"], response.json()["ticked_by"]) == (True, "stakeholder")
    assert stakeholder.patch(url, {"text": "Sure, whatever"}, format="json").status_code == 403
    assert stakeholder.delete(url).status_code == 403
    assert (
        stakeholder.post(
            f"/api/v1/deliverables/{world.deliverable.pk}/checklist/", {"text": "Mine"}, format="json"
        ).status_code
        == 403
    )


def test_items_are_added_assigned_and_removed_by_members(client_for, world):
    member = client_for("member")
    base = f"/api/v1/deliverables/{world.deliverable.pk}/checklist/"
    added = member.post(base, {"text": "PII reviewed", "assignee": "stakeholder"}, format="json")
    assert added.status_code == 201 and added.json()["assignee"] == "stakeholder"
    assert member.post(base, {"text": "X", "assignee": "outsider"}, format="json").status_code == 400
    assert member.delete(f"{base}{added.json()['id']}/").status_code == 204
    assert member.get(f"{base}{added.json()['id']}/").status_code == 404


def test_items_of_another_deliverable_are_not_found(client_for, world, project, people):
    other = services.deliverable_create(project=project, actor=people["member"], name="Other", kind="report")
    item = other.checklist.first()
    response = client_for("member").patch(
        f"/api/v1/deliverables/{world.deliverable.pk}/checklist/{item.pk}/", {"done": True}, format="json"
    )
    assert response.status_code == 404


def test_admins_edit_a_kinds_template_and_new_deliverables_use_it(client_for, world):
    admin = client_for("admin")
    response = admin.patch(
        "/api/v1/projects/DATA/checklist-templates/dashboard/",
        {"items": ["Numbers reconciled", "Owner named"]},
        format="json",
    )
    assert response.status_code == 200 and response.json() == {
        "kind": "dashboard",
        "items": ["Numbers reconciled", "Owner named"],
    }
    listing = client_for("stakeholder").get("/api/v1/projects/DATA/checklist-templates/").json()
    assert {t["kind"]: t["items"] for t in listing}["dashboard"] == ["Numbers reconciled", "Owner named"]
    created = create(client_for("member")).json()
    assert created["progress"]["items_total"] == 2
    assert admin.get("/api/v1/projects/DATA/checklist-templates/spreadsheet/").status_code == 404


def test_retire_answers_the_retired_deliverable(client_for, world):
    response = client_for("member").post(f"/api/v1/deliverables/{world.deliverable.pk}/retire/")
    assert response.status_code == 200 and response.json()["status"] == "retired" and response.json()["retired_at"]


# --- The story side ------------------------------------------------------------------------------------------


def test_stories_show_link_and_filter_by_their_deliverable(client_for, world, project, people):
    member = client_for("member")
    story = member.get("/api/v1/stories/DATA-1/").json()
    assert story["deliverable"] is None
    linked = member.patch(
        "/api/v1/stories/DATA-1/", {"version": story["version"], "deliverable": world.deliverable.pk}, format="json"
    )
    assert linked.status_code == 200 and linked.json()["deliverable"] == world.deliverable.pk
    created = member.post(
        "/api/v1/projects/DATA/stories/", {"title": "Lineage", "deliverable": world.deliverable.pk}, format="json"
    )
    assert created.status_code == 201 and created.json()["deliverable"] == world.deliverable.pk

    def keys(query):
        return [s["key"] for s in member.get(f"/api/v1/projects/DATA/stories/?{query}").json()["results"]]

    assert sorted(keys(f"deliverable={world.deliverable.pk}")) == ["DATA-1", created.json()["key"]]
    assert keys("deliverable=none") == ["DATA-2"]
    assert member.get("/api/v1/projects/DATA/stories/?deliverable=abc").status_code == 400

    elsewhere = services.deliverable_create(
        project=project.other, actor=people["outsider"], name="Theirs", kind="report"
    )
    version = linked.json()["version"]
    refused = member.patch("/api/v1/stories/DATA-1/", {"version": version, "deliverable": elsewhere.pk}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "deliverable"
    unlinked = member.patch("/api/v1/stories/DATA-1/", {"version": version, "deliverable": None}, format="json")
    assert unlinked.status_code == 200 and unlinked.json()["deliverable"] is None
