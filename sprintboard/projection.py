"""The per-story flow projection: a story's flow facts kept current one event at a time.

Reading a project's whole log to age the cards of a board costs what the
history costs, not what changed. The services keep, on each story row, the
few facts the board needs, advanced by :func:`advance` for every event they
append, in the same transaction. The projection is a cache of the replay,
not a second definition: :func:`of_timeline` reads the same facts off a
:class:`~sprintboard.history.StoryTimeline`, and the two are held equal by
``verify_events`` and a property test.

=================================================  ===============================================
function / class                                   what it gives
=================================================  ===============================================
``StoryFlow``                                      state_since, started_at, finished_at,
                                                   blocked_since, reopened
``advance(flow, *, kind, at, category)``            the flow after one more event (None: created)
``of_timeline(line, workflow)``                    the same facts from a replayed timeline
``fold(events, categories)``                       {story id: StoryFlow} after a whole log
``cycle_days(flow, zone)``                         a finished story's cycle time in days (else None)
=================================================  ===============================================

>>> from datetime import datetime, timezone
>>> def at(day):
...     return datetime(2024, 3, day, 9, tzinfo=timezone.utc)
>>> f = advance(None, kind="created", at=at(1), category="todo")
>>> f = advance(f, kind="state", at=at(2), category="active")
>>> f = advance(f, kind="state", at=at(4), category="done")
>>> f.started_at.day, f.finished_at.day, f.state_since.day, f.reopened
(2, 4, 4, 0)
>>> f = advance(f, kind="state", at=at(5), category="active")
>>> f.finished_at, f.reopened
(None, 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

from sprintboard.errors import EngineError
from sprintboard.flow import inclusive_days
from sprintboard.history import StoryTimeline, local_day
from sprintboard.records import DONE, STARTED, Workflow

__all__ = ["StoryFlow", "advance", "cycle_days", "fold", "of_timeline"]


@dataclass(frozen=True, slots=True)
class StoryFlow:
    """What the board reads of one story's flow, as at its latest event.

    ``started_at`` is Start (the first entry into a started category), ``finished_at`` Finish (the last
    entry into ``done``, while the story is in ``done``), ``blocked_since`` the start of the current
    blocked interval (a new reason starts a new one), ``reopened`` how often it left ``done``.
    """

    state_since: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    blocked_since: datetime | None = None
    reopened: int = 0


def advance(flow: StoryFlow | None, *, kind: str, at: datetime, category: str | None = None) -> StoryFlow:
    """The projection after one more event of the story.

    ``flow`` is None for the ``created`` event. ``category`` is the category of the state entered, needed
    for ``created`` and ``state`` events only. Kinds that change no flow fact return ``flow`` unchanged.
    """
    if kind == "created":
        if category is None:
            raise EngineError("a 'created' event needs the category of the story's first state")
        return _enter(StoryFlow(state_since=at), at, category)
    if flow is None:
        raise EngineError(f"a story's first event is {kind!r}; expected 'created'")
    if kind == "state":
        if category is None:
            raise EngineError("a 'state' event needs the category of the state entered")
        return _enter(replace(flow, state_since=at), at, category)
    if kind == "blocked":
        # The services log ``blocked`` only for a new block or a new reason, and each starts an interval.
        return replace(flow, blocked_since=at)
    if kind == "unblocked":
        return replace(flow, blocked_since=None)
    return flow


def _enter(flow: StoryFlow, at: datetime, category: str) -> StoryFlow:
    started = flow.started_at if flow.started_at is not None or category not in STARTED else at
    if category == DONE:
        return replace(flow, started_at=started, finished_at=flow.finished_at or at)
    reopened = flow.reopened + (flow.finished_at is not None)
    return replace(flow, started_at=started, finished_at=None, reopened=reopened)


def fold(events: Iterable[tuple[int, str, datetime, object]], categories: Mapping[int, str]) -> dict[int, StoryFlow]:
    """Each story's flow after ``events``: ``(story_id, kind, at, to_value)`` in seq order; ``categories`` maps
    state ids to categories. A story whose log :func:`advance` refuses (an unknown state, no ``created``
    first) is left out: ``verify_events`` reports it.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2024, 3, 1, tzinfo=timezone.utc)
    >>> fold([(7, "created", t, {"state": 1}), (7, "state", t, 2)], {1: "todo", 2: "active"})[7].started_at == t
    True
    """
    flows: dict[int, StoryFlow] = {}
    broken: set[int] = set()
    for story_id, kind, at, to_value in events:
        if story_id in broken:
            continue
        state = to_value.get("state") if kind == "created" and isinstance(to_value, Mapping) else to_value
        category = categories.get(state) if kind in ("created", "state") and isinstance(state, int) else None
        try:
            flows[story_id] = advance(flows.get(story_id), kind=kind, at=at, category=category)
        except EngineError:
            broken.add(story_id)
            flows.pop(story_id, None)
    return flows


def cycle_days(flow: StoryFlow, zone: tzinfo) -> int | None:
    """A finished story's cycle time in inclusive days in ``zone`` (``sprintboard.flow``'s definition); None
    while it is not finished.

    >>> from datetime import datetime, timezone
    >>> done = StoryFlow(state_since=datetime(2024, 3, 4, 21, tzinfo=timezone.utc),
    ...                  started_at=datetime(2024, 3, 2, 9, tzinfo=timezone.utc),
    ...                  finished_at=datetime(2024, 3, 4, 21, tzinfo=timezone.utc))
    >>> cycle_days(done, timezone.utc), cycle_days(StoryFlow(state_since=done.state_since), timezone.utc)
    (3, None)
    """
    if flow.finished_at is None:
        return None
    start = flow.started_at if flow.started_at is not None else flow.finished_at
    return inclusive_days(start, local_day(flow.finished_at, zone), zone)


def of_timeline(line: StoryTimeline, workflow: Workflow | Mapping[int, str]) -> StoryFlow:
    """The projection as the replay defines it: Start, Finish and blocks of the timeline at its as-of."""
    done = (
        workflow.done_ids if isinstance(workflow, Workflow) else frozenset(i for i, c in workflow.items() if c == DONE)
    )
    states = [state for _, state in line.states]
    reopened = sum(1 for before, after in zip(states, states[1:], strict=False) if before in done and after not in done)
    open_block = line.blocks[-1][0] if line.blocks and line.blocks[-1][1] is None else None
    return StoryFlow(
        state_since=line.states[-1][0],
        started_at=line.started_at,
        finished_at=line.finish,
        blocked_since=open_block,
        reopened=reopened,
    )
