"""Sprint metrics: the sprint report, burndown and burnup, velocity, scope churn.

A sprint runs from ``started_at`` to ``closed_at`` (for a sprint still open: to
as-of). "At start" and "at close" see every event at or before that instant;
"at the end of day d" sees the events before midnight at its end, capped at the
close. Stories deleted at the close vanish from the report; stories already
done at start are listed and excluded from everything else, the burndown
included. Unestimated stories count 0 points and are listed as unestimated.

The report is checked by the identity of ``METRICS.md``::

    committed + added - removed = completed + cancelled + not completed              (count)
    committed_points + added_points - removed_points + reestimate_delta
        = completed_points + cancelled_points + not_completed_points                  (points)

with points on entry (at start, or when added), on exit (when removed) and at close; the
re-estimation delta is the sum of ``new - old`` over the re-estimated stories.

==================================================================  ==========================================
function                                                            returns
==================================================================  ==========================================
``sprint_report(source, *, sprint, ...)``                           :class:`SprintReport` with the burndown
``velocity_report(source, *, sprints, last=7, average_of=3, ...)``  :class:`VelocityReport`
``report_at(history, sprint, close)``                               the report as it stood at ``close``
``ideal_points(committed, day, *, first, end)``                     the ideal burndown line at ``day``
``scope_churn(report)``                                             (added + removed points) / committed points
==================================================================  ==========================================

>>> from datetime import date, datetime, timezone
>>> from sprintboard.records import Event, Sprint, State, Story
>>> utc = timezone.utc
>>> def at(day, hour=9):
...     return datetime(2024, 3, day, hour, tzinfo=utc)
>>> states = [State(1, "Ready", "todo", 1), State(2, "Doing", "active", 2), State(3, "Done", "done", 3)]
>>> stories = [Story(i, f"DATA-{i}", "story", at(1)) for i in (1, 2, 3)]
>>> sprint = Sprint(9, "Sprint 9", date(2024, 3, 4), date(2024, 3, 8), at(4), at(8, 17))
>>> events = [
...     Event(1, 1, "created", at(1), to_value={"state": 1, "sprint": 9, "points": 5}),
...     Event(2, 2, "created", at(1), to_value={"state": 1, "sprint": 9, "points": 3}),
...     Event(3, 3, "created", at(5), to_value={"state": 1, "sprint": 9, "points": 2}),
...     Event(4, 1, "state", at(6), to_value=3),
...     Event(5, 2, "points", at(7), from_value=3, to_value=8),
... ]
>>> report = sprint_report(events, sprint=sprint, stories=stories, workflow=states)
>>> report.committed, report.added, report.completed, report.not_completed
(('DATA-1', 'DATA-2'), ('DATA-3',), ('DATA-1',), ('DATA-2', 'DATA-3'))
>>> report.committed_points, report.completed_points, report.reestimated
(8, 5, (Reestimate(key='DATA-2', old_points=3, new_points=8),))
>>> report.identity.holds
True
>>> [(d.date.day, d.remaining_points, d.scope_points, d.ideal_points) for d in report.burndown]
[(4, 8, 8, 8.0), (5, 10, 10, 6.0), (6, 5, 10, 4.0), (7, 10, 15, 2.0), (8, 10, 15, 0.0)]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sprintboard.errors import EngineError
from sprintboard.history import History, StoryTimeline, ensure_history
from sprintboard.records import CANCELLED, DONE, Event, Sprint, State, Story, Workflow

__all__ = [
    "BurndownDay",
    "BurnupDay",
    "Identity",
    "Reestimate",
    "ScopeChange",
    "SprintReport",
    "VelocityEntry",
    "VelocityReport",
    "ideal_points",
    "report_at",
    "scope_churn",
    "sprint_report",
    "velocity_report",
]

Points = float  # int or float; None (unestimated) counts 0


@dataclass(frozen=True, slots=True)
class Reestimate:
    key: str
    old_points: Points | None
    new_points: Points | None


@dataclass(frozen=True, slots=True)
class ScopeChange:
    at: datetime
    key: str
    kind: str  # added|removed|reestimated
    points: Points  # the change of scope, signed


@dataclass(frozen=True, slots=True)
class BurndownDay:
    date: date
    remaining_points: Points | None  # None after the close / as-of day
    scope_points: Points | None
    ideal_points: float
    completed_points: Points | None  # the burnup line


@dataclass(frozen=True, slots=True)
class BurnupDay:
    date: date
    completed_points: Points | None
    scope_points: Points | None


@dataclass(frozen=True, slots=True)
class Identity:
    count_left: int  # committed + added - removed
    count_right: int  # completed + cancelled + not completed
    points_left: Points  # committed + added - removed + re-estimation delta
    points_right: Points  # completed + cancelled + not completed, points at close
    holds: bool


@dataclass(frozen=True, slots=True)
class SprintReport:
    sprint_id: int
    name: str
    start: date
    end: date
    started_at: datetime
    closed_at: datetime  # the close, or as-of for a sprint still open
    closed: bool
    committed: tuple[str, ...]
    already_done: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    completed: tuple[str, ...]
    cancelled: tuple[str, ...]
    not_completed: tuple[str, ...]  # the carry-over
    reestimated: tuple[Reestimate, ...]
    unestimated: tuple[str, ...]
    committed_points: Points
    added_points: Points
    removed_points: Points
    completed_points: Points
    cancelled_points: Points
    not_completed_points: Points
    reestimate_delta: Points
    scope_churn: float | None
    identity: Identity
    burndown: tuple[BurndownDay, ...]
    burnup: tuple[BurnupDay, ...]
    scope_changes: tuple[ScopeChange, ...]
    n: int  # stories in the report (committed + added)


@dataclass(frozen=True, slots=True)
class VelocityEntry:
    sprint_id: int
    name: str
    closed_at: datetime
    committed_points: Points
    completed_points: Points
    n_committed: int
    n_completed: int
    scope_churn: float | None


@dataclass(frozen=True, slots=True)
class VelocityReport:
    sprints: tuple[VelocityEntry, ...]  # the last ``last`` closed sprints, oldest first
    average_velocity: float | None  # mean completed points of the last ``average_of`` closed sprints
    n: int  # sprints in the average


# -- one story's part in a sprint ----------------------------------------------------------------------


@dataclass(slots=True)
class _Member:
    line: StoryTimeline
    in_start: bool
    entered_at: datetime | None  # first entry after start, for stories not in the sprint at start
    left_at: datetime | None  # last exit, for stories not in the sprint at close
    entry_points: Points | None
    exit_points: Points | None  # points at close, or when removed
    outcome: str | None  # completed|cancelled|not_completed, None when removed


def _points(value: Points | None) -> Points:
    return 0 if value is None else value


def _moves(
    line: StoryTimeline, sprint_id: int, started: datetime, close: datetime
) -> tuple[list[datetime], list[datetime]]:
    """Entries into and exits from the sprint after its start, up to the close."""
    entries, exits, previous = [], [], None
    for moment, value in line.sprints:
        if started < moment <= close:
            if value == sprint_id and previous != sprint_id:
                entries.append(moment)
            elif previous == sprint_id and value != sprint_id:
                exits.append(moment)
        previous = value
    return entries, exits


def _member(
    history: History, line: StoryTimeline, sprint_id: int, started: datetime, close: datetime
) -> _Member | None:
    in_start = line.exists_at(started) and line.sprint_at(started) == sprint_id
    entries, exits = _moves(line, sprint_id, started, close)
    if not in_start and not entries:
        return None
    in_close = line.sprint_at(close) == sprint_id
    entered = None if in_start else entries[0]
    left = None if in_close else exits[-1]
    entry_points = line.points_at(started if in_start else entered)  # type: ignore[arg-type]
    exit_points = line.points_at(close if in_close else left)  # type: ignore[arg-type]
    outcome = _outcome(history, line, started, close) if in_close else None
    return _Member(line, in_start, entered, left, entry_points, exit_points, outcome)


def _outcome(history: History, line: StoryTimeline, started: datetime, close: datetime) -> str:
    category = history.workflow.categories[line.state_at(close)]  # type: ignore[index]
    if category == CANCELLED:
        return "cancelled"
    finish = line.finish_at(close, history.workflow.done_ids)
    if category == DONE and finish is not None and finish > started:
        return "completed"
    return "not_completed"


def _done_at_start(history: History, member: _Member, started: datetime) -> bool:
    return member.in_start and member.line.state_at(started) in history.workflow.done_ids


# -- the report ------------------------------------------------------------------------------------------


def _close_of(history: History, sprint: Sprint, as_of: datetime | None) -> datetime:
    if sprint.started_at is None:
        raise EngineError(f"sprint {sprint.name!r} has not started: there is no report before its start")
    close = history.as_of if as_of is None else as_of
    if close > history.as_of:
        raise EngineError(f"as_of {close.isoformat()} is after the history's as-of {history.as_of.isoformat()}")
    if sprint.closed_at is not None:
        close = min(close, sprint.closed_at)
    if close < sprint.started_at:
        raise EngineError(
            f"sprint {sprint.name!r} starts at {sprint.started_at.isoformat()}, after as-of {close.isoformat()}"
        )
    return close


def sprint_report(
    source: History | Iterable[Event],
    *,
    sprint: Sprint,
    stories: Iterable[Story] | None = None,
    workflow: Iterable[State] | Workflow | None = None,
    tz: str = "UTC",
    as_of: datetime | None = None,
) -> SprintReport:
    """The sprint report at the sprint's close (at ``as_of`` if earlier, or for a sprint still open).

    ``source`` is a History, or the events with ``stories``, ``workflow``, ``tz`` (and ``as_of``,
    by default the sprint's close).
    """
    if not isinstance(source, History) and as_of is None:
        as_of = sprint.closed_at
        if as_of is None:
            raise EngineError(f"sprint {sprint.name!r} is not closed: give as_of=")
    history = ensure_history(source, stories=stories, workflow=workflow, tz=tz, as_of=as_of)
    close = _close_of(history, sprint, as_of)
    return report_at(history, sprint, close)


def _members(history: History, sprint: Sprint, close: datetime) -> list[_Member]:
    found = []
    for story_id in history.sprint_members.get(sprint.id, ()):
        line = history.timelines[story_id]
        if line.exists_at(close) and not line.deleted_at(close):
            member = _member(history, line, sprint.id, sprint.started_at, close)  # type: ignore[arg-type]
            if member is not None:
                found.append(member)
    return sorted(found, key=lambda m: (_key_order(m.line.key), m.line.key))


def _key_order(key: str) -> tuple[str, int]:
    prefix, _, number = key.rpartition("-")
    return (prefix, int(number)) if number.isdigit() else (key, -1)


def report_at(history: History, sprint: Sprint, close: datetime) -> SprintReport:
    """The report of a started sprint as it stood at ``close`` (its close, or an earlier as-of)."""
    started: datetime = sprint.started_at  # type: ignore[assignment]
    members = _members(history, sprint, close)
    already = [m for m in members if _done_at_start(history, m, started)]
    counted = [m for m in members if not _done_at_start(history, m, started)]
    lists = _lists(counted)
    sums = {name: sum(_points(p) for p in values) for name, values in _point_lists(counted).items()}
    reestimated = tuple(
        Reestimate(m.line.key, m.entry_points, m.exit_points) for m in counted if m.entry_points != m.exit_points
    )
    delta = sum(_points(r.new_points) - _points(r.old_points) for r in reestimated)
    identity = _identity(lists, sums, delta)
    days = _burndown(history, sprint, counted, started, close, sums["committed"])
    return SprintReport(
        sprint_id=sprint.id,
        name=sprint.name,
        start=sprint.start,
        end=sprint.end,
        started_at=started,
        closed_at=close,
        closed=sprint.closed_at is not None and close == sprint.closed_at,
        committed=lists["committed"],
        already_done=tuple(m.line.key for m in already),
        added=lists["added"],
        removed=lists["removed"],
        completed=lists["completed"],
        cancelled=lists["cancelled"],
        not_completed=lists["not_completed"],
        reestimated=reestimated,
        unestimated=tuple(m.line.key for m in counted if m.entry_points is None or m.exit_points is None),
        committed_points=sums["committed"],
        added_points=sums["added"],
        removed_points=sums["removed"],
        completed_points=sums["completed"],
        cancelled_points=sums["cancelled"],
        not_completed_points=sums["not_completed"],
        reestimate_delta=delta,
        scope_churn=_churn(sums["added"], sums["removed"], sums["committed"]),
        identity=identity,
        burndown=tuple(days),
        burnup=tuple(BurnupDay(d.date, d.completed_points, d.scope_points) for d in days),
        scope_changes=tuple(_scope_changes(history, counted, sprint.id, started, close)),
        n=len(counted),
    )


def _lists(counted: list[_Member]) -> dict[str, tuple[str, ...]]:
    return {
        "committed": tuple(m.line.key for m in counted if m.in_start),
        "added": tuple(m.line.key for m in counted if not m.in_start),
        "removed": tuple(m.line.key for m in counted if m.outcome is None),
        "completed": tuple(m.line.key for m in counted if m.outcome == "completed"),
        "cancelled": tuple(m.line.key for m in counted if m.outcome == "cancelled"),
        "not_completed": tuple(m.line.key for m in counted if m.outcome == "not_completed"),
    }


def _point_lists(counted: list[_Member]) -> dict[str, list[Points | None]]:
    """Points on entry for committed and added, on exit for removed, at close for the outcomes."""
    return {
        "committed": [m.entry_points for m in counted if m.in_start],
        "added": [m.entry_points for m in counted if not m.in_start],
        "removed": [m.exit_points for m in counted if m.outcome is None],
        "completed": [m.exit_points for m in counted if m.outcome == "completed"],
        "cancelled": [m.exit_points for m in counted if m.outcome == "cancelled"],
        "not_completed": [m.exit_points for m in counted if m.outcome == "not_completed"],
    }


def _identity(lists: dict[str, tuple[str, ...]], sums: dict[str, Points], delta: Points) -> Identity:
    count_left = len(lists["committed"]) + len(lists["added"]) - len(lists["removed"])
    count_right = len(lists["completed"]) + len(lists["cancelled"]) + len(lists["not_completed"])
    points_left = sums["committed"] + sums["added"] - sums["removed"] + delta
    points_right = sums["completed"] + sums["cancelled"] + sums["not_completed"]
    holds = count_left == count_right and abs(points_left - points_right) <= 1e-9 * max(1.0, abs(points_right))
    return Identity(count_left, count_right, points_left, points_right, holds)


def _churn(added: Points, removed: Points, committed: Points) -> float | None:
    return None if committed == 0 else (added + removed) / committed


def scope_churn(report: SprintReport) -> float | None:
    """(points added after start + points removed) / committed points; None when nothing was committed."""
    return _churn(report.added_points, report.removed_points, report.committed_points)


# -- burndown and burnup -----------------------------------------------------------------------------------


def ideal_points(committed: Points, day: date, *, first: date, end: date) -> float:
    """The ideal line: the commitment on the start day, falling evenly to 0 on the planned ``end``.

    >>> [ideal_points(10, date(2024, 3, d), first=date(2024, 3, 4), end=date(2024, 3, 8)) for d in (4, 6, 8, 9)]
    [10.0, 5.0, 0.0, 0.0]
    """
    span = (end - first).days
    if day >= end:
        return 0.0
    if span <= 0:
        return float(committed)
    return committed * min(span, (end - day).days) / span


def _burndown(
    history: History, sprint: Sprint, counted: list[_Member], started: datetime, close: datetime, committed: Points
) -> list[BurndownDay]:
    first, close_day = history.day(started), history.day(close)
    last = max(sprint.end, close_day)
    days = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        ideal = ideal_points(committed, day, first=first, end=sprint.end)
        if day > close_day:
            days.append(BurndownDay(day, None, None, ideal, None))
            continue
        moment = history.end_of_day(day)
        remaining, scope, done = _day_points(history, counted, sprint.id, started, *_instant(moment, close))
        days.append(BurndownDay(day, remaining, scope, ideal, done))
    return days


def _instant(end_of_day: datetime, close: datetime) -> tuple[datetime, bool]:
    """The moment a day's end is read at: midnight (strictly before it), or the close if earlier."""
    return (close, False) if close < end_of_day else (end_of_day, True)


def _day_points(
    history: History, counted: list[_Member], sprint_id: int, started: datetime, moment: datetime, strict: bool
) -> tuple[Points, Points, Points]:
    remaining: Points = 0
    scope: Points = 0
    done: Points = 0
    workflow = history.workflow
    for member in counted:
        line = member.line
        if not line.exists_at(moment, strict=strict) or line.sprint_at(moment, strict=strict) != sprint_id:
            continue
        if line.deleted_at(moment, strict=strict):
            continue
        points = _points(line.points_at(moment, strict=strict))
        state = line.state_at(moment, strict=strict)
        scope += points
        if state in workflow.done_ids:
            finish = line.finish_at(moment, workflow.done_ids, strict=strict)
            done += points if finish is not None and finish > started else 0
        elif state not in workflow.cancelled_ids:
            remaining += points
    return remaining, scope, done


def _scope_changes(
    history: History, counted: list[_Member], sprint_id: int, started: datetime, close: datetime
) -> list[ScopeChange]:
    changes = []
    for member in counted:
        changes.extend(_story_scope_changes(member.line, sprint_id, started, close))
    return sorted(changes, key=lambda c: (c.at, c.key))


def _story_scope_changes(line: StoryTimeline, sprint_id: int, started: datetime, close: datetime) -> list[ScopeChange]:
    entries, exits = _moves(line, sprint_id, started, close)
    changes = [ScopeChange(t, line.key, "added", _points(line.points_at(t))) for t in entries]
    changes += [ScopeChange(t, line.key, "removed", -_points(line.points_at(t))) for t in exits]
    previous = None
    for moment, points in line.points:
        if started < moment <= close and line.sprint_at(moment) == sprint_id and moment not in entries:
            changes.append(ScopeChange(moment, line.key, "reestimated", _points(points) - _points(previous)))
        previous = points
    return [c for c in changes if c.kind != "reestimated" or c.points != 0]


# -- velocity ---------------------------------------------------------------------------------------------


def velocity_report(
    source: History | Iterable[Event],
    *,
    sprints: Iterable[Sprint],
    last: int = 7,
    average_of: int = 3,
    stories: Iterable[Story] | None = None,
    workflow: Iterable[State] | Workflow | None = None,
    tz: str = "UTC",
    as_of: datetime | None = None,
) -> VelocityReport:
    """Commitment vs completed points of the last ``last`` sprints closed by as-of, and the average
    velocity: the mean completed points of the last ``average_of`` of them (None with none)."""
    history = ensure_history(source, stories=stories, workflow=workflow, tz=tz, as_of=as_of)
    closed = sorted(
        (s for s in sprints if s.started_at is not None and s.closed_at is not None and s.closed_at <= history.as_of),
        key=lambda s: (s.closed_at, s.id),
    )
    wanted = max(last, average_of, 0)
    entries = [_velocity_entry(report_at(history, s, s.closed_at)) for s in closed[max(0, len(closed) - wanted) :]]  # type: ignore[arg-type]
    recent = [e.completed_points for e in entries[max(0, len(entries) - average_of) :]] if average_of > 0 else []
    average = sum(recent) / len(recent) if recent else None
    shown = entries[max(0, len(entries) - last) :] if last > 0 else []
    return VelocityReport(tuple(shown), average, len(recent))


def _velocity_entry(report: SprintReport) -> VelocityEntry:
    return VelocityEntry(
        report.sprint_id,
        report.name,
        report.closed_at,
        report.committed_points,
        report.completed_points,
        len(report.committed),
        len(report.completed),
        report.scope_churn,
    )
