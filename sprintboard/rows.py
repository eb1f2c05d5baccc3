"""The story rows a log implies: every field the services log, replayed, for checking rows against it.

The metrics read only what :mod:`sprintboard.history` folds (state, sprint, points, assignee, blocks,
deletions). The log records more — title, kind, epic, labels, deliverable, rank, the blocked reason, the
links to other stories — so
that the rows can always be rebuilt from it; :func:`replay_rows` does that, and ``verify_events``
compares the result with the database.

==========================================  ===========================================================
function                                    what it gives
==========================================  ===========================================================
``replay_rows(events, *, keys)``            {story id: {field: value}} after the last event
``ROW_FIELDS``                              the fields replayed, in the order they are reported
==========================================  ===========================================================

A field the log never set (a ``created`` event written before the field was recorded) is absent from
the story's dict, so it is not compared.

>>> from datetime import datetime, timezone
>>> from sprintboard.records import Event
>>> t = datetime(2024, 3, 1, tzinfo=timezone.utc)
>>> events = [
...     Event(1, 7, "created", t, to_value={"state": 1, "title": "Load orders", "rank": "a0", "labels": []}),
...     Event(2, 7, "updated", t, field="labels", to_value=["etl"]),
...     Event(3, 8, "created", t, to_value={"state": 1, "rank": "a1"}),
...     Event(4, 8, "rebalanced", t, to_value={"DATA-7": "a5"}),
...     Event(5, 7, "blocked", t, to_value="waiting for access"),
...     Event(6, 7, "link", t, field="added", to_value={"link": 3, "kind": "blocks", "direction": "outward",
...                                                     "story": 8, "key": "DATA-8"}),
... ]
>>> rows = replay_rows(events, keys={"DATA-7": 7, "DATA-8": 8})
>>> rows[7]["labels"], rows[7]["rank"], rows[7]["blocked"], rows[7]["blocked_reason"]
(['etl'], 'a5', True, 'waiting for access')
>>> rows[7]["links"], rows[8]["links"]
({3: ('blocks', 'outward', 8)}, {})

A ``link`` event is logged on each of the two stories (``field`` is ``added`` or ``removed``); each story's
``links`` is {link id: (kind, direction, the other story's id)}. A link event whose ``link`` is null names a
story outside the project it was copied from (``apps.transfer``): history, not a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sprintboard.errors import EngineError
from sprintboard.records import Event

__all__ = ["ROW_FIELDS", "replay_rows"]

ROW_FIELDS = (
    "state", "sprint", "assignee", "points", "epic", "labels", "deliverable", "title", "kind",
    "blocked", "blocked_reason", "deleted", "rank", "links",
)  # fmt: skip
# Fields whose change has an event kind of its own, the new value in to_value.
_OWN_KIND = {"state": "state", "sprint": "sprint", "assignee": "assignee", "points": "points", "rank": "rank"}
# Long text is not copied into the log (to_value is None): not replayable, not compared.
_UNLOGGED = frozenset({"description", "acceptance_criteria"})


def replay_rows(events: Iterable[Event], *, keys: Mapping[str, int]) -> dict[int, dict[str, object]]:
    """Each story's row fields after the last of ``events`` (in seq order); ``keys`` maps story keys to ids.

    Raises :class:`EngineError` for a story whose first event is not ``created``.
    """
    rows: dict[int, dict[str, object]] = {}
    for event in events:
        row = rows.get(event.story_id)
        if row is None:
            if event.kind != "created":
                raise EngineError(f"event seq {event.seq}: story {event.story_id}'s first event is {event.kind!r}")
            rows[event.story_id] = _created(event)
            continue
        _apply(row, event, rows, keys)
    return rows


def _created(event: Event) -> dict[str, object]:
    snapshot = event.to_value if isinstance(event.to_value, Mapping) else {}
    row = {field: snapshot[field] for field in ROW_FIELDS if field in snapshot}
    row.update(blocked=False, blocked_reason="", deleted=False, links={})
    return row


def _apply(row: dict[str, object], event: Event, rows: dict[int, dict[str, object]], keys: Mapping[str, int]) -> None:
    kind = event.kind
    if kind in _OWN_KIND.values():
        row[kind] = event.to_value
    elif kind == "updated" and event.field and event.field not in _UNLOGGED:
        row[event.field] = event.to_value
    elif kind == "blocked":
        row.update(blocked=True, blocked_reason="" if event.to_value is None else str(event.to_value))
    elif kind == "unblocked":
        row.update(blocked=False, blocked_reason="")
    elif kind in ("deleted", "restored"):
        row["deleted"] = kind == "deleted"
    elif kind == "link":
        _link(row, event)
    elif kind == "rebalanced" and isinstance(event.to_value, Mapping):
        for key, rank in event.to_value.items():
            other = rows.get(keys.get(key, -1))
            if other is not None:
                other["rank"] = rank


def _link(row: dict[str, object], event: Event) -> None:
    value = event.to_value
    links = row["links"]
    if not isinstance(value, Mapping) or not isinstance(links, dict):
        raise EngineError(f"event seq {event.seq}: a link event's value is {{link, kind, direction, story, key}}")
    if value.get("link") is None:
        return  # a link to a story outside the copied project: kept as history only
    if event.field == "added":
        links[value["link"]] = (value.get("kind"), value.get("direction"), value.get("story"))
    elif event.field == "removed":
        links.pop(value["link"], None)
    else:
        raise EngineError(f"event seq {event.seq}: a link event is 'added' or 'removed', not {event.field!r}")
