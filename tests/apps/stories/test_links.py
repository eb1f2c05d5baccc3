"""Story links: blocks / relates / duplicates, within a project and across two; a ``link`` event on both stories,
replayed by ``verify_events``; the API and the page; the board's "Blocked by" badge; closing as a duplicate."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from apps.core.errors import InvalidInput, NotFound
from apps.projects import services as project_services
from apps.projects.models import Role
from apps.stories import link_selectors, selectors, services
from apps.stories.models import EventKind, Story, StoryEvent, StoryLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def stories(project, people, states):
    owner = people["owner"]
    make = services.story_create
    return {
        "load": make(project=project, actor=owner, title="Load CRM", state=states["Ready"]),
        "model": make(project=project, actor=owner, title="Model churn", state=states["Ready"]),
        "report": make(project=project, actor=owner, title="Churn report", state=states["Ready"]),
    }


@pytest.fixture
def ops(project, people, states):
    """A second project, OPS, where the member is a member and the stakeholder a stakeholder; one story in it."""
    other = project_services.project_create(creator=people["owner"], key="OPS", name="Platform")
    project_services.membership_add(project=other, user=people["member"], role=Role.MEMBER)
    project_services.membership_add(project=other, user=people["stakeholder"], role=Role.STAKEHOLDER)
    story = services.story_create(project=other, actor=people["owner"], title="Grant warehouse access")
    return other, story


def link_events(story: Story) -> list[tuple]:
    rows = StoryEvent.objects.filter(story=story, kind=EventKind.LINK).order_by("seq")
    return [(e.field, e.to_value["kind"], e.to_value["direction"], e.to_value["key"], e.to_name) for e in rows]


def history_texts(story: Story) -> list[str]:
    return [entry.text for entry in selectors.story_history(story) if entry.kind == EventKind.LINK]


def verify() -> tuple[int, list[str]]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_events", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, (out.getvalue() + err.getvalue()).splitlines()


# --- The services and their events ------------------------------------------------------------------


def test_a_link_is_an_event_on_both_stories_and_bumps_both_versions(project, people, stories):
    load, model = stories["load"], stories["model"]
    before = {s.pk: Story.objects.get(pk=s.pk).version for s in (load, model)}
    link = services.link_add(source=load, target=model, kind="blocks", actor=people["member"])
    assert (link.source_id, link.target_id, link.kind, link.created_by) == (
        load.pk,
        model.pk,
        "blocks",
        people["member"],
    )
    assert link_events(load) == [("added", "blocks", "outward", model.key, model.key)]
    assert link_events(model) == [("added", "blocks", "inward", load.key, load.key)]
    for story in (load, model):
        assert Story.objects.get(pk=story.pk).version == before[story.pk] + 1
    assert history_texts(load) == [f"linked {model.key} (blocks)"]
    assert history_texts(model) == [f"linked {load.key} (is blocked by)"]
    project.refresh_from_db()
    seqs = StoryEvent.objects.filter(kind=EventKind.LINK).values_list("seq", flat=True).order_by("seq")
    assert list(seqs) == [project.last_event_seq - 1, project.last_event_seq]  # gapless, in one append


def test_removing_a_link_is_an_event_on_both_stories(project, people, stories):
    load, model = stories["load"], stories["model"]
    link = services.link_add(source=load, target=model, kind="duplicates", actor=people["member"])
    services.link_remove(link=link, actor=people["member"])
    assert not StoryLink.objects.exists()
    assert link_events(load)[-1] == ("removed", "duplicates", "outward", model.key, model.key)
    assert history_texts(load) == [f"linked {model.key} (duplicates)", f"removed the link to {model.key} (duplicates)"]
    assert history_texts(model)[-1] == f"removed the link to {load.key} (is duplicated by)"
    with pytest.raises(NotFound):
        services.link_remove(link=link, actor=people["member"])


@pytest.mark.parametrize(
    ("source", "target", "kind", "field"),
    [
        ("load", "model", "depends", "kind"),
        ("load", "load", "blocks", "target"),
        ("load", "model", "relates", "target"),  # already linked, this way
        ("model", "load", "relates", "target"),  # already linked, the other way
    ],
)
def test_bad_links_are_refused_naming_the_field_and_change_nothing(people, stories, source, target, kind, field):
    services.link_add(source=stories["load"], target=stories["model"], kind="relates", actor=people["member"])
    count = StoryEvent.objects.count()
    with pytest.raises(InvalidInput) as refused:
        services.link_add(source=stories[source], target=stories[target], kind=kind, actor=people["member"])
    assert refused.value.field == field
    assert StoryEvent.objects.count() == count and StoryLink.objects.count() == 1


def test_a_second_kind_between_the_same_stories_is_allowed(people, stories):
    services.link_add(source=stories["load"], target=stories["model"], kind="relates", actor=people["member"])
    services.link_add(source=stories["load"], target=stories["model"], kind="blocks", actor=people["member"])
    assert StoryLink.objects.count() == 2


def test_a_link_across_projects_writes_each_event_in_its_own_projects_log(project, people, stories, ops):
    other, access = ops
    load = stories["load"]
    services.link_add(source=access, target=load, kind="blocks", actor=people["member"])
    mine = StoryEvent.objects.get(story=load, kind=EventKind.LINK)
    theirs = StoryEvent.objects.get(story=access, kind=EventKind.LINK)
    project.refresh_from_db()
    other.refresh_from_db()
    assert (mine.project_id, mine.seq) == (project.pk, project.last_event_seq)
    assert (theirs.project_id, theirs.seq) == (other.pk, other.last_event_seq)
    assert mine.at == theirs.at
    assert history_texts(load) == ["linked OPS-1 (is blocked by)"]
    assert history_texts(access) == [f"linked {load.key} (blocks)"]


def test_a_deleted_story_keeps_its_links_hidden_until_it_is_restored(people, stories):
    load, model = stories["load"], stories["model"]
    services.link_add(source=load, target=model, kind="blocks", actor=people["member"])
    services.story_delete(story=load, actor=people["member"])
    assert link_selectors.story_links(model, user=people["member"]) == []
    with pytest.raises(InvalidInput) as refused:
        services.link_add(source=model, target=load, kind="relates", actor=people["member"])
    assert refused.value.field == "target"
    services.story_restore(story=load, actor=people["member"])
    assert [row.key for row in link_selectors.story_links(model, user=people["member"])] == [load.key]


def test_a_storys_links_read_both_ways_in_order_and_only_those_whose_other_end_the_person_sees(
    project, people, stories, ops, states
):
    load, model, report = stories["load"], stories["model"], stories["report"]
    other, access = ops
    first = services.link_add(source=load, target=model, kind="blocks", actor=people["member"])
    services.link_add(source=report, target=load, kind="duplicates", actor=people["member"])
    services.link_add(source=access, target=load, kind="relates", actor=people["member"])
    services.story_change_state(story=model, state=states["Done"], actor=people["member"])
    seen = link_selectors.story_links(load, user=people["member"])
    assert [(r.key, r.direction, r.label, r.state, r.finished, r.project_key) for r in seen] == [
        (model.key, "outward", "blocks", "Done", True, "DATA"),
        (report.key, "inward", "is duplicated by", "Ready", False, "DATA"),
        (access.key, "inward", "relates to", access.state.name, False, "OPS"),
    ]
    assert seen[0] == link_selectors.link_as_seen(first, story=load)  # the API's answer to an added link
    assert [r.key for r in link_selectors.story_links(load, user=people["admin"])] == [model.key, report.key]


# --- verify_events replays the links ----------------------------------------------------------------


def test_verify_events_is_clean_with_links_added_and_removed_across_projects(people, stories, ops):
    _, access = ops
    first = services.link_add(source=stories["load"], target=access, kind="relates", actor=people["member"])
    services.link_add(source=stories["model"], target=stories["load"], kind="blocks", actor=people["member"])
    services.link_remove(link=first, actor=people["member"])
    code, lines = verify()
    assert code == 0, lines


@pytest.mark.tampers_log
def test_a_link_added_behind_the_services_is_reported_on_both_stories(people, stories):
    load, model = stories["load"], stories["model"]
    link = StoryLink.objects.create(source=load, target=model, kind="blocks", created_at=load.created_at)
    code, lines = verify()
    assert code == 1
    assert f"DATA {load.key} links: row {{{link.pk}: ('blocks', 'outward', {model.pk})}}, replayed {{}}" in lines
    assert f"DATA {model.key} links: row {{{link.pk}: ('blocks', 'inward', {load.pk})}}, replayed {{}}" in lines


@pytest.mark.tampers_log
def test_a_link_deleted_or_changed_behind_the_services_is_reported(people, stories):
    link = services.link_add(source=stories["load"], target=stories["model"], kind="blocks", actor=people["member"])
    StoryLink.objects.filter(pk=link.pk).update(kind="relates")
    code, lines = verify()
    assert code == 1 and any(line.startswith(f"DATA {stories['load'].key} links: ") for line in lines), lines
    StoryLink.objects.filter(pk=link.pk).delete()
    code, lines = verify()
    assert any(line.startswith(f"DATA {stories['model'].key} links: row {{}}, replayed ") for line in lines), lines


# --- Closing as a duplicate ---------------------------------------------------------------------------


def test_closing_as_a_duplicate_links_it_and_moves_it_to_done_in_one_go(people, stories, states):
    report, load = stories["report"], stories["load"]
    closed = services.story_close_as_duplicate(story=report, original=load, actor=people["member"])
    assert closed.state == states["Done"]
    assert StoryLink.objects.filter(source=report, target=load, kind="duplicates").exists()
    kinds = list(StoryEvent.objects.filter(story=report).order_by("seq").values_list("kind", flat=True))
    assert kinds[-2:] == [EventKind.LINK, EventKind.STATE]
    assert history_texts(load) == [f"linked {report.key} (is duplicated by)"]


def test_a_failed_close_as_duplicate_leaves_no_link(people, stories, states, project):
    from apps.projects.models import WorkflowState

    WorkflowState.objects.filter(project=project, category="done").update(category="cancelled")
    with pytest.raises(InvalidInput):
        services.story_close_as_duplicate(story=stories["report"], original=stories["load"], actor=people["member"])
    assert not StoryLink.objects.exists() and not StoryEvent.objects.filter(kind=EventKind.LINK).exists()
    WorkflowState.objects.filter(project=project, category="cancelled").update(category="done")


# --- The API -------------------------------------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_adds_lists_and_removes_links(people, stories):
    load, model = stories["load"], stories["model"]
    client = api(people["member"])
    created = client.post(f"/api/v1/stories/{load.key}/links/", {"kind": "blocks", "target": model.key}, format="json")
    assert created.status_code == 201, created.content
    link = created.json()
    assert link == {
        "id": link["id"],
        "kind": "blocks",
        "direction": "outward",
        "story": model.key,
        "title": "Model churn",
        "state": "Ready",
    }
    inward = client.get(f"/api/v1/stories/{model.key}/links/").json()["results"]
    assert inward == [{**link, "direction": "inward", "story": load.key, "title": "Load CRM"}]
    assert client.delete(f"/api/v1/stories/{model.key}/links/{link['id']}/").status_code == 204
    assert client.get(f"/api/v1/stories/{load.key}/links/").json()["results"] == []
    assert client.delete(f"/api/v1/stories/{model.key}/links/{link['id']}/").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "depends", "target": "DATA-2"}, "kind"),
        ({"kind": "blocks", "target": "DATA-99"}, "target"),
        ({"kind": "blocks", "target": "DATA-1"}, "target"),
        ({"kind": "blocks", "target": "OTHER-1"}, "target"),  # a project the member cannot see
        ({"kind": "blocks"}, "target"),
        ({"kind": "blocks", "target": "DATA-2", "note": "x"}, "note"),
    ],
)
def test_the_api_refuses_bad_links_naming_the_field(people, stories, project, body, field):
    services.story_create(project=project.other, actor=people["outsider"], title="Secret")
    response = api(people["member"]).post("/api/v1/stories/DATA-1/links/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == field


def test_a_duplicate_link_is_refused_naming_the_target(people, stories):
    client = api(people["member"])
    assert (
        client.post("/api/v1/stories/DATA-1/links/", {"kind": "relates", "target": "DATA-2"}, format="json").status_code
        == 201
    )
    again = client.post("/api/v1/stories/DATA-2/links/", {"kind": "relates", "target": "DATA-1"}, format="json")
    assert again.status_code == 400 and again.json()["errors"][0]["field"] == "target"


def test_linking_across_projects_needs_the_member_role_in_both(people, stories, ops):
    _, access = ops
    body = {"kind": "blocks", "target": access.key}
    assert api(people["member"]).post("/api/v1/stories/DATA-1/links/", body, format="json").status_code == 201
    # A stakeholder (here of both projects) may not link.
    refused = api(people["stakeholder"]).post("/api/v1/stories/DATA-2/links/", body, format="json")
    assert refused.status_code == 403
    # The admin of DATA is no member of OPS: OPS-1 is unknown to them, and its link is not listed to them.
    unknown = api(people["admin"]).post("/api/v1/stories/DATA-2/links/", body, format="json")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "target"
    assert api(people["admin"]).get("/api/v1/stories/DATA-1/links/").json()["results"] == []
    listed = api(people["member"]).get("/api/v1/stories/DATA-1/links/").json()["results"]
    assert [(row["story"], row["direction"]) for row in listed] == [(access.key, "outward")]
    link_id = listed[0]["id"]
    assert api(people["admin"]).delete(f"/api/v1/stories/DATA-1/links/{link_id}/").status_code == 404


def test_a_member_who_only_follows_the_other_project_may_neither_link_nor_unlink(
    project, people, stories, ops, make_user
):
    other, access = ops
    analyst = make_user("analyst")
    project_services.membership_add(project=project, user=analyst, role=Role.MEMBER)
    project_services.membership_add(project=other, user=analyst, role=Role.STAKEHOLDER)
    body = {"kind": "relates", "target": access.key}
    assert api(analyst).post("/api/v1/stories/DATA-1/links/", body, format="json").status_code == 403
    link = services.link_add(source=stories["load"], target=access, kind="relates", actor=people["member"])
    assert [row["story"] for row in api(analyst).get("/api/v1/stories/DATA-1/links/").json()["results"]] == ["OPS-1"]
    assert api(analyst).delete(f"/api/v1/stories/DATA-1/links/{link.pk}/").status_code == 403
    assert StoryLink.objects.count() == 1


# --- The board ------------------------------------------------------------------------------------------


def card_of(page: str, key: str) -> str:
    start = page.rindex("<li", 0, page.index(f'id="card-{key}"'))
    return page[start : page.index("</li>", start)]


def test_the_board_marks_a_card_blocked_by_an_unfinished_story_and_not_after_it_finishes(
    as_user, people, stories, states, ops
):
    load, model, report = stories["load"], stories["model"], stories["report"]
    services.link_add(source=load, target=model, kind="blocks", actor=people["member"])
    services.link_add(source=ops[1], target=report, kind="blocks", actor=people["member"])
    services.story_block(story=load, reason="Waiting on access", actor=people["member"])
    client = as_user("member")
    page = client.get(reverse("project-board", kwargs={"key": "DATA"})).content.decode()
    card = card_of(page, model.key)
    assert f"Blocked by {load.key}" in card and "is-blocked-by" in card and "is-blocked " not in card
    manual = card_of(page, load.key)
    assert "Blocked by" not in manual and "Waiting on access" in manual  # a manual block: the other badge
    assert "Blocked by a story of another project" in card_of(page, report.key)  # OPS is not named on the board
    services.story_change_state(story=load, state=states["Done"], actor=people["member"])
    page = client.get(reverse("project-board", kwargs={"key": "DATA"})).content.decode()
    assert "Blocked by" not in card_of(page, model.key)


def test_an_open_board_sees_a_link_added_to_one_of_its_cards(as_user, people, stories):
    client = as_user("member")
    live = reverse("project-board-live", kwargs={"key": "DATA"})
    etag = client.get(live)["ETag"]
    assert client.get(live, HTTP_IF_NONE_MATCH=etag).status_code == 304
    services.link_add(source=stories["load"], target=stories["model"], kind="blocks", actor=people["member"])
    changed = client.get(live, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and "Blocked by DATA-1" in changed.content.decode()


def test_links_add_no_query_to_the_board(as_user, people, project, states):
    def fill(n: int) -> None:
        for i in range(n):
            blocker = services.story_create(
                project=project, actor=people["owner"], title=f"B{i}", state=states["Ready"]
            )
            blocked = services.story_create(
                project=project, actor=people["owner"], title=f"C{i}", state=states["Ready"]
            )
            services.link_add(source=blocker, target=blocked, kind="blocks", actor=people["owner"])

    client = as_user("member")
    url = reverse("project-board", kwargs={"key": "DATA"})
    fill(1)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    fill(20)
    with CaptureQueriesContext(connection) as large:
        page = client.get(url).content.decode()
    assert page.count("Blocked by DATA-") == 21
    assert len(large) == len(small)


# --- The page and the panel -------------------------------------------------------------------------


def test_a_member_adds_and_removes_a_link_on_the_story_page(as_user, people, stories):
    load, model = stories["load"], stories["model"]
    client = as_user("member")
    url = reverse("story-link-add", kwargs={"key": "DATA", "story_key": load.key})
    response = client.post(url, {"kind": "blocks", "target": model.key.lower()}, follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert f"{load.key} blocks {model.key}." in text and "Model churn" in text
    link = StoryLink.objects.get()
    page = client.get(reverse("story-detail", kwargs={"key": "DATA", "story_key": model.key})).content.decode()
    assert f"Blocked by {load.key}" in page and f"linked {load.key} (is blocked by)" in page
    remove = reverse("story-link-remove", kwargs={"key": "DATA", "story_key": model.key, "link_id": link.pk})
    assert client.post(remove, follow=True).status_code == 200
    assert not StoryLink.objects.exists()


def test_the_page_shows_a_refused_link_and_a_stakeholder_cannot_link(as_user, stories):
    url = reverse("story-link-add", kwargs={"key": "DATA", "story_key": stories["load"].key})
    client = as_user("member")
    response = client.post(url, {"kind": "blocks", "target": "DATA-99"}, follow=True)
    assert "There is no story DATA-99." in response.content.decode()
    assert as_user("stakeholder").post(url, {"kind": "blocks", "target": "DATA-2"}).status_code == 403
    assert not StoryLink.objects.exists()


def test_the_panel_adds_a_link_in_place_and_tells_the_board(as_user, stories):
    url = reverse("story-link-add", kwargs={"key": "DATA", "story_key": stories["model"].key})
    response = as_user("member").post(
        url, {"kind": "relates", "target": stories["load"].key, "panel": "1"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and response["HX-Trigger"] == "board-changed"
    assert 'class="story-panel"' in response.content.decode() and "relates to" in response.content.decode()


def test_the_board_panel_names_the_blocker(as_user, people, stories):
    services.link_add(source=stories["load"], target=stories["model"], kind="blocks", actor=people["member"])
    url = reverse("story-detail", kwargs={"key": "DATA", "story_key": stories["model"].key}) + "?panel=1"
    panel = as_user("stakeholder").get(url).content.decode()
    assert "Blocked by DATA-1" in panel and "is blocked by" in panel
    assert "Add link" not in panel and "Remove" not in panel  # a stakeholder reads links; members change them


def test_closing_as_duplicate_from_the_page(as_user, people, stories, states):
    report = stories["report"]
    url = reverse("story-close-duplicate", kwargs={"key": "DATA", "story_key": report.key})
    response = as_user("member").post(url, {"original": stories["load"].key, "version": report.version}, follow=True)
    assert f"{report.key} is closed as a duplicate of {stories['load'].key} (Done)." in response.content.decode()
    assert Story.objects.get(pk=report.pk).state == states["Done"]
    stale = as_user("member").post(url, {"original": stories["model"].key, "version": report.version}, follow=True)
    assert "changed by someone else" in stale.content.decode()
    assert StoryLink.objects.count() == 1
