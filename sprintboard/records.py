"""Input records of the metrics engine, the workflow, and the JSON helper.

These records are the contract with the Django side: it loads rows, builds
these frozen dataclasses and hands them to the engine.

==============================  ================================================
name                            what it is
==============================  ================================================
``State``                       a workflow state: id, name, category, position
``Story``                       a story: id, key, kind, created_at, deliverable_id
``Event``                       one row of the append-only story event log
``Sprint``                      a sprint: planned dates, started_at, closed_at
``Deliverable``                 a data-analytics deliverable and its status history
``Workflow(states)``            the states in workflow order, with category lookups
``to_jsonable(obj)``            plain JSON values: dates as ISO, datetimes as ISO UTC
==============================  ================================================

>>> flow = Workflow([State(1, "Backlog", "backlog", 0), State(2, "Doing", "active", 1),
...                  State(3, "Done", "done", 2)])
>>> flow.category(2), flow.started_ids
('active', frozenset({2}))
>>> from datetime import date, datetime, timezone
>>> to_jsonable({"at": datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc), "day": date(2024, 3, 1)})
{'at': '2024-03-01T09:30:00Z', 'day': '2024-03-01'}
>>> Workflow([State(1, "Odd", "someday", 0)])
Traceback (most recent call last):
...
sprintboard.errors.EngineError: state 1 'Odd' has category 'someday'; expected one of backlog, todo, active, waiting, done, cancelled
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sprintboard.errors import EngineError

__all__ = [
    "ACTIVE",
    "BACKLOG",
    "CANCELLED",
    "CATEGORIES",
    "DONE",
    "EVENT_KINDS",
    "STARTED",
    "TODO",
    "WAITING",
    "Deliverable",
    "DeliverableStatus",
    "Event",
    "Sprint",
    "State",
    "Story",
    "Workflow",
    "to_jsonable",
]

BACKLOG, TODO, ACTIVE, WAITING, DONE, CANCELLED = "backlog", "todo", "active", "waiting", "done", "cancelled"
CATEGORIES = (BACKLOG, TODO, ACTIVE, WAITING, DONE, CANCELLED)
STARTED = frozenset({ACTIVE, WAITING})
EVENT_KINDS = frozenset(
    {
        "created",
        "state",
        "sprint",
        "assignee",
        "points",
        "rank",
        "rebalanced",
        "blocked",
        "unblocked",
        "updated",
        "deleted",
        "restored",
        "link",
    }
)


@dataclass(frozen=True, slots=True)
class State:
    """A workflow state; ``category`` drives every metric, ``position`` orders the board."""

    id: int
    name: str
    category: str  # backlog|todo|active|waiting|done|cancelled
    position: int


@dataclass(frozen=True, slots=True)
class Story:
    """A story as the engine needs it."""

    id: int
    key: str  # "DATA-42"
    kind: str  # story|bug|chore|spike
    created_at: datetime  # tz-aware UTC
    deliverable_id: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One row of the append-only story event log (see the module docs for payloads)."""

    seq: int
    story_id: int
    kind: str
    at: datetime
    field: str | None = None
    from_value: object = None
    to_value: object = None
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class Sprint:
    """A sprint: planned ``start``/``end`` dates (end inclusive) and the moments it started and closed."""

    id: int
    name: str
    start: date
    end: date
    started_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeliverableStatus:
    """One step of a deliverable's status history."""

    at: datetime
    status: str  # proposed|in development|validating|published|retired


@dataclass(frozen=True, slots=True)
class Deliverable:
    """A data-analytics deliverable (dashboard, dataset, model, ...)."""

    id: int
    name: str
    kind: str
    published_at: datetime | None = None
    retired_at: datetime | None = None
    status_history: tuple[DeliverableStatus, ...] = ()
    # When its published data failed a pipeline run bound to its definition of done (each time it was flagged).
    failed_runs: tuple[datetime, ...] = ()


class Workflow:
    """The workflow states in order, with fast lookups by id.

    Raises :class:`EngineError` for duplicate ids or unknown categories.
    """

    __slots__ = ("states", "by_id", "categories", "positions", "started_ids", "done_ids", "cancelled_ids", "active_ids")

    def __init__(self, states: Iterable[State]) -> None:
        ordered = sorted(states, key=lambda s: (s.position, s.id))
        self.states: tuple[State, ...] = tuple(ordered)
        self.by_id: dict[int, State] = {}
        for state in ordered:
            _check_state(state, self.by_id)
            self.by_id[state.id] = state
        self.categories = {s.id: s.category for s in ordered}
        self.positions = {s.id: s.position for s in ordered}
        self.started_ids = self._ids(STARTED)
        self.active_ids = self._ids({ACTIVE})
        self.done_ids = self._ids({DONE})
        self.cancelled_ids = self._ids({CANCELLED})

    def _ids(self, categories: Iterable[str]) -> frozenset[int]:
        wanted = set(categories)
        return frozenset(i for i, c in self.categories.items() if c in wanted)

    def category(self, state_id: int) -> str:
        """The category of a state id; EngineError for an unknown id."""
        try:
            return self.categories[state_id]
        except KeyError:
            raise EngineError(f"unknown state id {state_id!r}: not in the workflow") from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.states)

    def __len__(self) -> int:
        return len(self.states)


def _check_state(state: State, seen: dict[int, State]) -> None:
    if state.category not in CATEGORIES:
        raise EngineError(
            f"state {state.id} {state.name!r} has category {state.category!r}; expected one of {', '.join(CATEGORIES)}"
        )
    if state.id in seen:
        raise EngineError(f"state id {state.id} appears twice in the workflow")


def to_jsonable(obj: object) -> object:
    """Plain JSON values: dataclasses and named tuples become dicts, dict keys strings,
    dates ISO strings, datetimes ISO 8601 in UTC with a ``Z``, timedeltas seconds.

    >>> to_jsonable([(1, 2.5), {3: None}])
    [[1, 2.5], {'3': None}]
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, datetime):
        return _iso_utc(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, timedelta):
        return obj.total_seconds()
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple) and hasattr(obj, "_asdict"):
        return {k: to_jsonable(v) for k, v in obj._asdict().items()}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    raise EngineError(f"cannot turn a {type(obj).__name__} into JSON")


def _iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise EngineError(f"datetime {moment.isoformat()} has no time zone; the engine works in tz-aware UTC")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
