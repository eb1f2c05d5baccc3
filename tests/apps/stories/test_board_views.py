"""The board page: columns, cards, moves, WIP limits, live polling, filters, swimlanes, Kanban mode, the panel."""

from __future__ import annotations

import gzip
import threading
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.deliverables.models import Deliverable
from apps.projects import services as project_services
from apps.projects.models import WipPolicy
from apps.stories import services
from apps.stories.models import EventKind, Story, StoryEvent
from apps.stories.templatetags import board_cards

pytestmark = pytest.mark.django_db


def board_url(**params) -> str:
    url = reverse("project-board", kwargs={"key": "DATA"})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def live_url() -> str:
    return reverse("project-board-live", kwargs={"key": "DATA"})


def move_url() -> str:
    return reverse("project-board-move", kwargs={"key": "DATA"})


@pytest.fixture
def sprint(project, people):
    sprint = services.sprint_create(project=project, actor=people["owner"], name="Sprint 7", goal="Ship churn")
    return sprint


@pytest.fixture
def cards(project, people, states, sprint):
    owner = people["owner"]
    label = services.label_save(project=project, name="dbt", color="#aa0000")
    epic = services.epic_save(project=project, name="Churn")
    make = services.story_create
    first = make(
        project=project,
        actor=owner,
        title="Load CRM",
        points=3,
        sprint=sprint,
        state=states["Ready"],
        assignee=people["member"],
        labels=[label],
        epic=epic,
        kind="bug",
    )
    second = make(project=project, actor=owner, title="Model churn", points=5, sprint=sprint, state=states["Ready"])
    doing = make(
        project=project,
        actor=owner,
        title="Dashboard",
        sprint=sprint,
        state=states["In progress"],
        assignee=people["owner"],
    )
    services.story_block(story=doing, reason="Waiting for warehouse access", actor=owner)
    make(project=project, actor=owner, title="Not in the sprint", state=states["Ready"])
    services.sprint_start(sprint=sprint, actor=owner)
    return {"first": first, "second": second, "doing": doing, "label": label, "epic": epic}


def move(client, story: Story, state, version=None):
    return client.post(
        move_url(),
        {"story": story.key, "state": state.pk, "version": version or story.version},
        HTTP_ACCEPT="application/json",
    )


# --- Columns and cards ------------------------------------------------------------------------


def test_columns_are_the_workflow_in_order_grouped_by_category(as_user, cards, states):
    content = as_user("member").get(board_url()).content.decode()
    positions = [content.index(f'id="column-{state.pk}"') for state in states.values()]
    assert positions == sorted(positions)
    assert 'class="board-group category-active" data-css-vars="--span: 1"' in content
    assert content.count('class="board-group') == 7  # Validating (active) follows Waiting: its own group
    for name in ("Backlog", "Ready", "In progress", "Waiting", "Validating", "Done", "Won&#x27;t do"):
        assert name in content


def test_a_card_shows_its_details_and_cards_keep_rank_order(as_user, cards):
    content = as_user("member").get(board_url()).content.decode()
    card = content[content.index('id="card-DATA-1"') : content.index('id="card-DATA-2"')]
    for text in ("DATA-1", "Load CRM", "Bug", "3 pt", "member", "dbt"):
        assert text in card
    assert "Waiting for warehouse access" in content and "Blocked" in content
    assert content.index("Load CRM") < content.index("Model churn")
    assert "Not in the sprint" not in content


def test_the_boards_rows_say_what_the_stories_and_their_related_rows_say(project, people, cards, sprint):
    """``board_stories`` reads values, not model instances: each row holds what the story, its assignee (full
    name, else username), epic, deliverable and blocker say."""
    from apps.deliverables import services as deliverable_services
    from apps.stories import selectors

    member = people["member"]
    member.first_name, member.last_name = "Mia", "Kovač"
    member.save()
    deliverable = deliverable_services.deliverable_create(
        project=project, actor=people["owner"], name="Churn board", kind="dashboard"
    )
    services.story_update(story=cards["second"], actor=people["owner"], deliverable=deliverable)
    services.link_add(source=cards["first"], target=cards["doing"], kind="blocks", actor=people["owner"])
    rows, labels = selectors.board_stories(project, sprint=sprint)
    stories = Story.objects.filter(sprint=sprint).select_related("assignee", "epic", "deliverable").order_by("rank")
    assert [row.key for row in rows] == [story.key for story in stories]
    for row, story in zip(rows, stories, strict=True):
        assert (row.pk, row.title, row.version, row.state_id, row.kind, row.points, row.blocked) == (
            story.pk,
            story.title,
            story.version,
            story.state_id,
            story.kind,
            story.points,
            story.blocked,
        )
        assert (row.blocked_reason, row.flow_started_at) == (story.blocked_reason, story.flow_started_at)
        person = story.assignee
        assert row.assignee_name == ((person.get_full_name() or person.get_username()) if person else "")
        assert (row.epic_id, row.epic_name) == (story.epic_id, story.epic.name if story.epic else "")
        assert (row.deliverable_id, row.deliverable_name) == (
            story.deliverable_id,
            story.deliverable.name if story.deliverable else "",
        )
    by_key = {row.key: row for row in rows}
    assert by_key["DATA-1"].assignee_name == "Mia Kovač" and by_key["DATA-1"].epic_name == "Churn"
    assert by_key["DATA-2"].deliverable_name == "Churn board"
    assert by_key["DATA-3"].blocked_by == "DATA-1" and by_key["DATA-1"].blocked_by is None
    assert [label.name for label in labels[by_key["DATA-1"].pk]] == ["dbt"]


def test_cards_in_a_column_follow_the_backlog_rank(as_user, cards, people):
    services.story_move(
        story=cards["second"], actor=people["owner"], placement=services.Placement(before=cards["first"])
    )
    content = as_user("member").get(board_url()).content.decode()
    assert content.index("Model churn") < content.index("Load CRM")


# --- Moves ------------------------------------------------------------------------------------


def test_dragging_a_card_changes_its_state_with_one_state_event(as_user, cards, states):
    story = cards["second"]
    before = StoryEvent.objects.count()
    response = move(as_user("member"), story, states["In progress"])
    assert response.status_code == 200 and response.json()["message"] == "DATA-2 moved to In progress."
    story.refresh_from_db()
    assert story.state == states["In progress"] and story.version == 2
    events = StoryEvent.objects.order_by("seq")[before:]
    assert [(e.kind, e.from_value, e.to_value) for e in events] == [
        (EventKind.STATE, states["Ready"].pk, states["In progress"].pk)
    ]


def selects_stories(sql: str) -> bool:
    """A SELECT of story rows, built by the ORM or by ``apps.core.rows`` (whose main table is ``t0``)."""
    return sql.startswith('SELECT "stories_story"') or (
        sql.startswith("SELECT t0.") and ' FROM "stories_story" t0' in sql
    )


def test_a_move_reads_the_story_once(as_user, cards, states):
    """The view finds the story and column in one query; the only other read of the story is the service's lock."""
    client = as_user("member")
    with CaptureQueriesContext(connection) as queries:
        assert move(client, cards["second"], states["In progress"]).status_code == 200
    story_reads = [q["sql"] for q in queries.captured_queries if selects_stories(q["sql"])]
    assert len(story_reads) == 1, story_reads
    assert not any(
        q["sql"].startswith('SELECT "projects_workflowstate"') and "stories_story" not in q["sql"]
        for q in queries.captured_queries
    )


def test_a_stale_move_is_refused_and_changes_nothing(as_user, cards, states, people):
    story = cards["second"]
    services.story_estimate(story=Story.objects.get(pk=story.pk), points=8, actor=people["owner"])
    seq = StoryEvent.objects.count()
    response = move(as_user("member"), story, states["Done"], version=1)
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert error["code"] == "stale_version" and "changed by someone else" in error["message"]
    story.refresh_from_db()
    assert story.state == states["Ready"] and StoryEvent.objects.count() == seq


def test_a_move_into_a_full_column_is_refused_under_the_block_policy(as_user, project, cards, states):
    project_services.project_update(project=project, wip_policy=WipPolicy.BLOCK)
    project_services.state_update(state=states["In progress"], name="In progress", category="active", wip_limit=1)
    response = move(as_user("member"), cards["second"], states["In progress"])
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert error["code"] == "wip_limit" and "WIP limit of 1" in error["message"]
    assert Story.objects.get(pk=cards["second"].pk).state == states["Ready"]
    content = as_user("member").get(board_url()).content.decode()
    assert "1 / 1" in content and "column-count at-limit" in content and "a full column refuses moves" in content


def test_a_column_over_its_limit_is_marked_under_the_warn_policy(as_user, cards, states):
    project_services.state_update(state=states["Ready"], name="Ready", category="todo", wip_limit=2)
    content = as_user("member").get(board_url()).content.decode()
    assert "WIP 3 / 2" in content  # the limit counts the project's stories in the state, not only the sprint's
    assert "column-count over-limit" in content and "over the limit" in content


def test_a_move_over_a_limit_under_the_warn_policy_says_so_in_its_message(as_user, cards, states):
    n = Story.objects.filter(state=states["In progress"]).count()  # the limit counts the project's stories there
    project_services.state_update(state=states["In progress"], name="In progress", category="active", wip_limit=n + 1)
    client = as_user("member")
    first = move(client, cards["second"], states["In progress"]).json()
    assert first["warning"] == "" and "WIP" not in first["message"]
    third = Story.objects.filter(state=states["Ready"]).exclude(pk=cards["second"].pk).order_by("pk").first()
    answer = move(client, third, states["In progress"])
    assert answer.status_code == 200 and Story.objects.get(pk=third.pk).state == states["In progress"]
    warning = answer.json()["warning"]
    assert f"In progress is over its WIP limit: {n + 2} stories for a limit of {n + 1}." in warning
    assert warning in answer.json()["message"]
    last = Story.objects.filter(state=states["Ready"]).order_by("pk").first()
    page = client.post(
        move_url(), {"story": last.key, "state": states["In progress"].pk, "version": last.version}, follow=True
    )
    assert f"In progress is over its WIP limit: {n + 3} stories for a limit of {n + 1}." in page.content.decode()


def test_a_move_without_javascript_redirects_back_with_a_message(as_user, cards, states):
    client = as_user("member")
    response = client.post(
        move_url(),
        {"story": "DATA-2", "state": states["Done"].pk, "version": 1, "next": board_url(lanes="epic")},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == board_url(lanes="epic")
    assert "DATA-2 moved to Done." in response.content.decode()
    response = client.post(
        move_url(), {"story": "DATA-2", "state": states["Ready"].pk, "version": 1, "next": "https://evil.example/"}
    )
    assert response["Location"] == board_url()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"story": "DATA-2", "state": "x", "version": 1},
        {"story": "DATA-99", "state": 1, "version": 1},
        {"story": "OTHER-1", "state": 1, "version": 1},
        {"story": "DATA-2", "state": 999999, "version": 1},
    ],
)
def test_bad_moves_are_4xx_and_change_nothing(as_user, cards, body):
    seq = StoryEvent.objects.count()
    response = as_user("member").post(move_url(), body, HTTP_ACCEPT="application/json")
    assert response.status_code in (400, 404) and response.json()["errors"][0]["message"]
    assert StoryEvent.objects.count() == seq


def test_who_may_see_and_move(as_user, client, cards, states):
    assert move(as_user("stakeholder"), cards["second"], states["Done"]).status_code == 403
    content = as_user("stakeholder").get(board_url()).content.decode()
    assert (
        "DATA-1" in content
        and 'data-can-move="0"' in content
        and "data-move>" not in content
        and "Move…" not in content
    )
    outsider = as_user("outsider")
    assert outsider.get(board_url()).status_code == 404
    assert outsider.get(live_url()).status_code == 404
    assert move(outsider, cards["second"], states["Done"]).status_code == 404
    client.logout()
    assert client.get(live_url()).status_code == 401
    assert client.get(board_url()).status_code == 302


# --- Cards kept per content --------------------------------------------------------------------


def card_renders(client, url: str) -> tuple[str, list[str]]:
    """The page at ``url`` and the keys of the cards rendered from their template for it."""
    rendered: list[str] = []

    def count(sender, template, context, **kwargs) -> None:
        if template.name == board_cards.CARD_TEMPLATE:
            rendered.append(context["card"].key)

    template_rendered.connect(count)
    try:
        content = client.get(url).content.decode()
    finally:
        template_rendered.disconnect(count)
    return content, sorted(rendered)


def test_a_card_is_rendered_again_only_when_what_it_shows_changes(as_user, cards, states, people):
    board_cards.card_markup.cache_clear()
    member = as_user("member")
    assert card_renders(member, board_url())[1] == ["DATA-1", "DATA-2", "DATA-3"]
    assert card_renders(member, board_url())[1] == []
    assert move(member, cards["second"], states["In progress"]).status_code == 200
    content, rendered = card_renders(member, board_url())
    assert rendered == ["DATA-2"]
    card = content[content.index('id="card-DATA-2"') :]
    assert f'data-state="{states["In progress"].pk}"' in card[: card.index("</li>")]
    # A name on a card changes without its story's version: the card shows it at once all the same.
    people["member"].first_name = "Mia"
    people["member"].save(update_fields=["first_name"])
    content, rendered = card_renders(member, board_url())
    assert rendered == ["DATA-1"] and "Mia" in content
    # Whether the viewer may move cards is part of what a card shows.
    content, rendered = card_renders(as_user("stakeholder"), board_url())
    assert rendered == ["DATA-1", "DATA-2", "DATA-3"] and "Move…" not in content


# --- Live polling -----------------------------------------------------------------------------


def test_an_unchanged_board_answers_304_after_one_query(as_user, project, sprint, cards, django_assert_num_queries):
    client = as_user("member")
    first = client.get(live_url())
    assert first.status_code == 200 and b'id="card-DATA-1"' in first.content
    etag = first["ETag"]
    assert etag.startswith('"board-') and etag.endswith(f'-{sprint.pk}-member-{timezone.now().date().isoformat()}"')
    # The session with its user (database sessions: pages work while Redis is away) and the board's version, in
    # one statement on PostgreSQL (apps.web.sessions: SessionStore.read_with); two elsewhere.
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 2):
        again = client.get(live_url(), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag


@pytest.mark.postgres
def test_the_polls_one_statement_still_ends_a_session_that_django_would_end(as_user, people, project, sprint, cards):
    """The poll reads the session, its user and the board's version at once, then Django checks the session and
    the user as on every request: an expired session, a changed password and a logout each end the poll's
    answers at once, and a session row naming another user than its data never lends that user's version."""
    from apps.web.models import UserSession

    client = as_user("member")
    etag = client.get(live_url())["ETag"]
    assert "-member-" in etag
    key = client.session.session_key
    UserSession.objects.filter(session_key=key).update(user=people["admin"])  # the row says admin, the data member
    answer = client.get(live_url())
    assert answer.status_code == 200 and "-member-" in answer["ETag"]  # the member's version, read again
    UserSession.objects.filter(session_key=key).update(user=people["member"])
    people["member"].set_password("a-new-long-passphrase")
    people["member"].save()
    assert client.get(live_url()).status_code == 401

    client = as_user("member")
    assert client.get(live_url()).status_code == 200
    UserSession.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(live_url()).status_code == 401


def _rename(user, first_name: str) -> None:
    user.first_name = first_name
    user.save(update_fields=["first_name"])


def test_an_open_board_sees_its_columns_change_at_its_next_poll(as_user, project, people, cards, states):
    """A column renamed or given a WIP limit, the WIP policy, a label's colour, an epic's or a member's name:
    none changes a story, all show on the board; the version covers them."""
    client = as_user("member")
    etag = client.get(live_url())["ETag"]
    for change in (
        lambda: project_services.state_update(state=states["In progress"], wip_limit=2),
        lambda: project_services.state_update(state=states["In progress"], name="Doing"),
        lambda: project_services.project_update(project=project, wip_policy=WipPolicy.BLOCK),
        lambda: services.label_save(project=project, label=cards["label"], color="#00aa00"),
        lambda: services.epic_save(project=project, epic=cards["epic"], name="Retention"),
        lambda: _rename(people["member"], "Mia"),
    ):
        assert client.get(live_url(), HTTP_IF_NONE_MATCH=etag).status_code == 304
        change()
        answer = client.get(live_url(), HTTP_IF_NONE_MATCH=etag)
        assert answer.status_code == 200, change
        etag = answer["ETag"]
    content = answer.content.decode()
    assert "Doing" in content and "WIP 1 / 2" in content and "WIP limits are enforced" in content
    assert "--label-color: #00aa00" in content and "Mia" in content
    assert "Retention" in client.get(live_url() + "?lanes=epic").content.decode()


BROWSER_ENCODINGS = "gzip, deflate, br, zstd"  # what Chromium and Firefox send with a fetch


def test_a_browser_gets_the_fragment_gzipped_with_a_weak_etag(as_user, cards):
    """Stored gzipped, served so to whoever accepts gzip: the same bytes unpacked, a weak validator (a strong one
    names one representation), and either form of the ETag matches the next poll."""
    client = as_user("member")
    plain = client.get(live_url())
    packed = client.get(live_url(), HTTP_ACCEPT_ENCODING=BROWSER_ENCODINGS)
    assert packed.status_code == 200 and packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content and len(packed.content) < len(plain.content) / 3
    assert "Content-Encoding" not in plain and plain["ETag"].startswith('"board-')
    assert packed["ETag"] == f"W/{plain['ETag']}"
    assert "Accept-Encoding" in packed["Vary"] and "Accept-Encoding" in plain["Vary"]
    for etag in (packed["ETag"], plain["ETag"]):
        again = client.get(live_url(), HTTP_IF_NONE_MATCH=etag, HTTP_ACCEPT_ENCODING=BROWSER_ENCODINGS)
        assert again.status_code == 304 and again["ETag"] == packed["ETag"] and again.content == b""
    assert client.get(live_url(), HTTP_IF_NONE_MATCH=packed["ETag"]).status_code == 304


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip", True),
        ("x-gzip", True),
        ("*", True),
        ("br;q=1.0, GZIP;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, *;q=1", False),
        ("identity", False),
        ("br, deflate", False),
        ("", False),
        ("gzip;q=lots", False),
        (";;;,,=", False),
    ],
)
def test_only_a_client_that_accepts_gzip_gets_it(as_user, cards, accept, gzipped):
    response = as_user("member").get(live_url(), HTTP_ACCEPT_ENCODING=accept)
    assert response.status_code == 200 and (response.get("Content-Encoding") == "gzip") is gzipped
    content = gzip.decompress(response.content) if gzipped else response.content
    assert b'id="card-DATA-1"' in content


def test_a_worker_serves_a_version_it_served_before_without_the_cache(as_user, cards, django_assert_num_queries):
    """A fragment's key names one version for good: the process keeps the last ones it served, so the next poll
    of the same board (Redis emptied here) is served without a render or a cache read."""
    client = as_user("member")
    first = client.get(live_url())
    cache.clear()
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 2):  # session, user, version
        again = client.get(live_url())
    assert again.status_code == 200 and again.content == first.content


def test_a_worker_keeps_the_fragments_it_used_last_and_none_longer_than_the_cache():
    from apps.stories.views.board import _Recent

    recent = _Recent(2, seconds=60)
    recent.put("a", b"A")
    recent.put("b", b"B")
    assert recent.get("a") == b"A"  # used: "b" is now the oldest
    recent.put("c", b"C")
    assert (recent.get("a"), recent.get("b"), recent.get("c")) == (b"A", None, b"C")
    expired = _Recent(2, seconds=0)
    expired.put("a", b"A")
    assert expired.get("a") is None and not expired.items


def test_the_page_carries_the_etag_the_first_poll_will_send(as_user, cards):
    client = as_user("member")
    page = client.get(board_url()).content.decode()
    etag = client.get(live_url())["ETag"]
    assert f'data-etag="{etag.replace(chr(34), "&quot;")}"' in page


def test_a_change_by_someone_else_changes_the_etag_and_the_fragment(as_user, cards, states, people):
    client = as_user("member")
    etag = client.get(live_url())["ETag"]
    services.story_change_state(story=cards["second"], state=states["Done"], actor=people["owner"])
    response = client.get(live_url(), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and response["ETag"] != etag
    content = response.content.decode()
    done_cell = content[content.index(f'data-state="{states["Done"].pk}" aria-label="Done"') :]
    assert 'id="card-DATA-2"' in done_cell


def test_a_change_the_board_does_not_show_answers_304(as_user, project, cards, states, people):
    """A backlog reorder, an edit of a story outside the sprint or outside the filters: no new render."""
    client = as_user("member")
    outside = Story.objects.get(title="Not in the sprint")
    etag = client.get(live_url())["ETag"]
    bugs = client.get(live_url() + "?kind=bug")["ETag"]
    services.story_move(story=outside, actor=people["owner"], placement=services.Placement(position="top"))
    services.story_update(story=Story.objects.get(pk=outside.pk), actor=people["owner"], title="Renamed")
    assert client.get(live_url(), HTTP_IF_NONE_MATCH=etag).status_code == 304
    services.story_update(story=cards["second"], actor=people["owner"], title="Model churn, v2")  # not a bug
    assert client.get(live_url() + "?kind=bug", HTTP_IF_NONE_MATCH=bugs).status_code == 304
    changed = client.get(live_url(), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and "Model churn, v2" in changed.content.decode()


def test_a_state_change_outside_the_board_changes_its_wip_counts_and_etag(as_user, project, cards, states, people):
    client = as_user("member")
    etag = client.get(live_url())["ETag"]
    outside = Story.objects.get(title="Not in the sprint")  # counts towards the project-wide WIP of its column
    services.story_change_state(story=outside, state=states["In progress"], actor=people["owner"])
    assert client.get(live_url(), HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_a_card_leaving_or_joining_the_sprint_changes_the_etag(as_user, project, cards, sprint, people):
    client = as_user("owner")
    etag = client.get(live_url())["ETag"]
    bottom = services.Placement(position="bottom")
    services.story_move(story=cards["second"], actor=people["owner"], placement=bottom, sprint=None)
    left = client.get(live_url(), HTTP_IF_NONE_MATCH=etag)
    assert left.status_code == 200 and "Model churn" not in left.content.decode()
    back = Story.objects.get(pk=cards["second"].pk)
    services.story_move(story=back, actor=people["owner"], placement=bottom, sprint=sprint)
    assert client.get(live_url(), HTTP_IF_NONE_MATCH=left["ETag"]).status_code == 200


def test_starting_or_closing_a_sprint_changes_the_etag(as_user, project, people):
    client = as_user("member")
    etag = client.get(live_url())["ETag"]
    sprint = services.sprint_create(project=project, actor=people["owner"])
    services.sprint_start(sprint=sprint, actor=people["owner"])  # no story event: the active sprint is in the tag
    assert client.get(live_url(), HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_the_live_fragment_keeps_the_filters(as_user, cards):
    content = as_user("member").get(live_url() + "?kind=bug").content.decode()
    assert "DATA-1" in content and "DATA-2" not in content


# --- Filters, swimlanes, Kanban -----------------------------------------------------------------


def test_filters_by_assignee_label_and_kind(as_user, cards):
    client = as_user("member")
    assert "Load CRM" in (c := client.get(board_url(assignee="member")).content.decode()) and "Model churn" not in c
    unassigned = client.get(board_url(assignee="none")).content.decode()
    assert "Model churn" in unassigned and "Load CRM" not in unassigned and "Dashboard" not in unassigned
    assert "Load CRM" in (c := client.get(board_url(label="dbt")).content.decode()) and "Model churn" not in c
    assert "Load CRM" in (c := client.get(board_url(kind="bug")).content.decode()) and "Dashboard" not in c


def test_a_bad_filter_is_reported_and_ignored(as_user, cards):
    response = as_user("member").get(board_url(kind="nonsense", assignee="nobody", lanes="zzz"))
    content = response.content.decode()
    assert response.status_code == 200 and "(ignored)" in content
    assert "Load CRM" in content and "Model churn" in content


def test_swimlanes_by_assignee_and_epic(as_user, cards):
    client = as_user("member")
    content = client.get(board_url(lanes="assignee")).content.decode()
    lanes = [content.index(f'<h3 class="lane-head">{name}') for name in ("member", "owner", "Unassigned")]
    assert lanes == sorted(lanes)  # named lanes alphabetically, the "nobody" lane last
    assert (
        lanes[0]
        < content.index("Load CRM")
        < lanes[1]
        < content.index("Dashboard")
        < lanes[2]
        < content.index("Model churn")
    )
    content = client.get(board_url(lanes="epic")).content.decode()
    assert (
        content.index('<h3 class="lane-head">Churn')
        < content.index("Load CRM")
        < content.index('<h3 class="lane-head">No epic')
    )
    assert "lane-head" not in client.get(board_url()).content.decode()


def test_kanban_mode_without_a_sprint_shows_open_and_recently_finished_work(as_user, project, people, states):
    owner, now = people["owner"], timezone.now()
    make = services.story_create
    # History is written in time order, as the event log requires.
    old = make(
        project=project, actor=owner, title="Finished long ago", state=states["Ready"], at=now - timedelta(days=40)
    )
    recent = make(
        project=project, actor=owner, title="Finished lately", state=states["Ready"], at=now - timedelta(days=40)
    )
    services.story_change_state(story=old, state=states["Done"], actor=owner, at=now - timedelta(days=30))
    services.story_change_state(story=recent, state=states["Done"], actor=owner, at=now - timedelta(days=3))
    make(project=project, actor=owner, title="Ready work", state=states["Ready"])
    make(project=project, actor=owner, title="Started work", state=states["Waiting"])
    make(project=project, actor=owner, title="Still in the backlog", state=states["Backlog"])
    content = as_user("member").get(board_url()).content.decode()
    assert "No sprint is running" in content and "in the last 14 days" in content
    for shown in ("Ready work", "Started work", "Finished lately"):
        assert shown in content
    for hidden in ("Still in the backlog", "Finished long ago"):
        assert hidden not in content


def test_kanban_mode_can_be_chosen_while_a_sprint_runs(as_user, cards):
    content = as_user("member").get(board_url(mode="kanban")).content.decode()
    assert "Not in the sprint" in content and "Load CRM" in content and "Show the active sprint instead" in content


# --- Ages and the service level expectation -------------------------------------------------------


def test_ages_are_coloured_past_the_sle_and_not_without_history(as_user, project, people, states):
    owner, now = people["owner"], timezone.now()
    cache.clear()
    old = services.story_create(
        project=project, actor=owner, title="Old work", state=states["Ready"], at=now - timedelta(days=20)
    )
    quick = services.story_create(
        project=project, actor=owner, title="Quick work", state=states["Ready"], at=now - timedelta(days=20)
    )
    services.story_change_state(story=old, state=states["In progress"], actor=owner, at=now - timedelta(days=9))
    content = as_user("member").get(board_url()).content.decode()
    assert ">10d<" in content and "over-sle" not in content and "not compared" in content
    services.story_change_state(story=quick, state=states["In progress"], actor=owner, at=now - timedelta(days=5))
    services.story_change_state(story=quick, state=states["Done"], actor=owner, at=now - timedelta(days=3))
    content = as_user("member").get(board_url()).content.decode()
    assert "85% of stories finish within 3 days (n=1" in content
    card = content[content.index('id="card-DATA-1"') :]
    assert 'class="age over-sle"' in card[: card.index("</li>")]


def test_the_board_never_reads_the_event_log_and_its_ages_follow_every_change(as_user, cards, states, people):
    client = as_user("member")
    cache.clear()
    with CaptureQueriesContext(connection) as cold:
        client.get(board_url())
    services.story_change_state(story=cards["second"], state=states["In progress"], actor=people["owner"])
    with CaptureQueriesContext(connection) as changed:
        content = client.get(board_url()).content.decode()
    assert not any("stories_storyevent" in q["sql"] for q in [*cold.captured_queries, *changed.captured_queries])
    card = content[content.index('id="card-DATA-2"') :]
    assert ">1d<" in card[: card.index("</li>")]


# --- The number of queries does not grow with the cards -----------------------------------------------


def _fill(project, people, states, sprint, n: int, offset: int = 0) -> None:
    label = services.label_save(project=project, name=f"L{offset}")
    epic = services.epic_save(project=project, name=f"E{offset}")
    names = list(states)
    for i in range(n):
        services.story_create(
            project=project,
            actor=people["owner"],
            title=f"Card {offset + i}",
            points=i % 5,
            sprint=sprint,
            state=states[names[1 + i % 5]],
            assignee=people["member"] if i % 2 else people["owner"],
            labels=[label],
            epic=epic if i % 3 else None,
        )


@pytest.mark.parametrize("params", [{}, {"lanes": "assignee"}, {"lanes": "epic", "label": "L0"}])
def test_a_board_of_500_cards_costs_as_many_queries_as_one_of_5(as_user, project, people, states, sprint, params):
    services.sprint_start(sprint=sprint, actor=people["owner"])
    client = as_user("member")
    _fill(project, people, states, sprint, 5)
    cache.clear()
    with CaptureQueriesContext(connection) as small:
        assert client.get(board_url(**params)).status_code == 200
    _fill(project, people, states, sprint, 495, offset=5)
    cache.clear()
    with CaptureQueriesContext(connection) as large:
        response = client.get(board_url(**params))
    assert response.status_code == 200 and response.content.count(b'class="story-card') == (
        500 if "label" not in params else 5
    )
    assert len(large) == len(small), [q["sql"][:80] for q in large.captured_queries]


# --- The side panel: the story page's ?panel=1 fragment (its behaviour: tests/apps/stories/test_story_pages.py) ---


def test_the_board_opens_the_story_panel(as_user, cards):
    client = as_user("member")
    page = client.get(board_url()).content.decode()
    panel = reverse("story-detail", kwargs={"key": "DATA", "story_key": "STORY-KEY"}) + "?panel=1"
    assert f'data-panel-url="{panel}"' in page
    # Without JavaScript a card's link opens the story's page, which has the same changes.
    story_page = reverse("story-detail", kwargs={"key": "DATA", "story_key": "DATA-1"})
    assert f'<a class="card-open" href="{story_page}">DATA-1</a>' in page
    fragment = client.get(panel.replace("STORY-KEY", "DATA-3"), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and "data-close-panel" in fragment
    assert "Waiting for warehouse access" in fragment and ">Unblock</button>" in fragment


def test_a_change_in_the_panel_shows_on_the_board(as_user, cards):
    client = as_user("member")
    etag = client.get(live_url())["ETag"]
    url = reverse("story-block", kwargs={"key": "DATA", "story_key": "DATA-2"})
    response = client.post(url, {"version": 1, "reason": "No access", "panel": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "board-changed"
    live = client.get(live_url(), HTTP_IF_NONE_MATCH=etag)
    assert live.status_code == 200
    content = live.content.decode()
    card = content[content.index('id="card-DATA-2"') :]
    assert "No access" in card[: card.index("</li>")]


def test_polls_of_one_board_version_share_one_render(browser_for, cards, states, people):
    cache.clear()
    services.story_change_state(story=cards["second"], state=states["In progress"], actor=people["owner"])
    first, second = browser_for("member"), browser_for("owner")  # the fragment names nobody: shared by users
    second_member = browser_for("member")
    with CaptureQueriesContext(connection) as rendering:
        rendered = first.get(live_url())
    with CaptureQueriesContext(connection) as shared:
        again = second_member.get(live_url())
    assert rendered.status_code == again.status_code == 200 and rendered.content == again.content
    assert len(shared) < len(rendering) / 2
    # Only the version query looks at the stories (a fingerprint of the cards); no card is read.
    assert not any('"stories_story"."title"' in q["sql"] for q in shared.captured_queries)
    # Another role is another version (a product owner's cards can be dragged differently).
    assert second.get(live_url())["ETag"] != rendered["ETag"]


def _fragment_lock(member) -> tuple[str, int]:
    """The cache key and advisory lock of the member's unfiltered board fragment, as board_live computes them."""
    from apps.stories import selectors
    from apps.stories.views import board

    version = selectors.board_version(user=member, key="DATA", shown=selectors.BoardShown())
    fragment_key = board._fragment_key(version, board._etag(version), "")
    return fragment_key, board._lock_id(fragment_key)


@pytest.fixture
def other_worker():
    """A second PostgreSQL session, as another gunicorn worker's: it holds the render lock of a fragment."""
    raw = connection.get_new_connection(connection.get_connection_params())
    raw.autocommit = True
    yield raw
    raw.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_poll_waits_asleep_for_the_render_in_progress_and_serves_it(as_user, cards, people, other_worker):
    """No render of its own and no looking in the cache meanwhile: the poll's queries are the session with its
    user, the version, the lock it did not get and its one wait; it answers as soon as the renderer is done."""
    cache.clear()
    client = as_user("member")
    fragment_key, lock = _fragment_lock(people["member"])
    other_worker.execute("SELECT pg_advisory_lock(%s)", [lock])

    def renderer_finishes() -> None:
        time.sleep(0.5)
        cache.set(fragment_key, gzip.compress(b"<p>rendered by the other worker</p>"), 60)
        other_worker.execute("SELECT pg_advisory_unlock(%s)", [lock])

    finishing = threading.Thread(target=renderer_finishes)
    began = time.perf_counter()
    finishing.start()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(live_url())
    finishing.join()
    assert response.status_code == 200 and response.content == b"<p>rendered by the other worker</p>"
    assert time.perf_counter() - began >= 0.5
    # The session, its user and the version in one statement, the try for the lock, the wait for it.
    assert len(queries) == 3 and "pg_advisory_lock_shared" in queries[-1]["sql"], [q["sql"] for q in queries]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_poll_renders_its_own_when_the_renderer_takes_too_long(as_user, cards, people, other_worker, monkeypatch):
    from apps.stories.views import board

    monkeypatch.setattr(board, "FRAGMENT_WAIT_SECONDS", 1)
    cache.clear()
    client = as_user("member")
    fragment_key, lock = _fragment_lock(people["member"])
    other_worker.execute("SELECT pg_advisory_lock(%s)", [lock])  # and never lets go
    began = time.perf_counter()
    response = client.get(live_url())
    assert response.status_code == 200 and b'id="card-DATA-1"' in response.content
    assert 1 <= time.perf_counter() - began < 5
    assert gzip.decompress(cache.get(fragment_key)) == response.content
    # The wait's time limit was local to its statement: the session waits as long as it did before.
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_poll_that_renders_stores_the_fragment_and_lets_go_of_the_lock(as_user, cards, people, other_worker):
    cache.clear()
    client = as_user("member")
    fragment_key, lock = _fragment_lock(people["member"])
    response = client.get(live_url())
    assert response.status_code == 200 and gzip.decompress(cache.get(fragment_key)) == response.content
    assert other_worker.execute("SELECT pg_try_advisory_lock(%s)", [lock]).fetchone()[0] is True


@pytest.mark.parametrize(
    "shown",
    [
        {},
        {"mode": "kanban"},
        {"assignee": "member"},
        {"assignee": "none"},
        {"label": "dbt"},
        {"kind": "bug"},
        {"mode": "kanban", "kind": "story"},
        {"assignee": "nobody-such"},
    ],
    ids=str,
)
def test_the_polls_fingerprint_counts_the_cards_the_board_shows(project, people, cards, sprint, shown):
    """The poll's written-out query and the render's board_cards_query describe the same cards, and the
    deliverables they show: each once, however many cards show it (read by id, not joined per card)."""
    from apps.deliverables import services as deliverable_services
    from apps.stories import selectors

    make = deliverable_services.deliverable_create
    churn = make(project=project, actor=people["owner"], name="Churn board", kind="dashboard")
    crm = make(project=project, actor=people["owner"], name="CRM", kind="dataset")
    for card, deliverable in (("first", churn), ("second", churn), ("doing", crm)):
        services.story_update(story=cards[card], actor=people["owner"], deliverable=deliverable)
    version = selectors.board_version(user=people["member"], key="DATA", shown=selectors.BoardShown(**shown))
    since = timezone.now() - timedelta(days=selectors.KANBAN_RECENT_DAYS)
    filters = {name: shown.get(name, "") for name in ("assignee", "label", "kind")}
    in_sprint = None if shown.get("mode") == "kanban" else sprint
    expected = selectors.board_cards_query(project, sprint=in_sprint, since=since, **filters)
    cards_part, deliverables_part, _, _ = version.shown.split("|")
    count, versions, latest = cards_part.split(":", 2)
    assert int(count) == expected.count()
    assert expected.count() > 0 or shown.get("assignee") == "nobody-such"  # each filter is tried on real cards
    assert int(versions) == sum(expected.values_list("version", flat=True))
    assert bool(latest) == expected.exists()
    shown_deliverables = Deliverable.objects.filter(stories__in=expected).distinct()
    assert deliverables_part == f"{sum(shown_deliverables.values_list('version', flat=True))}:0"


@pytest.mark.postgres
def test_the_polls_query_is_planned_once_per_connection_and_answers_as_before(project, people, cards, sprint):
    """Prepared from its 5th run, with one generic plan for every mode and filter: the same answers as the
    first runs (planned each time), and no new plan per poll."""
    from apps.stories import selectors

    variants = [selectors.BoardShown(), selectors.BoardShown(mode="kanban"), selectors.BoardShown(label="dbt")]
    variants += [selectors.BoardShown(assignee="member"), selectors.BoardShown(assignee="none", kind="bug")]
    first = {shown: selectors.board_version(user=people["member"], key="DATA", shown=shown) for shown in variants}
    for _ in range(3):
        for shown in variants:
            assert selectors.board_version(user=people["member"], key="DATA", shown=shown) == first[shown]
    assert selectors.board_version(user=people["outsider"], key="DATA") is None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%%WITH v AS%%'"
        )
        (generic, custom), *others = cursor.fetchall()
    assert generic >= 15 and custom == 0 and not others


SQLITE_POLLS = r"""
import json
from django.contrib.auth import get_user_model
from django.test import Client
from apps.projects import services as project_services
from apps.stories import services

owner = get_user_model().objects.create_user("owner")
project = project_services.project_create(creator=owner, key="DATA", name="Data")
ready = next(state for state in project.states.all() if state.name == "Ready")
sprint = services.sprint_create(project=project, actor=owner, name="Sprint 1")
story = services.story_create(project=project, actor=owner, title="Load CRM", sprint=sprint, state=ready)
services.sprint_start(sprint=sprint, actor=owner)
client = Client(HTTP_HOST="localhost")
client.force_login(owner)
first = client.get("/p/DATA/board/live/")
again = client.get("/p/DATA/board/live/", HTTP_IF_NONE_MATCH=first["ETag"])
services.story_update(story=story, actor=owner, title="Load the CRM")
changed = client.get("/p/DATA/board/live/", HTTP_IF_NONE_MATCH=first["ETag"])
print(json.dumps([first.status_code, b"DATA-1" in first.content, again.status_code, changed.status_code,
                  b"Load the CRM" in changed.content]))
"""


def test_the_board_polls_on_sqlite(tmp_path):
    """The embedded SQLite (``make run``): the version query without preparing, the fragment without waiting."""
    from tests.deploy.environment import on_sqlite

    assert on_sqlite(tmp_path, SQLITE_POLLS) == [200, True, 304, 200, True]
