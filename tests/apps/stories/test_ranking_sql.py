"""The rank move's hand-written SQL: the edge of a list it reads and the one round trip it writes.

``ranking._edge_spot`` finds the top or bottom of a list in SQL (the ORM cost more than the query);
the list it reads must stay ``selectors.list_filter``'s. ``events._write`` sends a move's writes as one
statement on PostgreSQL and one by one on SQLite (``make run``'s database).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Subquery
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.projects.events import Change
from apps.projects.models import Project
from apps.stories import selectors, services
from apps.stories.models import EventKind, Story, StoryEvent
from apps.stories.services import events, ranking
from apps.stories.services.ranking import Spot, _spot
from tests.deploy.environment import on_sqlite

pytestmark = pytest.mark.django_db


def orm_edge(project, top: bool, sprint, moving: int | None) -> Spot:
    """The edge as the ORM states it: the first (last) key of the list, and the project's next key beyond it."""
    everyone = Story.objects.filter(project=project).exclude(pk=moving)
    edge = everyone.filter(selectors.list_filter(sprint)).order_by("rank" if top else "-rank").values("rank")[:1]
    if top:
        keys = list(everyone.filter(rank__lte=Subquery(edge)).order_by("-rank").values_list("rank", flat=True)[:2])
    else:
        keys = list(everyone.filter(rank__gte=Subquery(edge)).order_by("rank").values_list("rank", flat=True)[:2])
    if not keys:
        return Spot(max(everyone.values_list("rank", flat=True), default=None), None)
    beyond = keys[1] if len(keys) > 1 else None
    return Spot(beyond, keys[0], keys[0]) if top else Spot(keys[0], beyond, keys[0])


def test_the_edge_of_every_list_is_the_one_the_orm_names(project, people, states):
    """Backlog and sprint, top and bottom, with stories finished, cancelled, deleted and in sprints mixed in."""
    owner = people["owner"]
    sprint = services.sprint_create(project=project, actor=owner)
    rng = random.Random(12)
    closed = [state for state in states.values() if state.category in ("done", "cancelled")]
    stories = [services.story_create(project=project, actor=owner, title=f"Story {n}") for n in range(24)]
    for story in stories:
        roll = rng.random()
        if roll < 0.25:
            story = services.story_update(story=story, actor=owner, sprint=sprint)
        elif roll < 0.4:
            story = services.story_update(story=story, actor=owner, state=rng.choice(closed))
        elif roll < 0.5:
            services.story_delete(story=story, actor=owner)
    lists = [None, sprint]
    for _ in range(40):
        for top in (True, False):
            for where in lists:
                for moving in (None, rng.choice(stories).pk):
                    spot = _spot(project, selectors.Placement(position="top" if top else "bottom"), where, moving)
                    assert spot == orm_edge(project, top, where, moving), (top, where, moving)
        story = Story.objects.get(pk=rng.choice(stories).pk)
        if story.deleted_at is None and story.state.category not in ("done", "cancelled"):
            services.story_move(
                story=story, actor=owner, placement=selectors.Placement(position=rng.choice(["top", "bottom"]))
            )
    empty = services.sprint_create(project=project, actor=owner)
    for top in (True, False):
        placement = selectors.Placement(position="top" if top else "bottom")
        assert _spot(project, placement, empty, None) == orm_edge(project, top, empty, None)


def test_a_rank_move_writes_its_row_counter_and_event_in_one_statement(project, people):
    owner = people["owner"]
    first, second = (services.story_create(project=project, actor=owner, title=title) for title in ("One", "Two"))
    with CaptureQueriesContext(connection) as queries:
        moved = services.story_move(story=second, actor=owner, placement=selectors.Placement(position="top"))
    writes = [
        query["sql"] for query in queries if not query["sql"].lstrip().startswith(("SELECT", "SAVEPOINT", "RELEASE"))
    ]
    assert len(writes) == 1 and writes[0].startswith("WITH "), writes
    stored = Story.objects.get(pk=second.pk)
    assert (stored.rank, stored.version, stored.updated_at) == (moved.rank, moved.version, moved.updated_at)
    assert stored.rank < first.rank
    event = stored.events.order_by("-seq").first()
    assert (event.kind, event.from_value, event.to_value, event.actor) == ("rank", second.rank, moved.rank, owner)
    project.refresh_from_db()
    assert (project.last_event_seq, project.last_event_at) == (event.seq, event.at)


SCRIPT = r"""
import json
from django.contrib.auth import get_user_model
from django.core.management import call_command
from apps.projects import services as project_services
from apps.stories import services, selectors
from django.utils import timezone

from apps.projects.events import Change
from apps.projects.models import Project
from apps.stories.models import EventKind, Story, StoryEvent

owner = get_user_model().objects.create_user("owner")
data = project_services.project_create(creator=owner, key="DATA", name="Data")
stories = [services.story_create(project=data, actor=owner, title=f"Story {n}") for n in range(5)]
services.story_move(story=stories[4], actor=owner, placement=selectors.Placement(position="top"))
services.story_move(story=Story.objects.get(pk=stories[0].pk), actor=owner, placement=selectors.Placement(position="bottom"))
order = list(Story.objects.filter(project=data).order_by("rank").values_list("key", flat=True))
# two stories placed before the same one in turn, until the gap is used up and a neighbourhood is rebalanced
for n in range(80):
    anchor = Story.objects.get(pk=stories[2].pk)
    services.story_move(story=Story.objects.get(pk=stories[1 + 2 * (n % 2)].pk), actor=owner, placement=selectors.Placement(before=anchor))
rebalanced = StoryEvent.objects.filter(project=data, kind="rebalanced").count()
squeezed = list(Story.objects.filter(project=data).order_by("rank").values_list("key", flat=True))
# one write of 120 events: more than SQLite takes parameters in one statement (Django counts 999)
epic = services.epic_save(project=data, name="Big")
many = [services.story_create(project=data, actor=owner, title=f"More {n}", epic=epic) for n in range(120)]
services.epic_delete(epic=epic, actor=owner)
unlinked = Story.objects.filter(project=data, epic__isnull=True).count()
try:
    call_command("verify_events")
    verified = True
except SystemExit as exit:
    verified = exit.code in (0, None)
print(json.dumps({"order": order, "squeezed": squeezed, "rebalanced": rebalanced, "verified": verified, "unlinked": unlinked}))
"""


def test_moves_on_sqlite_write_the_same_rows_one_statement_at_a_time(tmp_path: Path) -> None:
    result = on_sqlite(tmp_path, SCRIPT)
    assert result.pop("rebalanced") >= 1
    assert result == {
        "order": ["DATA-5", "DATA-2", "DATA-3", "DATA-4", "DATA-1"],
        "squeezed": ["DATA-5", "DATA-2", "DATA-4", "DATA-3", "DATA-1"],
        "verified": True,
        "unlinked": 125,
    }


@pytest.mark.parametrize("reach", [2, ranking.REACH])
def test_a_rebalance_reads_a_window_and_keeps_every_order_in_a_packed_backlog(project, people, monkeypatch, reach):
    """Moves that exhaust one gap again and again, at the top and in the middle of a backlog longer than the window
    a rebalance first reads (with a reach of 2, every rebalance has to read further): the order is always the one
    asked for, and keys stay short."""
    monkeypatch.setattr(ranking, "REACH", reach)
    owner = people["owner"]
    stories = [services.story_create(project=project, actor=owner, title=f"S{n}") for n in range(150)]
    expected = [story.pk for story in stories]
    anchor = stories[75]
    rng = random.Random(5)
    for step in range(240):
        story = Story.objects.get(pk=rng.choice(expected))
        if step % 2:
            placement = selectors.Placement(position="top")
        elif story.pk == anchor.pk:
            continue
        else:
            placement = selectors.Placement(before=Story.objects.get(pk=anchor.pk))
        expected.remove(story.pk)
        expected.insert(0 if step % 2 else expected.index(anchor.pk), story.pk)
        services.story_move(story=story, actor=owner, placement=placement)
    ranks = list(Story.objects.filter(project=project).order_by("rank").values_list("pk", "rank"))
    assert [pk for pk, _ in ranks] == expected
    assert max(len(rank) for _, rank in ranks) <= 12
    assert StoryEvent.objects.filter(project=project, kind="rebalanced").exists()


def test_a_save_that_finds_no_row_is_an_error_not_a_lost_write(project, people):
    """The one-round-trip save checks what each part wrote, as Django's ``save(update_fields=...)`` does."""
    owner = people["owner"]
    story = services.story_create(project=project, actor=owner, title="One")
    ghost = Story.objects.get(pk=story.pk)
    ghost.pk = story.pk + 1000  # no such row
    with pytest.raises(DatabaseError, match="did not write"), transaction.atomic():
        project_row = Project.objects.select_for_update().get(pk=project.pk)
        events._append_events(
            project_row,
            ghost,
            [Change(EventKind.RANK, "", story.rank, "0")],
            actor=owner,
            at=timezone.now(),
            story_columns=["rank"],
        )
    assert not StoryEvent.objects.filter(story=story, kind="rank").exists()


@pytest.mark.postgres
def test_a_moves_statements_are_planned_once_per_connection(project, people, as_user):
    """The API's story with the caller's role, the locks, the list's edge and the write are prepared from their 5th
    run: planning them cost more than running them. Each move still reads the list as it is now."""
    owner = people["owner"]
    keys = [services.story_create(project=project, actor=owner, title=f"Story {n}").key for n in range(8)]
    client = as_user("owner")
    for key in reversed(keys):  # each to the top: the list ends as it began, upside down
        response = client.post(f"/api/v1/stories/{key}/move/", {"position": "top"}, content_type="application/json")
        assert response.status_code == 200, response.content
    assert list(selectors.backlog_stories(project).values_list("key", flat=True)) == keys
    table = connection.ops.quote_name(Story._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        plans = {statement: (generic, custom) for statement, generic, custom in cursor.fetchall()}
    kinds = {
        "story with the caller's role": lambda sql: '"caller_role"' in sql and f"FROM {table} t0" in sql,
        "the locks": lambda sql: "FOR UPDATE OF t1, t0" in sql,
        "the list's edge": lambda sql: "SELECT s.rank FROM" in sql,
        "the write": lambda sql: sql.startswith("WITH w0 AS (UPDATE"),
    }
    for name, match in kinds.items():
        found = [plan for sql, plan in plans.items() if match(sql)]  # the edge: the top's, and the bottom's (creates)
        assert found and all(generic >= 2 and custom == 0 for generic, custom in found), (name, found)
