"""Search on PostgreSQL: ranking, excerpts, the key jump, filters, who sees what, and vectors kept current."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.deliverables import services as deliverable_services
from apps.intake import services as intake_services
from apps.intake.models import Request
from apps.projects import services as project_services
from apps.projects.models import Role
from apps.stories import services
from apps.stories.models import Comment, Story
from apps.web import selectors

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def found(user, text, **options):
    """The keys (stories) or titles (the rest) of ``user``'s results for ``text``, best first."""
    project_ids = selectors.searched_projects(user, options.pop("project", None))
    hits = selectors.search_all(project_ids=project_ids, text=text, **options).hits
    return [hit.key or hit.title for hit in hits]


def vector(story: Story) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_vector::text FROM stories_story WHERE id = %s", [story.pk])
        return cursor.fetchone()[0] or ""


@pytest.fixture
def api(people):
    def make(role: str | None) -> APIClient:
        client = APIClient()
        if role:
            client.force_authenticate(people[role])
        return client

    return make


@pytest.fixture
def corpus(project, people, states):
    """Stories that match "revenue dashboard" in the title, the description, a comment; one done; one elsewhere;
    an epic, a deliverable and a request that match too."""
    owner = people["owner"]
    title = services.story_create(project=project, actor=owner, title="Revenue dashboard for finance")
    description = services.story_create(
        project=project, actor=owner, title="Speed up the BI layer", description="The revenue dashboard is slow."
    )
    comment = services.story_create(project=project, actor=owner, title="Quarterly review")
    services.comment_add(story=comment, author=people["member"], body="Also check the revenue dashboard numbers")
    done = services.story_create(project=project, actor=owner, title="Old revenue dashboard", state=states["Done"])
    services.story_create(project=project, actor=owner, title="Churn model")
    elsewhere = services.story_create(project=project.other, actor=people["outsider"], title="Revenue dashboard v2")
    services.epic_save(project=project, name="Revenue reporting", description="Every revenue dashboard")
    deliverable_services.deliverable_create(
        project=project, actor=owner, name="Revenue dashboard", kind="dashboard", description="For the CFO"
    )
    intake_services.request_submit(
        project=project, requester=people["stakeholder"], title="A revenue dashboard by region", detail="Please"
    )
    return {"title": title, "description": description, "comment": comment, "done": done, "elsewhere": elsewhere}


# --- Ranking and excerpts ---------------------------------------------------------------------------------


def test_a_title_match_ranks_above_a_description_match_above_a_comment_match(corpus, people):
    stories = found(people["member"], "revenue dashboard", kinds=["story"])
    # two title matches (equal ranks: the newer first), then the description, then the comment
    assert stories == ["DATA-4", "DATA-1", "DATA-2", "DATA-3"]
    # "dashboards" finds "dashboard" (English stemming); "churn" nothing of the above
    assert found(people["member"], "dashboards revenue", kinds=["story"])[:2] == ["DATA-4", "DATA-1"]
    assert found(people["member"], "churn", kinds=["story"]) == ["DATA-5"]


def test_every_kind_is_found_and_merged_by_rank(corpus, people):
    results = selectors.search_all(
        project_ids=selectors.searched_projects(people["member"]), text="revenue dashboard", limit=50
    )
    assert results.counts == {"story": 4, "epic": 1, "deliverable": 1, "request": 1}
    assert results.total == 7 and {hit.type for hit in results.hits} == {"story", "epic", "deliverable", "request"}
    deliverable = next(hit for hit in results.hits if hit.type == "deliverable")
    assert deliverable.url == f"/p/DATA/deliverables/{deliverable.id}/" and deliverable.state == "Proposed"
    request = next(hit for hit in results.hits if hit.type == "request")
    assert request.url == f"/p/DATA/requests/?status=open#request-{request.id}"
    epic = next(hit for hit in results.hits if hit.type == "epic")
    assert epic.url == f"/p/DATA/backlog/?epic={epic.id}"


def test_words_and_phrases_follow_websearch_syntax(corpus, people):
    member = people["member"]
    assert found(member, '"dashboard for finance"', kinds=["story"]) == ["DATA-1"]
    assert found(member, "revenue dashboard -finance", kinds=["story"]) == ["DATA-4", "DATA-2", "DATA-3"]
    assert set(found(member, "churn or finance", kinds=["story"])) == {"DATA-1", "DATA-5"}
    assert found(member, "the", kinds=["story"]) == []  # a stop word alone asks for nothing


def test_the_excerpt_marks_the_matching_words_and_escapes_everything_else(project, people):
    owner = people["owner"]
    services.story_create(
        project=project,
        actor=owner,
        title="<img src=x onerror=alert(1)> pipeline",
        description='Nightly pipeline fails when rows < 5 & <a href="javascript:alert(2)">see</a> retry',
    )
    hit = selectors.search_all(project_ids=[project.pk], text="pipeline").hits[0]
    assert "<mark>pipeline</mark>" in hit.highlight
    assert "<img" not in hit.highlight and "<a " not in hit.highlight
    assert "&lt; 5 &amp;" in hit.highlight
    page = APIClient()
    page.force_login(owner)
    html = page.get("/search/", {"q": "pipeline"}).content.decode()
    assert "<img src=x" not in html and "javascript:alert" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; <mark>pipeline</mark>" in html  # the title, marked and escaped


# --- Key jump, filters ----------------------------------------------------------------------------------


def test_an_exact_story_key_jumps_to_the_story(corpus, as_user):
    response = as_user("stakeholder").get("/search/", {"q": "data-3"})
    assert response.status_code == 302 and response["Location"] == "/p/DATA/stories/DATA-3/"
    # an outsider's search for it finds nothing and jumps nowhere
    response = as_user("outsider").get("/search/", {"q": "DATA-3"})
    assert response.status_code == 200 and b'href="/p/DATA/' not in response.content


def test_a_story_key_ranks_its_story_first_in_the_api(corpus, api):
    body = api("member").get("/api/v1/search/", {"q": "DATA-2"}).json()
    assert body["results"][0]["key"] == "DATA-2" and body["results"][0]["type"] == "story"
    assert body["results"][0]["id"] is None and body["results"][0]["url"] == "/p/DATA/stories/DATA-2/"


def test_filters_by_project_state_and_kind(corpus, project, people):
    outsider = people["outsider"]
    project_services.membership_add(project=project, user=outsider, role=Role.MEMBER)
    assert set(found(outsider, "revenue dashboard", kinds=["story"])) == {
        "DATA-1",
        "DATA-2",
        "DATA-3",
        "DATA-4",
        "OTHER-1",
    }
    assert found(outsider, "revenue dashboard", kinds=["story"], project="OTHER") == ["OTHER-1"]
    member = people["member"]
    assert found(member, "revenue dashboard", kinds=["story"], state="closed") == ["DATA-4"]
    assert "DATA-4" not in found(member, "revenue dashboard", state="open")
    assert "Revenue reporting" not in found(member, "revenue dashboard", state="open")  # epics have no state
    assert found(member, "revenue dashboard", kinds=["request"]) == ["A revenue dashboard by region"]
    assert found(member, "revenue dashboard", kinds=["request"], state="closed") == []


def test_deleted_stories_are_not_found(corpus, people):
    services.story_delete(story=corpus["title"], actor=people["member"])
    assert "DATA-1" not in found(people["member"], "revenue dashboard")


def test_the_page_groups_results_by_kind(corpus, as_user):
    page = as_user("member").get("/search/", {"q": "revenue dashboard"})
    assert page.status_code == 200
    html = page.content.decode()
    for kind in ("story", "epic", "deliverable", "request"):
        assert f'data-kind="{kind}"' in html
    assert html.index('data-kind="story"') < html.index('data-kind="epic"') < html.index('data-kind="request"')
    assert "<mark>Revenue</mark> <mark>dashboard</mark> for finance" in html
    only = as_user("member").get("/search/", {"q": "revenue dashboard", "type": "story", "state": "closed"})
    assert 'data-kind="epic"' not in only.content.decode() and "Old <mark>revenue</mark>" in only.content.decode()


def test_the_page_refuses_a_project_that_is_not_yours(corpus, as_user):
    page = as_user("member").get("/search/", {"q": "revenue", "project": "OTHER"})
    assert page.status_code == 400 and b"OTHER-1" not in page.content


def test_the_header_box_searches_the_current_project(project, as_user):
    html = as_user("member").get("/p/DATA/").content.decode()
    assert 'action="/search/"' in html and 'name="project" value="DATA"' in html and "data-search-box" in html
    html = as_user("member").get("/notifications/").content.decode()
    assert 'action="/search/"' in html and 'name="project"' not in html.split('action="/search/"')[1][:600]


# --- Who sees what ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "owner", "member", "stakeholder"])
def test_everyone_in_the_project_finds_all_its_kinds(corpus, api, role):
    body = api(role).get("/api/v1/search/", {"q": "revenue dashboard", "page_size": 100}).json()
    assert body["count"] == 7
    assert {item["project"] for item in body["results"]} == {"DATA"}
    assert {item["type"] for item in body["results"]} == {"story", "epic", "deliverable", "request"}


def test_an_outsider_never_sees_a_hit_from_a_project_they_are_not_in(corpus, api, as_user):
    body = api("outsider").get("/api/v1/search/", {"q": "revenue dashboard"}).json()
    assert [(item["project"], item["key"]) for item in body["results"]] == [("OTHER", "OTHER-1")]
    for text in ("DATA-1", "finance", "region", "Revenue reporting"):
        assert all(
            item["project"] == "OTHER" for item in api("outsider").get("/api/v1/search/", {"q": text}).json()["results"]
        )
        assert b'href="/p/DATA/' not in as_user("outsider").get("/search/", {"q": text}).content
    refused = api("outsider").get("/api/v1/search/", {"q": "revenue", "project": "DATA"})
    assert refused.status_code == 404 and refused.json()["errors"][0]["code"] == "not_found"
    assert api(None).get("/api/v1/search/", {"q": "revenue"}).status_code == 401


# --- The API ------------------------------------------------------------------------------------------------


def test_the_api_answers_paginated_results_with_every_field(corpus, api):
    first = api("member").get("/api/v1/search/", {"q": "revenue dashboard", "page_size": 2}).json()
    assert first["count"] == 7 and len(first["results"]) == 2 and "page=2" in first["next"]
    assert set(first["results"][0]) == {"type", "project", "key", "id", "title", "url", "state", "highlight"}
    assert first["results"][0]["key"] == "DATA-4" and "<mark>" in first["results"][0]["highlight"]
    pages = [first["results"]]
    for number in (2, 3, 4):
        pages.append(
            api("member")
            .get("/api/v1/search/", {"q": "revenue dashboard", "page_size": 2, "page": number})
            .json()["results"]
        )
    seen = [(item["type"], item["key"] or item["id"]) for page in pages for item in page]
    assert len(seen) == 7 == len(set(seen))
    last = api("member").get("/api/v1/search/", {"q": "revenue dashboard", "page_size": 2, "page": "last"}).json()
    assert last["results"] == pages[-1] and last["next"] is None
    past = api("member").get("/api/v1/search/", {"q": "revenue dashboard", "page_size": 2, "page": 5})
    assert past.status_code == 404 and past.json()["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "revenue", "state": "done"}, "state"),
        ({"q": "revenue", "type": "sprint"}, "type"),
        ({"q": "revenue", "page": "two"}, "page"),
    ],
)
def test_bad_questions_are_400s_naming_the_parameter(project, api, params, field):
    response = api("member").get("/api/v1/search/", params)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == field


def test_an_unknown_project_is_a_404(project, api):
    response = api("member").get("/api/v1/search/", {"q": "revenue", "project": "NOPE"})
    assert response.status_code == 404 and set(response.json()) == {"errors"}


def test_the_page_with_a_too_long_question_is_a_400_not_a_500(project, as_user):
    assert as_user("member").get("/search/", {"q": "x" * 201}).status_code == 400
    assert as_user("member").get("/search/", {"q": ""}).status_code == 200
    assert as_user("member").get("/search/", {"q": "revenue", "state": "nope"}).status_code == 400


# --- Vectors kept current --------------------------------------------------------------------------------


def test_an_edit_changes_what_finds_the_story(project, people):
    member = people["member"]
    story = services.story_create(project=project, actor=member, title="Ingest CRM")
    assert found(member, "ingest crm") == ["DATA-1"]
    services.story_update(story=story, actor=member, title="Load Salesforce")
    assert found(member, "ingest crm") == [] and found(member, "salesforce") == ["DATA-1"]
    services.story_update(story=story, actor=member, acceptance_criteria="Row counts reconcile")
    assert found(member, "reconcile") == ["DATA-1"]
    services.story_update(story=story, actor=member, description="Hourly batches")
    assert found(member, "hourly batch") == ["DATA-1"]


def test_comments_added_edited_and_deleted_change_what_finds_the_story(project, people):
    member = people["member"]
    story = services.story_create(project=project, actor=member, title="Ingest CRM")
    comment = services.comment_add(story=story, author=member, body="Blocked on the vendor's firewall")
    assert found(member, "firewall") == ["DATA-1"]
    services.comment_edit(comment=Comment.objects.get(pk=comment.pk), body="Waiting for the VPN")
    assert found(member, "firewall") == [] and found(member, "vpn") == ["DATA-1"]
    services.comment_delete(comment=Comment.objects.get(pk=comment.pk))
    assert found(member, "vpn") == []


def test_a_move_does_not_rewrite_the_vector(project, people, states):
    """Only a change of the searched text costs the vector's UPDATE: a state change writes what it did before."""
    from django.test.utils import CaptureQueriesContext

    member = people["member"]
    story = services.story_create(project=project, actor=member, title="Ingest CRM")
    with CaptureQueriesContext(connection) as moved:
        services.story_change_state(story=story, state=states["In progress"], actor=member)
    writes = [q["sql"] for q in moved.captured_queries if q["sql"].startswith(("UPDATE", "INSERT"))]
    assert writes and not any("search_vector" in sql for sql in writes)
    with CaptureQueriesContext(connection) as edited:
        services.story_update(story=story, actor=member, title="Ingest the CRM")
    writes = [q["sql"] for q in edited.captured_queries if q["sql"].startswith(("UPDATE", "INSERT"))]
    assert sum("search_vector" in sql for sql in writes) == 1


def test_a_restored_backup_is_searchable(project, people):
    from apps.transfer import selectors as transfer_selectors
    from apps.transfer import services as transfer_services

    member = people["member"]
    story = services.story_create(project=project, actor=member, title="Ingest CRM", description="from Salesforce")
    services.comment_add(story=story, author=member, body="vendor firewall")
    document = transfer_selectors.project_document(project)
    transfer_services.project_import(document=document, key="COPY", actor=people["admin"])
    assert found(people["admin"], "firewall salesforce", project="COPY") == ["COPY-1"]
    assert "'firewal':" in vector(Story.objects.get(key="COPY-1"))


def test_the_migration_backfill_writes_what_the_service_writes(project, people):
    """0013_story_search's SQL, run again over rows the services wrote, leaves every vector as it was."""
    import importlib

    migration = importlib.import_module("apps.stories.migrations.0013_story_search")
    member = people["member"]
    story = services.story_create(
        project=project, actor=member, title="Ingest CRM", description="Nightly", acceptance_criteria="Counts"
    )
    services.comment_add(story=story, author=member, body="first")
    services.comment_add(story=story, author=member, body="second")
    before = vector(story)
    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL)
    assert vector(story) == before and "'first':" in before and "'crm':" in before


def test_epics_deliverables_and_requests_keep_their_stored_vectors_current(project, people):
    """Each service that writes their text rewrites their vector in the same transaction: a rename is found
    by its new name and no longer by its old one; an e-mailed request is found by its body."""
    owner = people["owner"]
    epic = services.epic_save(project=project, name="Churn work", description="Retention")
    dataset = deliverable_services.deliverable_create(
        project=project, actor=owner, name="Churn dataset", kind="dataset"
    )
    intake_services.request_submit_email(
        project=project, sender="cfo@example.com", message_id="<1@example.com>", subject="Numbers", body="Lapsed buyers"
    )
    assert sorted(found(owner, "churn")) == ["Churn dataset", "Churn work"]
    services.epic_save(project=project, epic=epic, name="Attrition work")
    deliverable_services.deliverable_update(deliverable=dataset, actor=owner, description="Attrition per region")
    assert found(owner, "churn") == ["Churn dataset"]
    assert sorted(found(owner, "attrition")) == ["Attrition work", "Churn dataset"]
    assert found(owner, "lapsed buyers") == ["Numbers"]


def test_a_restored_backup_finds_its_epics_deliverables_and_requests(project, people):
    from apps.transfer import selectors as transfer_selectors
    from apps.transfer import services as transfer_services

    owner = people["owner"]
    services.epic_save(project=project, name="Ledger epic", description="")
    deliverable_services.deliverable_create(project=project, actor=owner, name="Ledger report", kind="report")
    intake_services.request_submit(project=project, requester=people["stakeholder"], title="Ledger please", detail="")
    transfer_services.project_import(
        document=transfer_selectors.project_document(project), key="COPY", actor=people["admin"]
    )
    assert sorted(found(people["admin"], "ledger", project="COPY")) == ["Ledger epic", "Ledger please", "Ledger report"]


@pytest.mark.parametrize(
    ("migration", "table"),
    [
        ("apps.stories.migrations.0015_epic_search_vector", "stories_epic"),
        ("apps.deliverables.migrations.0004_deliverable_search_vector", "deliverables_deliverable"),
        ("apps.intake.migrations.0005_request_search_vector", "intake_request"),
    ],
)
def test_the_small_kinds_backfill_writes_what_their_services_write(project, people, migration, table):
    import importlib

    services.epic_save(project=project, name="Churn epic", description="Why customers leave")
    deliverable_services.deliverable_create(
        project=project, actor=people["owner"], name="Churn report", kind="report", description="Monthly"
    )
    intake_services.request_submit(project=project, requester=people["member"], title="Churn?", detail="By region")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, search_vector::text FROM {table} ORDER BY id")  # noqa: S608 - a test's constant
        before = cursor.fetchall()
        cursor.execute(importlib.import_module(migration).BACKFILL)
        cursor.execute(f"SELECT id, search_vector::text FROM {table} ORDER BY id")  # noqa: S608
        assert cursor.fetchall() == before and before and all("'churn':" in text for _, text in before)


def test_a_story_key_is_looked_up_by_index_not_by_reading_every_story(project, people):
    """An exact key joins the candidates by a UNION: an ``OR`` beside the candidates' subquery read every row
    (250 ms for a key that is no story, bench_search's database)."""
    from django.test.utils import CaptureQueriesContext

    services.story_create(project=project, actor=people["member"], title="Churn model")
    with CaptureQueriesContext(connection) as ranked:
        assert found(people["member"], f"{project.key}-99") == []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # as on a big table, where a read of every row costs
        cursor.execute("EXPLAIN " + ranked.captured_queries[-1]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert " OR " not in plan, plan  # no row is tested against "a candidate or the key": that reads every row
    assert found(people["member"], f"{project.key}-1") == [f"{project.key}-1"]


def test_requests_are_found_by_detail(project, people):
    intake_services.request_submit(
        project=project, requester=people["stakeholder"], title="Churn by region", detail="For the EMEA board"
    )
    assert found(people["stakeholder"], "emea") == ["Churn by region"]
    assert Request.objects.count() == 1


def test_a_broad_query_is_ranked_among_its_newest_matches_and_counted_up_to_the_cap(project, people, monkeypatch):
    from apps.core import search

    member = people["member"]
    for number in range(1, 6):
        services.story_create(project=project, actor=member, title=f"Pipeline {number}", description="nightly")
    services.story_create(project=project, actor=member, title="Nightly nightly pipeline")  # DATA-6: the best
    monkeypatch.setattr(search, "CANDIDATES", 3)
    results = selectors.search_all(project_ids=[project.pk], text="nightly pipeline", kinds=["story"])
    assert results.total == 3 and [hit.key for hit in results.hits] == ["DATA-6", "DATA-5", "DATA-4"]
    # an exact key is found even when it is not among the newest matches
    assert found(member, "DATA-1", kinds=["story"])[0] == "DATA-1"
    page = APIClient()
    page.force_login(member)
    assert "3+" in page.get("/search/", {"q": "nightly pipeline"}).content.decode()


def test_a_story_read_or_created_never_writes_its_vector_back(project, people):
    """Stories are read without their vector, and a created one forgets it: a save() writes only what it read."""
    story = services.story_create(project=project, actor=people["member"], title="Ingest CRM")
    story.save()
    Story.objects.get(pk=story.pk).save()
    assert "'crm':" in vector(story)
