"""The event log's writers: the project lock, the time of a change, gapless sequence numbers, and
the bulk rewrite of the stories that point at something deleted or merged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection
from django.db.models import Field, Model
from django.utils import timezone

from apps.core.errors import Conflict, NotFound, StaleVersion
from apps.core.rows import RowQuery, prepared_cursor
from apps.projects.events import Change
from apps.projects.models import Project
from apps.stories import signals
from apps.stories.models import (
    EventKind,
    Story,
    StoryEvent,
)
from apps.stories.selectors import FLOW_EVENT_KINDS, LABEL_NAMES_SQL, points_value

# Fields whose changes get an event kind of their own; every other field is logged as "updated".
OWN_EVENT_KIND = {
    "state": EventKind.STATE,
    "sprint": EventKind.SPRINT,
    "assignee": EventKind.ASSIGNEE,
    "points": EventKind.POINTS,
}


# Long text is not copied into the log: the event says which field changed.
UNLOGGED_VALUES = {"description", "acceptance_criteria"}


def _logged(field: str, value: Any) -> Any:
    if field in UNLOGGED_VALUES:
        return None
    if field == "points":
        return points_value(value)
    if field == "assignee":
        return value.get_username() if value is not None else None
    if field == "labels":
        return sorted(label.name for label in value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def value_name(value: Any) -> str:
    """How a logged value reads to people: a user's full name (username as fallback), a state's, sprint's, epic's
    or deliverable's name; "" for anything else (the value itself is shown)."""
    if value is None:
        return ""
    if hasattr(value, "get_username"):
        return (value.get_full_name() or value.get_username())[:200]
    name = getattr(value, "name", None)
    return name[:200] if isinstance(name, str) else ""


def event_time(project: Project, at: datetime | None) -> datetime:
    """The time of a change to ``project``, taken while its row lock is held.

    Without ``at``: now, or the project's last event time if this server's clock is behind another's
    (clamped: a sub-second skew between web pods must not break the log's order). With ``at`` (the seed,
    importers): refused when earlier than the project's last event.
    """
    last = project.last_event_at
    if at is None:
        now = timezone.now()
        return now if last is None or now >= last else last
    if last is not None and at < last:
        raise Conflict(
            f"{at.isoformat()} is before {project.key}'s last event ({last.isoformat()}): write history oldest first.",
            field="at",
            code="out_of_order",
        )
    return at


def _append_events(
    project: Project, story: Story, changes: Sequence[Change], *, actor, at: datetime, story_columns: Sequence[str] = ()
) -> None:
    """Append events under the project's row lock: sequence numbers are gapless, times never decrease.

    With ``story_columns``, the story's row is saved too (those columns only), in the same round trip, which on
    PostgreSQL also reads the story's label names for the answer (``story.label_names_read``, taken by
    ``selectors.label_names``): such a change (a rank) leaves its labels as they are, and no one else can change
    them while the project's lock is held.
    """
    saves = [_update_sql(story, story_columns)] if story_columns else []
    reads = [(LABEL_NAMES_ARRAY, [story.pk])] if story_columns and connection.vendor == "postgresql" else []
    read = _append_event_rows(
        project, [(story, change) for change in changes], actor=actor, at=at, saves=saves, reads=reads
    )
    if reads:
        story.label_names_read = read[0]


# What an event row holds, in the order of the INSERT below.
EVENT_COLUMNS = (
    "project",
    "seq",
    "story",
    "kind",
    "field",
    "from_value",
    "to_value",
    "actor",
    "actor_name",
    "to_name",
    "at",
)

Statement = tuple[str, list[Any]]


def _append_event_rows(
    project: Project,
    rows: Sequence[tuple[Story, Change]],
    *,
    actor,
    at: datetime,
    saves: Sequence[Statement] = (),
    reads: Sequence[Statement] = (),
) -> list[Any]:
    """The events of ``rows`` and the ``saves`` in one round trip; what the ``reads`` (PostgreSQL only) read."""
    if not rows:
        return []
    first = project.last_event_seq + 1
    project.last_event_seq += len(rows)
    project.last_event_at = at
    if any(change.kind in FLOW_EVENT_KINDS for _, change in rows):
        project.flow_seq = project.last_event_seq
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    events = [
        (project.pk, first + offset, story.pk, change.kind, change.field, change.from_value, change.to_value)
        + (actor_id, "", change.to_name, at)
        for offset, (story, change) in enumerate(rows)
    ]
    inserts = _insert_sql(StoryEvent, EVENT_COLUMNS, events)
    statements = [*saves, _update_sql(project, ("last_event_seq", "last_event_at", "flow_seq")), *inserts]
    written = _write(statements, reads=reads)
    written, read = written[: len(statements)], written[len(statements) :]
    if written[: len(saves) + 1] != [1] * (len(saves) + 1) or sum(written[len(saves) + 1 :]) != len(events):
        # a row saved by its primary key is gone (save(update_fields=...) raises too)
        raise DatabaseError(f"A story's change did not write what it had to (rows written: {written}).")
    signals.events_appended.send(
        sender=StoryEvent,
        project_id=project.pk,
        project=project,
        first_seq=first,
        last_seq=project.last_event_seq,
        kinds=frozenset(change.kind for _, change in rows),
        stories={story.pk: story for story, _ in rows},
        actor=actor,
    )
    return read


def _update_sql(row: Model, columns: Sequence[str]) -> Statement:
    """``UPDATE`` of ``columns`` of a saved model instance, its values prepared as Django saves them."""
    fields = _fields(type(row), columns)
    assignments = ", ".join(f"{_quote(field.column)} = %s" for field in fields)
    values = [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields]
    table, pk = _quote(row._meta.db_table), _quote(row._meta.pk.column)
    return f"UPDATE {table} SET {assignments} WHERE {pk} = %s", [*values, row.pk]  # noqa: S608


def _insert_sql(model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Statement]:
    """Multi-row ``INSERT``s of ``rows`` (one value per column; relations by id), prepared as Django saves them,
    as many rows each as the database takes parameters (``bulk_batch_size``: SQLite's limit)."""
    fields = _fields(model, columns)
    names = ", ".join(_quote(field.column) for field in fields)
    size = max(1, connection.ops.bulk_batch_size(fields, rows))
    statements = []
    for first in range(0, len(rows), size):
        batch = rows[first : first + size]
        placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(batch))
        values = [
            field.get_db_prep_save(value, connection) for row in batch for field, value in zip(fields, row, strict=True)
        ]
        statements.append((f"INSERT INTO {_quote(model._meta.db_table)} ({names}) VALUES {placeholders}", values))  # noqa: S608
    return statements


def _update_each_sql(model: type[Model], column: str, values: Sequence[tuple[int, Any]]) -> list[Statement]:
    """``UPDATE``s giving ``column`` of each row (by primary key) its own value: ``CASE`` over the keys, as many
    rows a statement as the database takes parameters (what ``bulk_update`` writes, without its cost in Python)."""
    (field,), pk = _fields(model, [column]), model._meta.pk
    size = max(1, connection.ops.bulk_batch_size([pk, field, pk], values))  # three parameters a row
    table, name, key = _quote(model._meta.db_table), _quote(field.column), _quote(pk.column)
    statements = []
    for first in range(0, len(values), size):
        batch = values[first : first + size]
        cases = " ".join(["WHEN %s THEN %s"] * len(batch))
        params = [value for pk_value, new in batch for value in (pk_value, field.get_db_prep_save(new, connection))]
        statements.append(
            (
                f"UPDATE {table} SET {name} = CASE {key} {cases} END WHERE {key} IN ({', '.join(['%s'] * len(batch))})",  # noqa: S608
                [*params, *(pk_value for pk_value, _ in batch)],
            )
        )
    return statements


def _fields(model: type[Model], names: Sequence[str]) -> list[Field]:
    fields = [model._meta.get_field(name) for name in names]
    assert all(isinstance(field, Field) for field in fields), names  # columns, not reverse relations
    return fields  # type: ignore[return-value]


def _quote(name: str | None) -> str:
    assert name is not None  # a concrete field's column, a model's table
    return connection.ops.quote_name(name)


def _write(statements: Sequence[Statement], *, reads: Sequence[Statement] = ()) -> list[Any]:
    """Run data-modifying statements in one round trip on PostgreSQL (as CTEs: they touch different rows and
    read nothing the others write; prepared, so a write that recurs is planned once per connection), one after
    another elsewhere (SQLite has no DML in CTEs); the rows each wrote, then the value of each of ``reads``
    (scalar subqueries, PostgreSQL only: they see the rows as they were before this statement)."""
    with prepared_cursor() as cursor:
        if connection.vendor != "postgresql":
            assert not reads, "reads are PostgreSQL's"
            written = []
            for sql, params in statements:
                cursor.execute(sql, params)
                written.append(cursor.rowcount)
            return written
        ctes = ", ".join(f"w{index} AS ({sql} RETURNING 1)" for index, (sql, _) in enumerate(statements))
        counts = ", ".join(
            [*(f"(SELECT count(*) FROM w{index})" for index in range(len(statements))), *(sql for sql, _ in reads)]  # noqa: S608
        )
        params = [value for _, values in [*statements, *reads] for value in values]
        cursor.execute(f"WITH {ctes} SELECT {counts}", params)
        return list(cursor.fetchone() or ())


# A story's label names (PostgreSQL), read in a write's own statement (``_write``'s reads): the answer's query.
LABEL_NAMES_ARRAY = f"ARRAY({LABEL_NAMES_SQL})"


# Every write takes both locks: read by statements built once (apps/core/rows.py says why).
PROJECT_LOCK = RowQuery(Project, lock=True, prepared=True)
# A story's writer locks its project (the event counter), then the story: one statement, in that order.
STORY_LOCK = RowQuery(Story, related=("project", "state", "sprint", "assignee"), lock_first=("project",), prepared=True)


def lock_project(project_id: int, at: datetime | None) -> tuple[Project, datetime]:
    """Lock a project's row (every writer of its stories does, first) and take the change's time."""
    project = PROJECT_LOCK.get(project_id)
    return project, event_time(project, at)


def _lock(
    story: Story, *, expected_version: int | None, at: datetime | None, allow_deleted: bool = False
) -> tuple[Project, Story, datetime]:
    locked = STORY_LOCK.get(story.pk)
    project = locked.project  # the row just locked: its counters are the ones the events continue
    at = event_time(project, at)
    if locked.deleted_at is not None and not allow_deleted:
        raise NotFound(f"{locked.key} has been deleted.")
    if expected_version is not None and expected_version != locked.version:
        raise StaleVersion(current_version=locked.version)
    return project, locked, at


def _rewrite(
    project: Project, stories: Sequence[Story], changes: Sequence[Change], fields: Sequence[str], *, actor, at: datetime
) -> None:
    """Save ``stories`` (already changed in memory, one ``changes`` entry each) with their events, in bulk."""
    for story in stories:
        story.version += 1
        story.updated_at = at
    Story.objects.bulk_update(stories, [*fields, "version", "updated_at"])
    _append_event_rows(project, list(zip(stories, changes, strict=True)), actor=actor, at=at)


def _pointing_at(**lookup: Any) -> list[Story]:
    return list(Story.objects.filter(**lookup).select_for_update(of=("self",)).select_related("state").order_by("pk"))


def _repoint(project: Project, field: str, old: Any, new: Any, change: Change, *, actor, at: datetime) -> int:
    """Point every story of ``project`` whose ``field`` is ``old`` at ``new`` instead, with ``change`` logged on
    each; how many."""
    stories = _pointing_at(project=project, **{field: old})
    for story in stories:
        setattr(story, field, new)
    _rewrite(project, stories, [change] * len(stories), [field], actor=actor, at=at)
    return len(stories)
