"""Reads of stories shared by pages, the API and reports.

``engine_input`` loads what the ``sprintboard`` engine computes from: the
workflow, the stories, the event log (by indexed range, as plain tuples, no
model instances) and the sprints, as the engine's frozen records.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import psycopg
from django.contrib.auth import get_user_model
from django.contrib.postgres.aggregates import StringAgg
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, TextField
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from apps.core import search
from apps.core.errors import InvalidInput
from apps.core.markup import escaped
from apps.core.rows import prepared_cursor
from apps.deliverables.models import FAILING_RUN_STATUSES, Deliverable
from apps.projects.models import (
    CLOSED_CATEGORIES,
    STARTED_CATEGORIES,
    Category,
    Membership,
    Project,
    Role,
    WorkflowState,
)
from apps.stories.link_selectors import link_sentence, unfinished_blocker
from apps.stories.models import (
    Comment,
    Epic,
    EventKind,
    Label,
    Sprint,
    SprintStatus,
    Story,
    StoryEvent,
    StoryKind,
)
from sprintboard import flow, history, records, sprints
from sprintboard import search as text_search
from sprintboard.errors import EngineError
from sprintboard.history import end_of_day, gc_paused

logger = logging.getLogger(__name__)

ENGINE_EVENT_COLUMNS = ("seq", "story_id", "kind", "at", "to_value")
EVENT_BATCH = 100_000


@dataclass(frozen=True)
class EngineInput:
    """Everything the engine needs about one project, read up to one event sequence number."""

    project_id: int
    timezone: str
    watermark: int
    workflow: tuple[records.State, ...]
    stories: tuple[records.Story, ...]
    events: tuple[records.Event, ...]
    sprints: tuple[records.Sprint, ...]


def engine_workflow(project: Project) -> tuple[records.State, ...]:
    # Deleted states too: the log's past events name them.
    rows = (
        WorkflowState.all_objects.filter(project=project)
        .order_by("position", "id")
        .values_list("id", "name", "category", "position")
    )
    return tuple(records.State(id=i, name=n, category=c, position=p) for i, n, c, p in rows)


def engine_sprints(project: Project) -> tuple[records.Sprint, ...]:
    rows = (
        Sprint.objects.filter(project=project)
        .order_by("start", "id")
        .values_list("id", "name", "start", "end", "started_at", "closed_at")
    )
    return tuple(
        records.Sprint(id=i, name=n, start=s, end=e, started_at=sa, closed_at=ca) for i, n, s, e, sa, ca in rows
    )


def engine_stories(project: Project, *, only: Collection[int] | None = None) -> tuple[records.Story, ...]:
    stories = Story.objects.filter(project=project)
    if only is not None:
        stories = stories.filter(pk__in=only)
    rows = stories.order_by("id").values_list("id", "key", "kind", "created_at", "deliverable_id")
    return tuple(records.Story(id=i, key=k, kind=kind, created_at=c, deliverable_id=d) for i, k, kind, c, d in rows)


def engine_events(
    project: Project, *, after: int = 0, upto: int | None = None, only: Collection[int] | None = None
) -> list[records.Event]:
    """The log from ``after`` (exclusive) to ``upto`` (inclusive) in seq order, read over the (project, seq) index;
    with ``only``, just those stories' events (over the (story, at) index).

    Only the columns the engine reads are loaded (it never looks at ``from``, the field name or the actor).
    """
    with gc_paused():
        return _read_events(project, after=after, upto=upto, only=only)


def _read_events(
    project: Project, *, after: int, upto: int | None, only: Collection[int] | None
) -> list[records.Event]:
    events: list[records.Event] = []
    if only is not None and not only:
        return events
    cursor = after
    while True:
        batch = StoryEvent.objects.filter(project=project, seq__gt=cursor)
        if only is not None:
            batch = batch.filter(story_id__in=only)
        if upto is not None:
            batch = batch.filter(seq__lte=upto)
        rows = _fetch(batch.order_by("seq").values_list(*ENGINE_EVENT_COLUMNS)[:EVENT_BATCH])
        Event = records.Event
        events.extend(Event(seq, story_id, kind, at, to_value=to_value) for seq, story_id, kind, at, to_value in rows)
        if len(rows) < EVENT_BATCH:
            return events
        cursor = rows[-1][0]


def _fetch(rows: QuerySet) -> list[tuple]:
    """Rows as tuples with ``to_value`` decoded.

    On PostgreSQL the rows come straight from a binary-protocol cursor, with the JSON column cast to
    text: Django's per-row converters and text-format timestamps cost more than the read itself
    (bench_reports: 500,000 events read in about 1.5 s instead of 5.2 s through the ORM).
    """
    if connection.vendor != "postgresql":
        return list(rows)
    sql, params = (
        rows.annotate(to_text=Cast("to_value", TextField()))
        .values_list("seq", "story_id", "kind", "at", "to_text")
        .query.sql_with_params()
    )
    connection.ensure_connection()
    # Django's own cursors bind client-side, which rules out binary results: use a plain psycopg cursor,
    # and log the query as Django's cursors do, so query counts and debugging tools still see it.
    started = time.monotonic()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        fetched = cursor.fetchall()
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql % tuple(params), "time": f"{time.monotonic() - started:.3f}"})
    return [(seq, story, kind, at, _decode(value)) for seq, story, kind, at, value in fetched]


def _decode(value: str | None) -> object:
    """JSON text to a value; most of the log is ids and nulls, which skip the JSON parser."""
    if value is None or value == "null":
        return None
    if value.isdigit():
        return int(value)
    return json.loads(value)


def engine_input(project: Project, *, only: Collection[int] | None = None) -> EngineInput:
    """A consistent snapshot: everything up to the project's event sequence number at the time of reading.

    With ``only``, just those stories and their events: what a sprint report needs (``sprint_story_ids``).
    """
    watermark = Project.objects.filter(pk=project.pk).values_list("last_event_seq", flat=True).get()
    return EngineInput(
        project_id=project.pk,
        timezone=project.timezone,
        watermark=watermark,
        workflow=engine_workflow(project),
        stories=engine_stories(project, only=only),
        events=tuple(engine_events(project, upto=watermark, only=only)),
        sprints=engine_sprints(project),
    )


def sprint_story_ids(sprints_: Iterable[Sprint]) -> set[int]:
    """The stories the reports of started ``sprints_`` read: in one of them now, or moved in or out of one
    after its start. A story can leave a closed sprint only by the close's carry-over, which is logged.

    Two queries, over the events since the earliest start: what a sprint costs, not the whole history.
    """
    wanted: dict[int | None, Sprint] = {sprint.pk: sprint for sprint in sprints_}
    if not wanted:
        return set()
    ids = set(Story.objects.filter(sprint__in=wanted).values_list("pk", flat=True))
    first = min((sprint.start_seq or 0) for sprint in wanted.values())
    project_id = next(iter(wanted.values())).project_id
    moves = StoryEvent.objects.filter(project=project_id, seq__gt=first, kind=EventKind.SPRINT)
    for story_id, seq, old, new in moves.values_list("story_id", "seq", "from_value", "to_value"):
        for sprint_id in (old, new):
            sprint = wanted.get(sprint_id)
            if sprint is not None and seq > (sprint.start_seq or 0):
                ids.add(story_id)
    return ids


# --- Predicates and values the services share with the reads -----------------------------------


def points_value(points: Decimal | None) -> int | float | None:
    """Points as a JSON number: 3 rather than 3.0, 0.5 as 0.5."""
    if points is None:
        return None
    return int(points) if points == points.to_integral_value() else float(points)


def label_names(story: Story) -> list[str]:
    """The story's label names in name order: as its rank move's statement read them (``label_names_read``), from
    its prefetched labels, else one query written out (every write's API answer reads them, and building the
    many-to-many query cost more than running it)."""
    if story.label_names_read is not None:
        return sorted(story.label_names_read)
    prefetched = getattr(story, "_prefetched_objects_cache", {}).get("labels")
    if prefetched is not None:
        return sorted(label.name for label in prefetched)
    with connection.cursor() as cursor:
        cursor.execute(LABEL_NAMES_SQL, [story.pk])
        return sorted(name for (name,) in cursor.fetchall())


LABEL_NAMES_SQL = (
    f"SELECT l.name FROM {Story.labels.through._meta.db_table} sl "  # noqa: S608
    f"JOIN {Story.labels.field.related_model._meta.db_table} l ON l.id = sl.label_id WHERE sl.story_id = %s"
)


@dataclass(frozen=True)
class Placement:
    """Where a story goes in a list: above ``before``, below ``after``, or at the list's top or bottom."""

    before: Story | None = None
    after: Story | None = None
    position: str | None = None

    def __post_init__(self) -> None:
        given = [self.before is not None, self.after is not None, self.position is not None]
        if sum(given) != 1:
            raise InvalidInput("Give exactly one of before, after or position.", field="position", code="placement")
        if self.position is not None and self.position not in ("top", "bottom"):
            raise InvalidInput('position must be "top" or "bottom".', field="position")


BOTTOM = Placement(position="bottom")
TOP = Placement(position="top")


def resolve_placement(project: Project, data: Mapping[str, Any]) -> Placement:
    """The placement fields of a move (``before``/``after`` story keys, or ``position``) as a Placement.

    An anchor that is not a live story of ``project`` is an InvalidInput naming its field.
    """
    anchors = {}
    for field in ("before", "after"):
        if data.get(field):
            anchor = Story.objects.alive().filter(project=project, key=data[field]).select_related("sprint").first()
            if anchor is None:
                raise InvalidInput(f"{data[field]} is not a story of {project.key}.", field=field, code="bad_anchor")
            anchors[field] = anchor
    return Placement(position=data.get("position") or None, **anchors)


def backlog_filter() -> Q:
    """Stories in no sprint and not finished: the backlog a product owner orders."""
    return Q(sprint__isnull=True, deleted_at__isnull=True) & ~Q(state__category__in=CLOSED_CATEGORIES)


def list_filter(sprint: Sprint | None) -> Q:
    return Q(sprint=sprint, deleted_at__isnull=True) if sprint is not None else backlog_filter()


# --- The board ---------------------------------------------------------------------------

# Kanban mode shows finished (done or cancelled) stories for this many days after they finished.
KANBAN_RECENT_DAYS = 14
SLE_PERCENT, SLE_DAYS = 85, 90


@dataclass(frozen=True)
class BoardFlow:
    """What the board shows of flow: the service level expectation and each started story's age."""

    sle_days: int | None  # "85% of stories finish within N days"; None with no history
    sle_n: int  # stories finished in the SLE window
    ages: dict[str, int]  # story key -> work item age in days (started stories only)


@dataclass(frozen=True)
class BoardShown:
    """Which cards a board shows: its mode (``sprint``, ``kanban`` or empty: the sprint if one runs) and
    filters (an assignee's username or ``"none"``, a label name, a kind). Empty strings filter nothing."""

    mode: str = ""
    assignee: str = ""
    label: str = ""
    kind: str = ""

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> BoardShown:
        """From a board's GET parameters, as they come (an unknown value just matches no card)."""
        return cls(**{name: str(params.get(name) or "")[:200] for name in ("mode", "assignee", "label", "kind")})


@dataclass(frozen=True)
class BoardVersion:
    """What decides whether an open board is still current, read in one query.

    ``shown`` fingerprints the cards the board shows (how many, their versions and latest change), and
    ``flow_seq`` is the project's last event that can move a WIP count or the SLE (a story created, moved
    between states, deleted or restored anywhere): a backlog reorder, or a change to a story the board does
    not show, leaves both as they were, so open boards answer 304 instead of rendering again.
    """

    shown: str
    flow_seq: int
    active_sprint: int | None
    role: str
    timezone: str
    project_id: int
    project_created_at: datetime

    @property
    def scope(self) -> str:
        """Which project this is a version of (created_at tells apart projects that reuse a primary key)."""
        return f"{self.project_id}:{self.project_created_at.timestamp()}"


# Event kinds that can change what a board shows of stories it has no card for: the WIP counts and the SLE
# (the services keep Project.flow_seq at the last of them).
FLOW_EVENT_KINDS = frozenset({EventKind.CREATED, EventKind.STATE, EventKind.DELETED, EventKind.RESTORED})


def board_cards_query(
    project: Any, *, sprint: Any, since: datetime | None, assignee: str = "", label: str = "", kind: str = ""
) -> QuerySet[Story]:
    """The stories a board shows (``project`` and ``sprint`` may be OuterRefs): a sprint's, or without one
    (Kanban) every story in a ``todo`` or started state and those that finished since ``since``."""
    stories = Story.objects.filter(project=project, deleted_at__isnull=True)
    if sprint is not None:
        stories = stories.filter(sprint=sprint)
    else:
        open_work = Q(state__category__in=(Category.TODO, *STARTED_CATEGORIES))
        stories = stories.filter(open_work | recently_finished(since) if since is not None else open_work)
    return filter_stories(stories, {"assignee_name": assignee, "label_name": label, "kind": kind})


def _board_version_sql() -> str:
    """The poll's one query, written out: the hot path of every open board (every 1.5 s each), where building
    the same query through the ORM cost several times its execution. ``board_cards_query`` is the same set of
    cards for the render; tests hold the two equal.

    The cards' fingerprint changes whenever a card joins, leaves or changes: every change bumps a story's
    version and sets its updated_at to the (never decreasing) time of its event; and when the deliverable a card
    shows is renamed or its latest run starts or stops failing. The columns (the workflow's states, their WIP
    limits), the labels' colours, the epics' and members' names and the project's WIP policy are part of it too."""
    story, sprint, state = Story._meta.db_table, Sprint._meta.db_table, WorkflowState._meta.db_table
    through, label = Story.labels.through._meta.db_table, Story.labels.field.related_model._meta.db_table
    user = Membership._meta.get_field("user").related_model._meta.db_table
    project, membership = Project._meta.db_table, Membership._meta.db_table
    open_categories = ", ".join(f"'{c}'" for c in (Category.TODO, *STARTED_CATEGORIES))
    closed_categories = ", ".join(f"'{c}'" for c in CLOSED_CATEGORIES)
    deliverable = Deliverable._meta.db_table
    failing = ", ".join(f"'{status}'" for status in FAILING_RUN_STATUSES)
    postgres = connection.vendor == "postgresql"
    # Only table names and constants of the code are interpolated; every value is a query parameter. After the
    # cards' "|", what a card shows of its deliverable, which changes no story: its name (any edit bumps its
    # version) and whether its latest pipeline run failed. On PostgreSQL each of the cards' deliverables is read
    # once, by the ids the cards' aggregate gathers (an aggregate of the outer query inside a subquery): joined
    # per card, 200 cards cost 200 index probes, 0.5 instead of 0.2 ms of the database's CPU a poll. A board shows
    # a state's cards without reading the states, so only Kanban's categories join them.
    deliverables = (
        f"""(SELECT CAST(COALESCE(SUM(d.version), 0) AS TEXT) || ':'
                    || CAST(COUNT(*) FILTER (WHERE d.last_run_status IN ({failing})) AS TEXT)
             FROM {deliverable} d WHERE d.id = ANY(ARRAY_AGG(st.deliverable_id)))"""  # noqa: S608
        if postgres
        else f"""CAST(COALESCE(SUM(d.version), 0) AS TEXT) || ':'
                 || CAST(COUNT(d.id) FILTER (WHERE d.last_run_status IN ({failing})) AS TEXT)"""
    )
    per_card = "" if postgres else f"LEFT JOIN {deliverable} d ON d.id = st.deliverable_id"  # SQLite: no arrays
    fingerprint = f"""(
        SELECT CAST(COUNT(*) AS TEXT) || ':' || CAST(COALESCE(SUM(st.version), 0) AS TEXT) || ':'
               || COALESCE(CAST(MAX(st.updated_at) AS TEXT), '') || '|' || {deliverables}
        FROM {story} st {{join}} {per_card}
        WHERE st.project_id = v.project_id AND st.deleted_at IS NULL AND {{cards}}
          AND (%(assignee)s = '' OR (%(assignee)s = 'none' AND st.assignee_id IS NULL)
               OR st.assignee_id = (SELECT u.id FROM {user} u WHERE u.username = %(assignee)s))
          AND (%(label)s = '' OR EXISTS (SELECT 1 FROM {through} sl JOIN {label} l ON l.id = sl.label_id
                                         WHERE sl.story_id = st.id AND l.name = %(label)s))
          AND (%(kind)s = '' OR st.kind = %(kind)s))"""  # noqa: S608
    kanban = fingerprint.format(
        join=f"JOIN {state} ws ON ws.id = st.state_id",
        cards=f"(ws.category IN ({open_categories}) "
        f"OR (ws.category IN ({closed_categories}) AND st.flow_state_since >= %(since)s))",
    )
    in_sprint = fingerprint.format(join="", cards="st.sprint_id = v.active_sprint")
    # What changes no story but shows on the board: the columns (a state renamed, moved, recategorised, added or
    # removed, a WIP limit changed), the labels' colours, the epics' names (epic lanes) and the members' names
    # (cards, assignee lanes). Hashed on PostgreSQL, so the poll's answer stays short.

    def joined(value: str, table: str, alias: str, where: str) -> str:
        concat = f"string_agg({value}, ',' ORDER BY {alias}.id)" if postgres else f"group_concat({value})"
        return f"COALESCE((SELECT {concat} FROM {table} {alias} WHERE {where}), '')"  # noqa: S608

    parts = " || '/' || ".join(
        (
            joined(
                "CAST(w.id AS TEXT) || ':' || w.name || ':' || w.category || ':' || CAST(w.position AS TEXT) || ':' "
                "|| COALESCE(CAST(w.wip_limit AS TEXT), '')",
                state,
                "w",
                "w.project_id = v.project_id",
            ),
            joined("CAST(l.id AS TEXT) || ':' || l.color", label, "l", "l.project_id = v.project_id"),
            joined("CAST(e.id AS TEXT) || ':' || e.name", Epic._meta.db_table, "e", "e.project_id = v.project_id"),
            joined(
                "CAST(u.id AS TEXT) || ':' || u.first_name || ':' || u.last_name",
                user,
                "u",
                f"u.id IN (SELECT mm.user_id FROM {membership} mm WHERE mm.project_id = v.project_id)",  # noqa: S608
            ),
        )
    )
    unstoried = f"md5({parts})" if postgres else parts
    return f"""
    WITH v AS (
        SELECT m.role, p.id AS project_id, p.timezone, p.created_at, p.flow_seq, p.wip_policy,
               (SELECT s.id FROM {sprint} s WHERE s.project_id = p.id AND s.status = '{SprintStatus.ACTIVE}')
                 AS active_sprint
        FROM {membership} m JOIN {project} p ON p.id = m.project_id
        WHERE m.user_id = %(user)s AND p.key = %(key)s
    )
    SELECT CASE WHEN %(mode)s = 'kanban' OR v.active_sprint IS NULL THEN {kanban} ELSE {in_sprint} END
             || '|' || {unstoried} || '|' || v.wip_policy,
           v.flow_seq, v.active_sprint, v.role, v.timezone, v.project_id, v.created_at
    FROM v"""  # noqa: S608


BOARD_VERSION_SQL = _board_version_sql()


def board_version(*, user, key: str, shown: BoardShown = BoardShown()) -> BoardVersion | None:
    """What the board ``shown`` depends on, the active sprint and the user's role in ONE query; None for a
    non-member."""
    if not user.is_authenticated or not isinstance(key, str):
        return None
    with prepared_cursor() as cursor:
        cursor.execute(BOARD_VERSION_SQL, {**board_version_params(key=key, shown=shown), "user": user.pk})
        row = cursor.fetchone()
    return None if row is None else board_version_of(row)


def board_version_params(*, key: str, shown: BoardShown) -> dict[str, Any]:
    """``BOARD_VERSION_SQL``'s parameters but ``user`` (a user's id)."""
    return {
        "key": key,
        "mode": shown.mode,
        "assignee": shown.assignee,
        "label": shown.label,
        "kind": shown.kind,
        "since": timezone.now() - timedelta(days=KANBAN_RECENT_DAYS),
    }


def board_version_of(row: Sequence[Any]) -> BoardVersion:
    """``BOARD_VERSION_SQL``'s row as a BoardVersion."""
    cards_fp, flow, active, role, tz, project_id, created = row
    if isinstance(created, str):  # SQLite answers raw SQL's timestamps as text
        created = datetime.fromisoformat(created)
    return BoardVersion(
        shown=cards_fp or "empty",
        flow_seq=flow,
        active_sprint=active,
        role=role,
        timezone=tz,
        project_id=project_id,
        project_created_at=created,
    )


def board_move_target(project: Project, *, story_key: str, state_id: int) -> tuple[Story | None, WorkflowState | None]:
    """A card move's story and target column, read in ONE query (the move's hot path).

    The story comes back as a reference (primary key, project, key, version): the service that moves it
    locks and reads the row itself, and copies it onto this instance. ``None`` for what does not exist.
    """
    live = Story.objects.alive().filter(project=project, key=story_key)
    state = (
        WorkflowState.objects.filter(project=project, pk=state_id)
        .annotate(story_pk=Subquery(live.values("pk")[:1]), story_version=Subquery(live.values("version")[:1]))
        .first()
    )
    if state is None:  # a refusal: one more query to say which of the two is missing
        found = live.only("pk", "project_id", "key", "version").first()
        return found, None
    if state.story_pk is None:
        return None, state
    return Story(pk=state.story_pk, project=project, key=story_key, version=state.story_version), state


def board_flow(
    project: Project, *, cards: Iterable[BoardRow], started: Collection[int], now: datetime | None = None
) -> BoardFlow:
    """The SLE and the work item age of each started card, from the stories' flow projection: no replay.

    The projection holds each story's Start and Finish as the engine defines them (``sprintboard.projection``,
    kept equal to the replay by ``verify_events``); ``sprintboard.flow`` turns them into days as the flow
    report does. Ages come from the cards themselves (``started``: the ids of started states); the SLE
    from the cycle times of the stories finished in its window.
    """
    now = now or timezone.now()
    zone = project.tzinfo
    today = now.astimezone(zone).date()
    ages = {
        card.key: flow.inclusive_days(card.flow_started_at, today, zone)
        for card in cards
        if card.state_id in started and card.flow_started_at is not None
    }
    sle = _service_level(project, today=today)
    return BoardFlow(sle.days, sle.n, ages)


def _service_level(project: Project, *, today: date) -> flow.ServiceLevel:
    """The SLE from the cycle times the projection keeps: one grouped query over the window's finishes."""
    first, _ = flow.sle_window(today, days=SLE_DAYS)
    since = end_of_day(first - timedelta(days=1), project.tzinfo)  # midnight as the window's first day begins
    finished = Story.objects.alive().filter(project=project, flow_finished_at__gte=since).order_by()
    counts = finished.values_list("flow_cycle_days").annotate(n=Count("*"))  # COUNT(*): the index holds the rest
    times = [days for days, n in counts for _ in range(n)]
    return flow.service_level(times, as_of_day=today, percent=SLE_PERCENT, days=SLE_DAYS)


def recently_finished(since: datetime) -> Q:
    """Stories in a closed category that entered it (or were created in it) at or after ``since``.

    Read from the flow projection's ``state_since``, not the log.
    """
    return Q(state__category__in=CLOSED_CATEGORIES, flow_state_since__gte=since)


def board_stories(
    project: Project,
    *,
    sprint: Sprint | None,
    since: datetime | None = None,
    assignee: str | None = None,
    label: str | None = None,
    kind: str | None = None,
) -> BoardStories:
    """The stories of a board in rank order, in two queries whatever their number (``board_card`` makes each
    one's card; the labels come with it, read here in one query by the cards' ids).

    With a sprint: its stories. Without (Kanban): every story in a ``todo`` or started state, and
    those that finished since ``since``. ``assignee`` is a username or ``"none"``; ``label`` a name.
    """
    stories = board_cards_query(
        project, sprint=sprint, since=since, assignee=assignee or "", label=label or "", kind=kind or ""
    )
    rows = stories.annotate(blocked_by=unfinished_blocker()).order_by("rank").values_list(*BOARD_ROW_COLUMNS)
    cards = [_board_row(row) for row in rows]
    # One query for the labels of the cards read (by their ids: the board's filter is not run again); none for
    # an empty board.
    labels: dict[int, list[CardLabel]] = {}
    through = Story.labels.through.objects.filter(story__in=[card.pk for card in cards]).order_by("label__name")
    for story_id, name, color in through.values_list("story_id", "label__name", "label__color"):
        labels.setdefault(story_id, []).append(CardLabel(name, color))
    return BoardStories(cards, {story_id: tuple(found) for story_id, found in labels.items()})


@dataclass(frozen=True, slots=True)
class BoardRow:
    """A story as the board reads it: what its card, its swimlane and its age show, read as values. Two hundred
    model instances with their assignee, epic and deliverable cost about a fifth of a board's render."""

    pk: int
    key: str
    title: str
    version: int
    state_id: int
    kind: str
    points: Decimal | None
    blocked: bool
    blocked_reason: str
    blocked_by: str | None  # the key of a live, unfinished story that blocks it (``unfinished_blocker``)
    flow_started_at: datetime | None
    assignee_id: int | None
    assignee_name: str  # full name, or the username; "" for none
    epic_id: int | None
    epic_name: str
    deliverable_id: int | None
    deliverable_name: str
    deliverable_run_status: str  # its deliverable's latest pipeline run; "" for none


BOARD_ROW_COLUMNS = (
    *("pk", "key", "title", "version", "state_id", "kind", "points", "blocked", "blocked_reason", "blocked_by"),
    *("flow_started_at", "assignee_id", "assignee__username", "assignee__first_name", "assignee__last_name"),
    *("epic_id", "epic__name", "deliverable_id", "deliverable__name", "deliverable__last_run_status"),
)


def person_name(username: str | None, first: str | None, last: str | None) -> str:
    """A person's name from their row's values, as ``User.get_full_name() or get_username()``; "" for nobody."""
    return f"{first or ''} {last or ''}".strip() or username or ""


def _board_row(values: tuple[Any, ...]) -> BoardRow:
    pk, key, title, version, state_id, kind, points, blocked, reason, blocked_by, started, *rest = values
    assignee_id, username, first, last, epic_id, epic, deliverable_id, deliverable, run_status = rest
    return BoardRow(
        pk,
        key,
        title,
        version,
        state_id,
        kind,
        points,
        blocked,
        reason,
        blocked_by,
        started,
        assignee_id,
        person_name(username, first, last),
        epic_id,
        epic or "",
        deliverable_id,
        deliverable or "",
        run_status or "",
    )


class CardLabel(NamedTuple):
    name: str
    color: str


class BoardStories(NamedTuple):
    stories: Sequence[BoardRow]
    labels: dict[int, tuple[CardLabel, ...]]  # story pk -> its labels by name


KIND_NAMES = dict(StoryKind.choices)


@dataclass(frozen=True, slots=True)
class ListRow:
    """What a row of the backlog or of a sprint's list shows, prepared once: a page of rows rendered through
    the Story (lookups, filters, a URL reversed per link) cost most of the backlog page's time.

    Its text is escaped here, once (``SafeString``): the template writes the key a dozen times in a row, and
    escaping each time, as it does any plain string, was a good part of the page's rendering. Numbers come as
    text for the same reason (the template formats a number anew at each use). ``prev_key`` and ``next_key``
    are the neighbours' keys ("" at an end of the list), which the Up and Down buttons send as anchors when
    the page runs without its script."""

    key: SafeString
    title: SafeString
    version: SafeString
    kind: SafeString
    kind_label: SafeString
    blocked: bool
    blocked_reason: SafeString
    epic_name: SafeString | None
    labels: tuple[CardLabel, ...]
    assignee_name: SafeString
    points: SafeString  # "3", "0.5"; "" when not estimated
    points_or_zero: SafeString  # the same, "0" when not estimated (the row's data-points)
    page_url: SafeString
    points_url: SafeString  # where the inline estimate posts
    prev_key: SafeString
    next_key: SafeString

    def __getitem__(self, name: str) -> Any:
        """A field by name: the template engine tries ``row[name]`` before ``row.name``, and a row that refused
        it cost an exception at every lookup (some 40 a row)."""
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None


STORY_KEY_SLOT = "STORY-KEY"  # a story key's place in a URL reversed once for every row
ROW_COLUMNS = (
    "pk",
    "key",
    "title",
    "version",
    "kind",
    "blocked",
    "blocked_reason",
    "points",
    "epic__name",
    "assignee__first_name",
    "assignee__last_name",
    "assignee__username",
)


def list_rows(stories: QuerySet[Story], *, project_key: str) -> list[ListRow]:
    """The rows of ``stories`` (a list in its order, or one page of it), in two queries: the rows' columns
    as plain values (no Story built, nothing prefetched), and their labels."""
    found = list(stories.prefetch_related(None).values_list(*ROW_COLUMNS))
    labels: dict[int, list[CardLabel]] = {}
    if found:
        named = Story.labels.through.objects.filter(story_id__in=[row[0] for row in found]).order_by("label__name")
        for story_id, name, color in named.values_list("story_id", "label__name", "label__color"):
            labels.setdefault(story_id, []).append(CardLabel(name, color))
    urls = {"key": project_key, "story_key": STORY_KEY_SLOT}
    page_url, points_url = (reverse(name, kwargs=urls) for name in ("story-detail", "project-backlog-points"))
    keys = [escaped(row[1]) for row in found]
    kind_labels = {kind: escaped(label) for kind, label in KIND_NAMES.items()}
    end = escaped("")
    rows = []
    for i, (pk, key, title, version, kind, blocked, reason, points, epic, first, last, username) in enumerate(found):
        shown_points = escaped("" if points is None else points_value(points))
        rows.append(
            ListRow(
                key=keys[i],
                title=escaped(title),
                version=escaped(version),
                kind=escaped(kind),
                kind_label=kind_labels.get(kind) or escaped(kind),
                blocked=blocked,
                blocked_reason=escaped(reason),
                epic_name=None if epic is None else escaped(epic),
                labels=tuple(labels.get(pk, ())),
                assignee_name=escaped((f"{first} {last}".strip() or username) if username is not None else ""),
                points=shown_points,
                points_or_zero=shown_points or escaped(0),
                page_url=escaped(page_url.replace(STORY_KEY_SLOT, key)),
                points_url=escaped(points_url.replace(STORY_KEY_SLOT, key)),
                prev_key=keys[i - 1] if i else end,
                next_key=keys[i + 1] if i + 1 < len(keys) else end,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class Card:
    """What a board card shows, prepared once: 500 cards rendered with template filters cost too much."""

    key: str
    title: str
    version: int
    state_id: int
    kind: str
    kind_label: str
    points_label: str
    blocked: bool
    blocked_reason: str
    # The key of a live, unfinished story that blocks this one (a link), or "": "Blocked by DATA-3". A blocker in
    # another project is not named (the board is the same for every member; not all of them see that project).
    blocked_by: str
    assignee_name: str
    deliverable_name: str | None
    deliverable_run_failed: bool  # its deliverable's latest pipeline run failed (read with the deliverable)
    labels: tuple[CardLabel, ...]
    age: int | None  # days since it started; None before it starts
    over_sle: bool  # older than the service level expectation
    page_url: str


def board_card(
    story: BoardRow, *, labels: tuple[CardLabel, ...], age: int | None, sle: int | None, page_url: str
) -> Card:
    return Card(
        key=story.key,
        title=story.title,
        version=story.version,
        state_id=story.state_id,
        kind=story.kind,
        kind_label=KIND_NAMES.get(story.kind, story.kind),
        points_label="" if story.points is None else str(points_value(story.points)),
        blocked=story.blocked,
        blocked_reason=story.blocked_reason,
        blocked_by=_blocker_shown(story),
        assignee_name=story.assignee_name,
        deliverable_name=story.deliverable_name if story.deliverable_id is not None else None,
        deliverable_run_failed=story.deliverable_run_status in FAILING_RUN_STATUSES,
        labels=labels,
        age=age,
        over_sle=sle is not None and age is not None and age > sle,
        page_url=page_url,
    )


ANOTHER_PROJECT = "a story of another project"


def _blocker_shown(story: BoardRow) -> str:
    """How the card names its unfinished blocker; "" for none."""
    key = story.blocked_by or ""
    if not key:
        return ""
    return key if key.rpartition("-")[0] == story.key.rpartition("-")[0] else ANOTHER_PROJECT


def wip_counts(project: Project, *, states: Collection[int]) -> dict[int, int]:
    """Live stories per state of ``states`` (those with a WIP limit), across the project: what the limit counts.

    Only the limited states are counted: a project's done and backlog columns hold most of its stories.
    """
    if not states:
        return {}
    live = Story.objects.alive().filter(project=project, state__in=states)
    return dict(live.values("state").annotate(n=Count("pk")).values_list("state", "n"))


def story_timeline(story: Story) -> list[StoryEvent]:
    """A story's history, oldest first, with each actor."""
    return list(StoryEvent.objects.filter(story=story).select_related("actor").order_by("seq"))


# --- Backlog, planning and story pages ---------------------------------------------------------
def _labelled(**label: Any) -> Q:
    return Q(Exists(Story.labels.through.objects.filter(story_id=OuterRef("pk"), **label)))


def _or_none(field: str, column: str) -> Callable[[Any], Q]:
    """A filter on a relation where ``"none"`` asks for the stories without one."""
    return lambda v: Q(**{f"{field}__isnull": True}) if v == "none" else Q(**{column: v})


# The one story filter: a condition -> the Q it adds. The API's ?params, the backlog's filter form and the
# board's filters all narrow stories through it (values come validated from their serializer or form).
STORY_FILTERS: dict[str, Callable[[Any], Q]] = {
    "q": lambda v: Q(title__icontains=v) | Q(key__iexact=v) | Q(description__icontains=v),
    "state": lambda v: Q(state_id=v),
    "category": lambda v: Q(state__category=v),
    "kind": lambda v: Q(kind=v),
    "epic": _or_none("epic", "epic_id"),
    "sprint": _or_none("sprint", "sprint_id"),
    "deliverable": _or_none("deliverable", "deliverable_id"),
    "assignee": _or_none("assignee", "assignee_id"),  # by id (the backlog's form)
    "assignee_name": _or_none("assignee", "assignee__username"),  # by username (the API, the board)
    "label": lambda v: _labelled(label_id=v),
    "label_name": lambda v: _labelled(label__name=v),
}


def filter_stories(stories: QuerySet[Story], filters: Mapping[str, Any]) -> QuerySet[Story]:
    """``stories`` narrowed by each of ``filters`` (names of STORY_FILTERS; falsy values are no filter)."""
    for name, value in filters.items():
        if value not in (None, ""):
            stories = stories.filter(STORY_FILTERS[name](value))
    return stories


VELOCITY_CACHE_SECONDS = 24 * 3600


def backlog_base(project: Project) -> QuerySet[Story]:
    """The backlog a product owner orders: in no sprint, not finished, not deleted."""
    return Story.objects.filter(project=project).filter(backlog_filter())


def backlog_stories(project: Project, filters: dict[str, str] | None = None) -> QuerySet[Story]:
    """The backlog in rank order, narrowed by ``filters`` (names of STORY_FILTERS), with what a row shows."""
    stories = filter_stories(backlog_base(project), filters or {})
    return stories.select_related("epic", "assignee").prefetch_related("labels").order_by("rank")


def list_totals(stories: QuerySet[Story]) -> dict[str, Any]:
    """How many stories and how many points, in one query; unestimated stories count 0 points."""
    totals = stories.order_by().aggregate(
        n=Count("pk"), total=Sum("points"), unestimated_n=Count("pk", filter=Q(points__isnull=True))
    )
    return {"count": totals["n"], "points": totals["total"] or 0, "unestimated": totals["unestimated_n"]}


COUNTED_FILTERS = ("epic", "kind", "assignee", "deliverable")  # the filters on a column of the story


@dataclass(frozen=True, slots=True)
class BacklogCounts:
    by_filter: dict[str, dict[Any, int]]  # per filter, per value: how many backlog stories have it
    totals: dict[str, Any]  # the whole backlog's, as ``list_totals`` counts them


BACKLOG_GROUPS_CACHE_SECONDS = 3600


def _listed_groups(project: Project) -> tuple[list[tuple[Any, ...]], list[tuple[int, int, int]]]:
    """The project's live stories in no sprint, grouped by state and by every combination of the filtered
    columns that occurs (with their count, points and unestimated count), and their labels by state: the
    backlog counts' one pass over the backlog.

    Kept per event sequence number: every change to a story appends an event, so the groups of one ``seq``
    never change; which states close the backlog is applied afresh by ``backlog_counts`` (a category can
    change with no event). The page reads these again only after a change, not on every view.
    """
    key = f"backlog-groups:v1:{project.pk}:{project.created_at.timestamp()}:{project.last_event_seq}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    listed = Story.objects.filter(project=project, sprint__isnull=True, deleted_at__isnull=True).order_by()
    columns = [f"{name}_id" if name != "kind" else name for name in COUNTED_FILTERS]
    groups = listed.values_list("state_id", *columns).annotate(
        n=Count("pk"), total=Sum("points"), unestimated_n=Count("pk", filter=Q(points__isnull=True))
    )
    in_list = Q(story__project=project, story__sprint__isnull=True, story__deleted_at__isnull=True)
    labels = Story.labels.through.objects.filter(in_list).values_list("story__state_id", "label_id")
    found = (list(groups), list(labels.annotate(n=Count("pk")).order_by()))
    cache.set(key, found, BACKLOG_GROUPS_CACHE_SECONDS)
    return found


def backlog_counts(project: Project) -> BacklogCounts:
    """The backlog's filter counts and totals: its groups (``_listed_groups``, one pass over the backlog per
    event sequence number) summed over the states that are not finished, read here."""
    groups, labelled = _listed_groups(project)
    closed = WorkflowState.all_objects.filter(project=project, category__in=CLOSED_CATEGORIES)
    finished = set(closed.values_list("pk", flat=True))
    by_filter: dict[str, dict[Any, int]] = {name: {} for name in (*COUNTED_FILTERS, "label")}
    count, points, unestimated = 0, Decimal(0), 0
    for state, *values, n, total, unestimated_n in groups:
        if state in finished:
            continue
        for name, value in zip(COUNTED_FILTERS, values, strict=True):
            by_filter[name][value] = by_filter[name].get(value, 0) + n
        count, unestimated = count + n, unestimated + unestimated_n
        points += total or 0
    for state, label, n in labelled:
        if state not in finished:
            by_filter["label"][label] = by_filter["label"].get(label, 0) + n
    totals = {"count": count, "points": points or 0, "unestimated": unestimated}
    return BacklogCounts(by_filter=by_filter, totals=totals)


ASSIGNABLE_ROLES = (Role.MEMBER, Role.PRODUCT_OWNER, Role.ADMIN)  # who may be given a story (not stakeholders)


def _named_parts() -> dict[str, str]:
    """Each small read of ``project_names`` as a part of one written-out UNION, rows of (part, id, three texts):
    built through the ORM (a queryset per part and their union) it cost the backlog page more than the reads."""
    epic, label, deliverable, state, sprint = (
        model._meta.db_table for model in (Epic, Label, Deliverable, WorkflowState, Sprint)
    )
    story_labels = Story.labels.through._meta.db_table
    user, membership = get_user_model()._meta.db_table, Membership._meta.db_table
    roles = ", ".join(f"'{role}'" for role in ASSIGNABLE_ROLES)
    named = "SELECT '{part}', id, name, '', '' FROM {table} WHERE project_id = %(project)s"
    members = f"FROM {user} u JOIN {membership} m ON m.user_id = u.id WHERE m.project_id = %(project)s"
    # Only table names and constants of the code are interpolated; the project is a query parameter.
    return {
        "epic": named.format(part="epic", table=epic),
        "label": f"SELECT 'label', id, name, color, '' FROM {label} WHERE project_id = %(project)s",  # noqa: S608
        "deliverable": named.format(part="deliverable", table=deliverable),
        "assignee": f"SELECT 'assignee', u.id, u.first_name, u.last_name, u.username {members} AND m.role IN ({roles})",
        "state": named.format(part="state", table=state),  # deleted states too: older events name them
        "sprint": named.format(part="sprint", table=sprint),
        "member": f"SELECT 'member', u.id, u.username, u.first_name, u.last_name {members}",  # stakeholders too
        "story_label": f"SELECT 'story_label', label_id, '', '', '' FROM {story_labels} WHERE story_id = %(story)s",  # noqa: S608
    }


NAMED_PARTS = _named_parts()
FILTER_PARTS = ("epic", "label", "deliverable", "assignee")


@functools.cache
def _named_sql(parts: tuple[str, ...]) -> str:
    return "\nUNION ALL ".join(NAMED_PARTS[part] for part in parts) + "\nORDER BY 1, 3, 4, 5"


def project_names(
    project_id: int, parts: tuple[str, ...], *, story_id: int | None = None
) -> dict[str, list[tuple[int, str, str]]]:
    """The rows of each of ``parts`` (keys of ``NAMED_PARTS``) of a project in one query, each as (id, name, extra),
    in the order shown: epics, labels (extra: their colour), deliverables, states and sprints by name, the members
    a story may be given ("assignee") by their name as ``person_name`` gives it (extra: their username), every
    member ("member") by username (extra: their name); and the labels of the story ``story_id`` ("story_label",
    ids only)."""
    if "story_label" in parts and story_id is None:
        raise ValueError("project_names reads a story's labels only given story_id.")
    rows: dict[str, list[tuple[int, str, str]]] = {part: [] for part in parts}
    with connection.cursor() as cursor:
        cursor.execute(_named_sql(parts), {"project": project_id, "story": story_id})
        for part, pk, first, second, third in cursor.fetchall():
            if part == "assignee":
                rows[part].append((pk, f"{first} {second}".strip() or third, third))
            elif part == "member":
                rows[part].append((pk, first, f"{second} {third}".strip() or first))
            else:
                rows[part].append((pk, first, second))
    return rows


def filter_options(project: Project) -> dict[str, list[tuple[int, str]]]:
    """What the backlog's filters offer, as (id, name) in the order shown, in one query: the project's epics,
    labels and deliverables by name, and the members a story may be given by name (as ``person_name``)."""
    rows = project_names(project.pk, FILTER_PARTS)
    return {part: [(pk, name) for pk, name, _ in rows[part]] for part in FILTER_PARTS}


def story_successor(story: Story) -> str | None:
    """The key of the story just below this one in its list (the backlog or its sprint): where an undo puts it back."""
    in_list = Story.objects.filter(project=story.project_id).filter(list_filter(story.sprint))
    return in_list.filter(rank__gt=story.rank).order_by("rank").values_list("key", flat=True).first()


# --- Search (apps.core.search): the stories and epics of some projects ------------------------------

STORY_FALLBACK = search.Fallback(
    fields=("key", "title", "description", "acceptance_criteria"), title="title", related=((Comment, "story", "body"),)
)
EPIC_FALLBACK = search.Fallback(fields=("name", "description"), title="name")
_CLOSED_NAMES = ", ".join(f"'{category}'" for category in CLOSED_CATEGORIES)
_CLOSED_STATES = f"SELECT id FROM {WorkflowState._meta.db_table} WHERE category IN ({_CLOSED_NAMES})"  # noqa: S608
STORY_SOURCE = search.Source(
    kind="story",
    table=Story._meta.db_table,
    vector="{t}.search_vector",
    alive="{t}.deleted_at IS NULL",
    states={
        search.CLOSED: f"{{t}}.state_id IN ({_CLOSED_STATES})",
        search.OPEN: f"{{t}}.state_id NOT IN ({_CLOSED_STATES})",
    },
    key="key",
)
# Epics have no state: none match a state filter.
EPIC_SOURCE = search.Source(kind="epic", table=Epic._meta.db_table, vector="{t}.search_vector", states={})


def stories_search(*, project_ids: Collection[int], text: str, state: str | None = None, limit: int) -> search.Ranked:
    """The live stories of ``project_ids`` that match ``text``, best first; an exact key first of all."""
    rows = Story.objects.alive().filter(project_id__in=project_ids)
    rows = search.in_state(rows, state, closed=Q(state__category__in=CLOSED_CATEGORIES))
    key = text_search.story_key(text)
    return search.ranked(
        rows,
        text,
        vector=F("search_vector"),
        fallback=STORY_FALLBACK,
        limit=limit,
        exact=Q(key=key) if key else None,
    )


def comments_text() -> Subquery:
    """A story's comments as one text, oldest first (a subquery on the outer story)."""
    comments = (
        Comment.objects.filter(story=OuterRef("pk"))
        .order_by()
        .values("story")
        .annotate(text=StringAgg("body", delimiter=" ", order_by=("created_at", "id")))
        .values("text")
    )
    return Subquery(comments, output_field=TextField())


# A story's searched text, its comments oldest first, cut around the query's words; written as SQL (not
# compiled by the ORM for every query: that cost more CPU than the query itself, bench_search).
STORY_HITS_SQL = f"""
    SELECT s.id, s.key, s.title, p.key, w.name, {
    search.excerpt_sql(
        "concat_ws(' ', s.title, s.description, s.acceptance_criteria, (SELECT string_agg(c.body, ' ' ORDER BY "
        f"c.created_at, c.id) FROM {Comment._meta.db_table} AS c WHERE c.story_id = s.id))"
    )
}
    FROM {Story._meta.db_table} AS s
    JOIN {Project._meta.db_table} AS p ON p.id = s.project_id
    JOIN {WorkflowState._meta.db_table} AS w ON w.id = s.state_id
    WHERE s.id = ANY(%(ids)s)"""  # noqa: S608 - table names only


def story_hits(ids: Collection[int], text: str) -> dict[int, search.Hit]:
    """The stories ``ids`` as search results, each with an excerpt of its text around ``text``'s words."""
    if search.is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(STORY_HITS_SQL, {"ids": list(ids), "text": text, "excerpt": search.EXCERPT_OPTIONS})
            found = cursor.fetchall()
        return {
            pk: search.Hit(
                type="story",
                id=pk,
                project=project_key,
                key=key,
                title=title,
                url=reverse("story-detail", args=[project_key, key]),
                state=state,
                highlight=text_search.marked(excerpt or ""),
            )
            for pk, key, title, project_key, state, excerpt in found
        }
    rows = Story.objects.filter(pk__in=list(ids)).select_related("project", "state").prefetch_related("comments")
    document = search.joined("title", "description", "acceptance_criteria", comments_text())

    def plain(story: Story) -> str:
        comments = " ".join(comment.body for comment in story.comments.all())
        return " ".join((story.title, story.description, story.acceptance_criteria, comments))

    return search.hits(rows, text, kind="story", shown=_story_shown, document=document, plain=plain)


def _story_shown(story: Story) -> search.Shown:
    url = reverse("story-detail", args=[story.project.key, story.key])
    return search.Shown(title=story.title, url=url, state=story.state.name, key=story.key)


def epics_search(*, project_ids: Collection[int], text: str, state: str | None = None, limit: int) -> search.Ranked:
    """The epics of ``project_ids`` that match ``text``. Epics have no state: none match a state filter."""
    if state is not None:
        return search.Ranked(total=0, rows=())
    rows = Epic.objects.filter(project_id__in=project_ids)
    return search.ranked(rows, text, vector=F("search_vector"), fallback=EPIC_FALLBACK, limit=limit)


def _epic_shown(epic: Epic) -> search.Shown:
    return search.Shown(title=epic.name, url=reverse("project-backlog", args=[epic.project.key]) + f"?epic={epic.pk}")


def epic_hits(ids: Collection[int], text: str) -> dict[int, search.Hit]:
    rows = Epic.objects.filter(pk__in=list(ids)).select_related("project")
    return search.hits(rows, text, kind="epic", shown=_epic_shown, fields=("name", "description"))


def active_sprint(project: Project | int) -> Sprint | None:
    """The project's running sprint (at most one runs at a time), or None."""
    return Sprint.objects.filter(project=project, status=SprintStatus.ACTIVE).first()


def following_sprint(sprint: Sprint) -> Sprint | None:
    """Where a closing sprint's unfinished stories go as "the next sprint": the first planned sprint that starts
    no earlier than it (None: the close creates one, with ``sprint.next_dates()``)."""
    return (
        Sprint.objects.filter(project=sprint.project_id, status=SprintStatus.PLANNED, start__gte=sprint.start)
        .exclude(pk=sprint.pk)
        .order_by("start", "id")
        .first()
    )


def next_sprint(project: Project) -> Sprint | None:
    """The sprint being planned: the earliest planned sprint."""
    return Sprint.objects.filter(project=project, status=SprintStatus.PLANNED).order_by("start", "id").first()


def sprint_list(sprint: Sprint) -> QuerySet[Story]:
    return (
        Story.objects.alive()
        .filter(sprint=sprint)
        .select_related("epic", "assignee", "state")
        .prefetch_related("labels")
        .order_by("rank")
    )


VELOCITY_SPRINTS = 7  # the most closed sprints velocity_report reads (its ``last``, and more than ``average_of``)


def average_velocity(project: Project, *, now: datetime | None = None) -> sprints.VelocityReport | None:
    """METRICS.md's velocity (``sprintboard.sprints.velocity_report``).

    It reads closed sprints as at their close, which nothing later changes: cached per last close, and
    computed from those sprints' stories alone.
    """
    now = now or timezone.now()
    closed = list(
        Sprint.objects.filter(project=project, status=SprintStatus.CLOSED, closed_at__lte=now).order_by(
            "-closed_at", "-id"
        )[:VELOCITY_SPRINTS]
    )
    last_closed_at = closed[0].closed_at if closed else None  # never None: the filter reads it
    latest = f"{closed[0].pk}:{last_closed_at.timestamp()}" if last_closed_at else "none"
    key = f"velocity:{project.pk}:{project.created_at.timestamp()}:{latest}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    data = engine_input(project, only=sprint_story_ids(closed))
    try:
        report = sprints.velocity_report(
            data.events, sprints=data.sprints, stories=data.stories, workflow=data.workflow, tz=data.timezone, as_of=now
        )
    except EngineError:
        logger.exception("The event log of %s could not be replayed for the velocity", project.key)
        return None
    cache.set(key, report, VELOCITY_CACHE_SECONDS)
    return report


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str | None
    kind: str
    text: str


IMPORTED = " (from Jira)"


@dataclass(frozen=True)
class _Names:
    """Today's names of what a story's events point at: for events logged before they kept a name (``to_name``)."""

    states: dict[int, str]
    sprints: dict[int, str]
    epics: dict[int, str]
    deliverables: dict[int, str]
    people: dict[str, str]  # username -> full name


def _named(value: Any, names: dict[Any, str], empty: str) -> str:
    return empty if value is None else names.get(value, f"#{value}")


def _to(event: StoryEvent, names: dict[Any, str], empty: str) -> str:
    """How the event's new value reads: as it was named when logged, else by today's name."""
    return event.to_name or _named(event.to_value, names, empty)


def _person(value: Any, names: _Names) -> str:
    if value is None:
        return "nobody"
    return names.people.get(value, str(value))


def _sentence(event: StoryEvent, names: _Names) -> str:
    old, new, kind = event.from_value, event.to_value, event.kind
    if kind == EventKind.CREATED:
        state = new.get("state") if isinstance(new, dict) else None
        return "created it" + (f" in {event.to_name or _named(state, names.states, '?')}" if state else "")
    if kind == EventKind.STATE:
        return f"moved it from {_named(old, names.states, '?')} to {_to(event, names.states, '?')}"
    if kind == EventKind.SPRINT:
        return (
            f"moved it from {_named(old, names.sprints, 'the backlog')} to {_to(event, names.sprints, 'the backlog')}"
        )
    if kind == EventKind.ASSIGNEE:
        if new is None and event.to_name:  # an imported assignee who is no Sprintboard user
            return f"assigned it to {event.to_name}{IMPORTED}"
        if new:
            return f"assigned it to {event.to_name or _person(new, names)}"
        return f"unassigned {_person(old, names)}"
    if kind == EventKind.POINTS:
        if new is None:
            return "cleared its points"
        return f"estimated it at {new} points" + (f" (was {old})" if old is not None else "")
    if kind == EventKind.UPDATED:
        return _updated(event, names)
    if kind == EventKind.BLOCKED:
        return f"flagged it blocked: {new}"
    if kind == EventKind.LINK:
        return link_sentence(event.field, new, event.to_name)
    fixed: dict[str, str] = {
        EventKind.RANK: "reordered it",
        EventKind.UNBLOCKED: "unblocked it",
        EventKind.DELETED: "deleted it",
        EventKind.RESTORED: "restored it",
    }
    return fixed.get(kind, kind)


def _updated(event: StoryEvent, names: _Names) -> str:
    field, new = event.field, event.to_value
    label = field.replace("_", " ")
    if field in ("epic", "deliverable"):
        if new is None:
            return f"removed the {label}"
        return f"changed the {label} to “{_to(event, getattr(names, field + 's'), '')}”"
    shown = ", ".join(map(str, new)) if isinstance(new, list) else new
    return f"changed the {label}" + (f" to “{shown}”" if shown not in (None, "") else "")


def _actor(event: StoryEvent) -> str | None:
    if event.actor:
        return event.actor.get_full_name() or event.actor.get_username()
    return f"{event.actor_name}{IMPORTED}" if event.actor_name else None


HISTORY_PARTS = ("state", "sprint", "epic", "deliverable", "member")  # the parts of project_names a history reads
# The story page's: its form's, its history's, its mentions' and its facts' (the story's labels)
STORY_PAGE_PARTS = FILTER_PARTS + ("state", "sprint", "member", "story_label")


def story_history(story: Story, *, names: Mapping[str, list[tuple[int, str, str]]] | None = None) -> list[HistoryEntry]:
    """A story's event log as sentences, oldest first, naming things as the events logged them (a fixed number of
    queries: events, then today's names of states, sprints, epics, deliverables and members in one, unless the
    caller read them already (``names``: ``project_names`` with ``HISTORY_PARTS``), and the names of people who
    are no longer members that an assignment logged)."""
    events = list(StoryEvent.objects.filter(story=story).select_related("actor").order_by("seq"))
    rows = names if names is not None else project_names(story.project_id, HISTORY_PARTS)
    people = {username: name for _, username, name in rows["member"]}
    usernames = {
        value
        for event in events
        if event.kind == EventKind.ASSIGNEE
        for value in (event.from_value, event.to_value)
        if isinstance(value, str) and value not in people
    }
    if usernames:
        people.update(
            (user.get_username(), user.get_full_name() or user.get_username())
            for user in get_user_model().objects.filter(username__in=usernames)
        )
    named = _Names(
        states={pk: name for pk, name, _ in rows["state"]},
        sprints={pk: name for pk, name, _ in rows["sprint"]},
        epics={pk: name for pk, name, _ in rows["epic"]},
        deliverables={pk: name for pk, name, _ in rows["deliverable"]},
        people=people,
    )
    return [HistoryEntry(event.at, _actor(event), event.kind, _sentence(event, named)) for event in events]


# --- Sprint outcomes: one number per fact -------------------------------------------------------
# The sprints list, the sprint page, the project home and planning read a sprint's figures here and
# nowhere else, so no page counts a sprint its own way (issue 12: the list summed current rows).

OUTCOME_CLOSE, OUTCOME_NOW, OUTCOME_PLANNED = "close", "now", "planned"
OUTCOME_CACHE_VERSION = 1  # bump when SprintOutcome changes: closed sprints' outcomes are cached for good
ACTIVE_OUTCOME_CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class SprintOutcome:
    """A sprint's figures as every page shows them, from the engine's sprint report (``sprintboard.sprints``).

    ``basis`` says what they stand for:

    - ``"close"``: a closed sprint's report as at its close, the object its report page and the velocity chart
      show; final: later changes to its stories do not move it.
    - ``"now"``: the active sprint's report computed as of now; it moves until the close.
    - ``"planned"``: a sprint not started has no report, only a planned scope (its stories and points now);
      every list is empty. Its commitment is recorded when it starts.

    ``scope`` is the stories in the sprint at the close (or now): completed + cancelled + not completed; for
    a planned sprint, its stories. Unestimated stories count 0 points.
    """

    sprint_id: int
    basis: str
    scope: int
    scope_points: float
    unestimated: int
    committed: tuple[str, ...] = ()
    committed_points: float = 0
    added: tuple[str, ...] = ()
    added_points: float = 0
    removed: tuple[str, ...] = ()
    removed_points: float = 0
    completed: tuple[str, ...] = ()
    completed_points: float = 0
    cancelled: tuple[str, ...] = ()
    cancelled_points: float = 0
    not_completed: tuple[str, ...] = ()
    not_completed_points: float = 0
    already_done: tuple[str, ...] = ()  # in the sprint and finished at its start: listed, counted nowhere

    @property
    def percent_done(self) -> int:
        """Completed points as a share of the scope's points (a progress bar)."""
        return round(100 * self.completed_points / self.scope_points) if self.scope_points else 0


def sprint_outcomes(
    project: Project, *, sprints: Iterable[Sprint], now: datetime | None = None
) -> dict[int, SprintOutcome]:
    """The outcome of each of ``sprints`` (all of ``project``), by sprint id.

    Planned scopes cost one grouped query. Started sprints come from the cache: a closed one's for good
    (nothing after its close is seen), the active one's per project event sequence. Those missing are
    computed together from ONE replay of the log, so a request replays it at most once. A started sprint
    whose log cannot be replayed is left out (pages show a dash). As for the board and the velocity, a change
    of workflow categories shows in the active sprint's figures from the project's next event.
    """
    wanted = list(sprints)
    outcomes = _planned_outcomes([s for s in wanted if s.status == SprintStatus.PLANNED])
    started = {
        _outcome_key(project, s.pk, s.started_at, s.closed_at, project.last_event_seq): s
        for s in wanted
        if s.status != SprintStatus.PLANNED and s.started_at is not None
    }
    found = cache.get_many(list(started)) if started else {}
    outcomes.update({sprint.pk: SprintOutcome(**found[key]) for key, sprint in started.items() if key in found})
    missing = [sprint for key, sprint in started.items() if key not in found]
    if missing:
        outcomes.update(_replayed_outcomes(project, missing, now=now or timezone.now()))
    return outcomes


def _outcome_key(project: Project, sprint_id: int, started_at: datetime, closed_at: datetime | None, seq: int) -> str:
    # created_at tells apart projects that reuse a primary key (as for the board); a closed sprint's outcome
    # depends on its close alone, the active one's on every event.
    base = f"sprint-outcome:v{OUTCOME_CACHE_VERSION}:{project.pk}:{project.created_at.timestamp()}:{sprint_id}:{started_at.timestamp()}"
    return f"{base}:closed:{closed_at.timestamp()}" if closed_at is not None else f"{base}:seq:{seq}"


def _planned_outcomes(planned: list[Sprint]) -> dict[int, SprintOutcome]:
    """Planned scopes: each sprint's live stories and their points now, in one grouped query."""
    if not planned:
        return {}
    rows = (
        Story.objects.alive()
        .filter(sprint__in=planned)
        .values_list("sprint")
        .annotate(n=Count("pk"), total=Sum("points"), unestimated_n=Count("pk", filter=Q(points__isnull=True)))
        .order_by()
    )
    totals = {sprint_id: (n, points, unestimated) for sprint_id, n, points, unestimated in rows}
    outcomes = {}
    for sprint in planned:
        n, points, unestimated = totals.get(sprint.pk, (0, None, 0))
        outcomes[sprint.pk] = SprintOutcome(
            sprint_id=sprint.pk,
            basis=OUTCOME_PLANNED,
            scope=n,
            scope_points=points_value(points) or 0,
            unestimated=unestimated,
        )
    return outcomes


def _replayed_outcomes(project: Project, wanted: list[Sprint], *, now: datetime) -> dict[int, SprintOutcome]:
    """The reports of ``wanted`` from one replay of their stories' events up to ``now``, stored in the cache."""
    data = engine_input(project, only=sprint_story_ids(wanted))
    records_by_id = {record.id: record for record in data.sprints}
    try:
        replayed = history.replay(
            data.events, stories=data.stories, workflow=data.workflow, tz=data.timezone, as_of=now
        )
    except EngineError:
        logger.exception("The event log of %s could not be replayed for its sprints", project.key)
        return {}
    outcomes: dict[int, SprintOutcome] = {}
    for sprint in wanted:
        record = records_by_id.get(sprint.pk)
        if record is None or record.started_at is None:
            continue
        try:
            report = sprints.sprint_report(replayed, sprint=record)
        except EngineError:
            logger.exception("The event log of %s could not be replayed for %s", project.key, record.name)
            continue
        outcomes[sprint.pk] = _reported_outcome(report)
        key = _outcome_key(
            project, record.id, record.started_at, record.closed_at if report.closed else None, data.watermark
        )
        cache.set(key, asdict(outcomes[sprint.pk]), None if report.closed else ACTIVE_OUTCOME_CACHE_SECONDS)
    return outcomes


def _reported_outcome(report: sprints.SprintReport) -> SprintOutcome:
    return SprintOutcome(
        sprint_id=report.sprint_id,
        basis=OUTCOME_CLOSE if report.closed else OUTCOME_NOW,
        scope=len(report.completed) + len(report.cancelled) + len(report.not_completed),
        scope_points=report.completed_points + report.cancelled_points + report.not_completed_points,
        unestimated=len(report.unestimated),
        committed=report.committed,
        committed_points=report.committed_points,
        added=report.added,
        added_points=report.added_points,
        removed=report.removed,
        removed_points=report.removed_points,
        completed=report.completed,
        completed_points=report.completed_points,
        cancelled=report.cancelled,
        cancelled_points=report.cancelled_points,
        not_completed=report.not_completed,
        not_completed_points=report.not_completed_points,
        already_done=report.already_done,
    )
