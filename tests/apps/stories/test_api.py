from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.stories import services
from apps.stories.models import Sprint, Story, StoryEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client_for):
    return client_for("member")


@pytest.fixture
def owner(client_for):
    return client_for("owner")


def test_a_story_has_the_contract_fields(world, member):
    body = member.get("/api/v1/stories/DATA-1/").json()
    assert body["key"] == "DATA-1" and body["points"] == 3 and body["labels"] == ["dbt"]
    assert body["epic"] == world.epic.pk and body["sprint"] is None and body["assignee"] is None
    assert body["state"] == world.story.state_id and body["version"] == 1 and body["blocked"] is False
    for name in ("title", "description", "kind", "blocked_reason", "rank", "created_at"):
        assert name in body


def test_create_resolves_references_and_logs_the_creation(world, member):
    response = member.post(
        "/api/v1/projects/DATA/stories/",
        {
            "title": "Churn features",
            "points": 2.5,
            "assignee": "member",
            "labels": ["dbt"],
            "epic": world.epic.pk,
            "kind": "spike",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["key"], body["points"], body["assignee"], body["kind"]) == ("DATA-3", 2.5, "member", "spike")
    events = member.get("/api/v1/stories/DATA-3/events/").json()["results"]
    assert [e["kind"] for e in events] == ["created"]
    assert events[0]["to"]["assignee"] == "member" and events[0]["actor"] == "member"
    assert events[0]["at"].endswith("Z")


def test_patch_needs_the_version_and_a_stale_one_gets_409(world, member, client_for):
    missing = member.patch("/api/v1/stories/DATA-1/", {"title": "No version"}, format="json")
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "version"
    first = member.patch(
        "/api/v1/stories/DATA-1/",
        {"version": 1, "title": "Ingest CRM nightly", "state": world.doing_state.pk},
        format="json",
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = client_for("admin").patch("/api/v1/stories/DATA-1/", {"version": 1, "title": "Lost update"}, format="json")
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2 and stale.json()["errors"][0]["code"] == "stale_version"
    story = Story.objects.get(key="DATA-1")
    assert story.title == "Ingest CRM nightly"
    kinds = [e["kind"] for e in member.get("/api/v1/stories/DATA-1/events/").json()["results"]]
    assert kinds == ["created", "updated", "state"]


def test_moving_into_a_sprint_by_patch_needs_the_product_owner(world, member, owner):
    refused = member.patch("/api/v1/stories/DATA-1/", {"version": 1, "sprint": world.sprint.pk}, format="json")
    assert refused.status_code == 403
    allowed = owner.patch("/api/v1/stories/DATA-1/", {"version": 1, "sprint": world.sprint.pk}, format="json")
    assert allowed.status_code == 200 and allowed.json()["sprint"] == world.sprint.pk


def test_references_outside_the_project_are_400s_naming_the_field(world, member, project):
    other_state = project.other.states.first()
    cases = [
        ({"state": other_state.pk}, "state"),
        ({"assignee": "outsider"}, "assignee"),
        ({"labels": ["nope"]}, "labels"),
        ({"epic": 999999}, "epic"),
        ({"bogus": 1}, "bogus"),
        ({"points": -2}, "points"),
        ({"title": "x" * 301}, "title"),
    ]
    for body, field in cases:
        response = member.patch("/api/v1/stories/DATA-1/", {"version": 1, **body}, format="json")
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["field"] == field, response.json()
    assert Story.objects.get(key="DATA-1").version == 1


def test_block_and_unblock_through_patch(world, member):
    blocked = member.patch(
        "/api/v1/stories/DATA-1/", {"version": 1, "blocked": True, "blocked_reason": "Warehouse access"}, format="json"
    )
    assert blocked.json()["blocked"] is True and blocked.json()["blocked_reason"] == "Warehouse access"
    no_reason = member.patch("/api/v1/stories/DATA-2/", {"version": 1, "blocked": True}, format="json")
    assert no_reason.status_code == 400 and no_reason.json()["errors"][0]["field"] == "blocked_reason"


def test_list_filters(world, member, people):
    services.story_assign(story=world.other_story, assignee=people["member"], actor=people["member"])

    def keys(query):
        response = member.get("/api/v1/projects/DATA/stories/" + query)
        assert response.status_code == 200, response.json()
        return [s["key"] for s in response.json()["results"]]

    assert keys("") == ["DATA-1", "DATA-2"]
    assert keys("?assignee=member") == ["DATA-2"]
    assert keys("?assignee=none") == ["DATA-1"]
    assert keys("?label=dbt") == ["DATA-1"]
    assert keys(f"?epic={world.epic.pk}") == ["DATA-1"]
    assert keys("?sprint=none") == ["DATA-1", "DATA-2"]
    assert keys(f"?sprint={world.sprint.pk}") == []
    assert keys("?q=revenue") == ["DATA-2"]
    assert keys("?category=backlog&kind=story") == ["DATA-1", "DATA-2"]
    bad = member.get("/api/v1/projects/DATA/stories/?sprint=soon")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "sprint"


def test_delete_hides_and_restore_brings_back(world, member):
    assert member.delete("/api/v1/stories/DATA-1/").status_code == 204
    assert member.get("/api/v1/stories/DATA-1/").status_code == 404
    assert [s["key"] for s in member.get("/api/v1/projects/DATA/stories/").json()["results"]] == ["DATA-2"]
    assert [s["key"] for s in member.get("/api/v1/projects/DATA/stories/?deleted=true").json()["results"]] == ["DATA-1"]
    restored = member.post("/api/v1/stories/DATA-1/restore/")
    assert restored.status_code == 200 and restored.json()["deleted"] is False
    assert member.post("/api/v1/stories/DATA-1/restore/").status_code == 409


def test_moves_and_bad_anchors(world, owner, project, people):
    services.story_create(project=project.other, actor=people["outsider"], title="Elsewhere")
    moved = owner.post("/api/v1/stories/DATA-2/move/", {"before": "DATA-1"}, format="json")
    assert moved.status_code == 200 and moved.json()["version"] == 2
    assert [s["key"] for s in owner.get("/api/v1/projects/DATA/backlog/").json()["results"]] == ["DATA-2", "DATA-1"]
    for body, field in [
        ({"before": "DATA-2"}, "before"),
        ({"after": "OTHER-1"}, "after"),
        ({"before": "DATA-99"}, "before"),
        ({"before": "DATA-1", "after": "DATA-1"}, "position"),
        ({}, "position"),
    ]:
        response = owner.post("/api/v1/stories/DATA-2/move/", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["field"] == field
    assert StoryEvent.objects.filter(kind="rank").count() == 1


@pytest.mark.postgres
def test_a_rank_moves_answer_reads_its_labels_in_the_moves_own_statement(world, owner, project, people):
    story = Story.objects.get(key="DATA-2")
    labels = [services.label_save(project=project, name=name) for name in ("pii", "finance")]
    story = services.story_update(story=story, actor=people["owner"], labels=labels)
    with CaptureQueriesContext(connection) as queries:
        moved = owner.post("/api/v1/stories/DATA-2/move/", {"position": "top"}, format="json")
    assert moved.status_code == 200 and moved.json()["labels"] == ["finance", "pii"]
    assert moved.json()["version"] == story.version + 1
    label_reads = [q["sql"] for q in queries if "stories_story_labels" in q["sql"]]
    assert len(label_reads) == 1 and label_reads[0].startswith("WITH"), label_reads  # the write's statement
    # the story and its caller's role, the savepoint (the test's transaction), the project and story locked, the
    # spot, the write with its labels, the savepoint released: nothing read after the write
    assert len(queries) == 6, [q["sql"][:80] for q in queries]


def test_move_into_a_sprint_and_several_at_once(world, owner):
    into = owner.post("/api/v1/stories/DATA-1/move/", {"position": "top", "sprint": world.sprint.pk}, format="json")
    assert into.json()["sprint"] == world.sprint.pk
    back = owner.post(
        "/api/v1/projects/DATA/backlog/move/",
        {"keys": ["DATA-1", "DATA-2"], "position": "bottom", "sprint": None},
        format="json",
    )
    assert back.status_code == 200
    # They keep their relative rank order: DATA-1 went to the (then empty) sprint after every other key.
    assert [s["key"] for s in back.json()] == ["DATA-2", "DATA-1"]
    assert [s["key"] for s in owner.get("/api/v1/projects/DATA/backlog/").json()["results"]] == ["DATA-2", "DATA-1"]


def test_sprint_lifecycle_over_the_api(world, owner):
    owner.patch("/api/v1/stories/DATA-1/", {"version": 1, "sprint": world.sprint.pk}, format="json")
    started = owner.post(f"/api/v1/sprints/{world.sprint.pk}/start/")
    assert started.status_code == 200 and started.json()["status"] == "active"
    assert started.json()["commitment"] == [{"story": world.story.pk, "key": "DATA-1", "points": 3}]
    assert owner.post(f"/api/v1/sprints/{world.sprint.pk}/start/").status_code == 409
    bad = owner.post(f"/api/v1/sprints/{world.sprint.pk}/close/", {"unfinished": "elsewhere"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "unfinished"
    closed = owner.post(f"/api/v1/sprints/{world.sprint.pk}/close/", {"unfinished": "next_sprint"}, format="json")
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"]
    sprints = owner.get("/api/v1/projects/DATA/sprints/").json()["results"]
    assert [s["status"] for s in sprints] == ["closed", "planned"]
    assert owner.get("/api/v1/stories/DATA-1/").json()["sprint"] == sprints[1]["id"]
    assert owner.post(f"/api/v1/sprints/{world.sprint.pk}/close/").status_code == 409
    dates = owner.post("/api/v1/projects/DATA/sprints/", {"start": "2026-05-10", "end": "2026-05-01"}, format="json")
    assert dates.status_code == 400 and dates.json()["errors"][0]["field"] == "end"


def test_comments(world, client_for):
    stakeholder = client_for("stakeholder")
    assert stakeholder.post("/api/v1/stories/DATA-1/comments/", {"body": "  "}, format="json").status_code == 400
    created = stakeholder.post("/api/v1/stories/DATA-1/comments/", {"body": "Can we add churn?"}, format="json")
    assert created.status_code == 201 and created.json()["author"] == "stakeholder"
    assert [c["body"] for c in stakeholder.get("/api/v1/stories/DATA-1/comments/").json()["results"]] == [
        "First!",
        "Can we add churn?",
    ]


@pytest.mark.parametrize(
    "url", ["/api/v1/projects/DATA/stories/", "/api/v1/projects/DATA/backlog/", "/api/v1/stories/DATA-1/events/"]
)
def test_lists_issue_a_fixed_number_of_queries(world, member, project, people, url):
    epic, label = world.epic, world.label
    for index in range(110):
        story = services.story_create(
            project=project,
            actor=people["member"],
            title=f"S{index}",
            epic=epic,
            labels=[label],
            assignee=people["member"],
        )
        services.story_estimate(story=world.story, points=index % 8, actor=people["owner"])

    def count(size: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = member.get(f"{url}?page_size={size}")
        assert response.status_code == 200 and len(response.json()["results"]) == size
        return len(queries)

    assert count(5) == count(100)
    assert story.key == "DATA-112"


def test_every_list_endpoint_issues_the_same_queries_for_one_row_and_many(world, client_for, people, project):
    from tests.apps.test_api_permissions import ENDPOINTS

    for index in range(3):
        services.comment_add(story=world.story, author=people["member"], body=f"More {index}")
        services.story_create(project=project, actor=people["member"], title=f"Extra {index}", labels=[world.label])
    client = client_for("admin")
    checked = 0
    for endpoint in ENDPOINTS:
        url = endpoint.url.format(w=world)
        if endpoint.method != "get" or "results" not in (client.get(url).json() or {}):
            continue
        counts = []
        for size in (1, 100):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(f"{url}?page_size={size}")
            assert response.status_code == 200, url
            counts.append(len(queries))
        assert counts[0] == counts[1], (url, counts)
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"start": "0001-01-01", "end": "9999-12-31"}, "start", "out_of_range"),
        ({"start": "2026-05-01", "end": "9999-12-31"}, "end", "out_of_range"),
        ({"start": "2026-05-01", "end": "2026-07-24"}, "end", "too_long"),  # 12 weeks and a day
    ],
)
def test_sprint_dates_are_bounded_so_no_report_is_unbounded(world, owner, body, field, code):
    before = Sprint.objects.count()
    response = owner.post("/api/v1/projects/DATA/sprints/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field and response.json()["errors"][0]["code"] == code
    assert Sprint.objects.count() == before
    longest = owner.post("/api/v1/projects/DATA/sprints/", {"start": "2026-05-01", "end": "2026-07-23"}, format="json")
    assert longest.status_code == 201
    assert owner.patch(f"/api/v1/sprints/{longest.json()['id']}/", body, format="json").status_code == 400


def test_the_jira_key_is_shown_and_cannot_be_written(world, member):
    Story.objects.filter(pk=world.story.pk).update(external_key="JRA-12")
    assert member.get("/api/v1/stories/DATA-1/").json()["external_key"] == "JRA-12"
    answer = member.patch("/api/v1/stories/DATA-1/", {"version": 1, "external_key": "X-1"}, format="json")
    assert answer.status_code == 400 or Story.objects.get(pk=world.story.pk).external_key == "JRA-12"


def test_events_name_their_values_and_imported_authors(world, member, project):
    member.patch("/api/v1/stories/DATA-1/", {"version": 1, "assignee": "member"}, format="json")
    StoryEvent.objects.filter(story=world.story, kind="created").update(actor=None, actor_name="Jane Doe")
    events = member.get("/api/v1/stories/DATA-1/events/").json()["results"]
    assert (events[0]["actor"], events[0]["actor_name"]) == (None, "Jane Doe")
    assigned = events[-1]
    assert (assigned["kind"], assigned["to"], assigned["to_name"], assigned["actor_name"]) == (
        "assignee",
        "member",
        "member",
        "",
    )
