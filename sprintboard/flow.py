"""Flow metrics: cycle time, lead time, throughput, WIP, CFD, age, efficiency.

Definitions are those of ``METRICS.md`` ("Time conventions" and "Flow").
Every function reads a :class:`~sprintboard.history.History` (one replay of
the log); ``flow_report`` also accepts the events and the context directly.
Windows are calendar days in the project's time zone, both ends inclusive,
by default the 30 days ending on the as-of day.

============================================================  =================================================
function                                                      returns
============================================================  =================================================
``flow_report(source, *, start, end, ...)``                   :class:`FlowReport`: all of the below
``story_start(line)`` / ``story_finish(line)``                Start and Finish of one story at as-of
``cycle_times(history, *, start, end)``                       [:class:`CycleTime`] of stories finished in the window
``lead_times(history, *, start, end)``                        [:class:`LeadTime`]
``work_item_ages(history)``                                   [:class:`WorkItemAge`] of stories started at as-of
``daily_state_counts(history, *, start, end)``                {state id: [count per day]} at each end of day
``wip(history, *, start, end)``                               [:class:`DayCount`] started stories per end of day
``throughput(history, *, start, end)``                        [:class:`DayCount`] Finishes per day, zero days too
``cfd(history, *, start, end)``                               [:class:`CfdDay`] stories per state per end of day
``time_in_state(line, until)``                                {state id: seconds} of one story
``active_wait_seconds(line, workflow, *, start, finish)``     (active, wait) seconds between Start and Finish
``flow_efficiency(history, *, start, end)``                   :class:`FlowEfficiency` (ratio of sums + per story)
``finished_stories(history, start, end)``                     [(timeline, Start, Finish)] finished in the window
``nearest_rank(values, percent)``                             the nearest-rank percentile (None for no values)
``percentiles(values, percents=(50, 70, 85, 95))``            {"50": .., "70": .., "85": .., "95": .., "n": n}
``service_level_expectation(history, *, percent, days)``      :class:`ServiceLevel`
``service_level(cycle_days, *, as_of_day, percent, days)``    the same from cycle times; ``sle_window``
``inclusive_days(start, end, zone)``                          day of ``start`` to ``end``, both counted
``littles_law(history, *, start, end)``                       :class:`LittlesLaw` with its warnings
============================================================  =================================================

>>> from datetime import datetime, timezone
>>> from sprintboard.records import Event, State, Story
>>> utc = timezone.utc
>>> def at(day, hour=9):
...     return datetime(2024, 3, day, hour, tzinfo=utc)
>>> states = [State(1, "Ready", "todo", 1), State(2, "Doing", "active", 2),
...           State(3, "Review", "waiting", 3), State(4, "Done", "done", 4)]
>>> stories = [Story(1, "DATA-1", "story", at(1)), Story(2, "DATA-2", "bug", at(1))]
>>> events = [
...     Event(1, 1, "created", at(1), to_value={"state": 1}),
...     Event(2, 2, "created", at(1), to_value={"state": 1}),
...     Event(3, 1, "state", at(2), to_value=2),
...     Event(4, 1, "state", at(3), to_value=3),
...     Event(5, 2, "state", at(3), to_value=2),
...     Event(6, 1, "state", at(4, 21), to_value=4),
... ]
>>> report = flow_report(events, stories=stories, workflow=states, as_of=at(5, 12),
...                      start=datetime(2024, 3, 1).date())
>>> [(c.key, c.days, c.hours) for c in report.cycle_times]
[('DATA-1', 3, 60.0)]
>>> [d.count for d in report.wip], [d.count for d in report.throughput]
([0, 1, 2, 1, 1], [0, 0, 0, 1, 0])
>>> report.percentiles
{'50': 3, '70': 3, '85': 3, '95': 3, 'n': 1}
>>> round(report.flow_efficiency.efficiency, 3)
0.4
>>> percentiles([])
{'50': None, '70': None, '85': None, '95': None, 'n': 0}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from fractions import Fraction
from operator import itemgetter

from sprintboard.errors import EngineError
from sprintboard.history import History, StoryTimeline, ensure_history, gc_paused, local_day
from sprintboard.records import Event, State, Story, Workflow

__all__ = [
    "CfdDay",
    "CycleTime",
    "DayCount",
    "FlowEfficiency",
    "FlowReport",
    "LeadTime",
    "LittlesLaw",
    "ServiceLevel",
    "StateTime",
    "StoryEfficiency",
    "WorkItemAge",
    "active_wait_seconds",
    "cfd",
    "cycle_times",
    "daily_state_counts",
    "efficiency_of",
    "finished_stories",
    "flow_efficiency",
    "flow_report",
    "inclusive_days",
    "lead_times",
    "littles_law",
    "nearest_rank",
    "percentiles",
    "resolve_window",
    "service_level",
    "service_level_expectation",
    "sle_window",
    "state_intervals",
    "story_finish",
    "story_start",
    "throughput",
    "time_in_state",
    "wip",
    "work_item_ages",
]

DEFAULT_PERCENTS = (50, 70, 85, 95)
HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class CycleTime:
    key: str
    start: datetime
    finish: datetime
    days: int  # inclusive calendar days
    hours: float  # exact duration


@dataclass(frozen=True, slots=True)
class LeadTime:
    key: str
    created: datetime
    finish: datetime
    days: int


@dataclass(frozen=True, slots=True)
class WorkItemAge:
    key: str
    state: int
    start: datetime
    days: int


@dataclass(frozen=True, slots=True)
class DayCount:
    date: date
    count: int


@dataclass(frozen=True, slots=True)
class CfdDay:
    date: date
    counts: dict[int, int]  # state id -> stories, in workflow order


@dataclass(frozen=True, slots=True)
class StoryEfficiency:
    key: str
    active_hours: float
    wait_hours: float
    efficiency: float | None  # None when Start = Finish


@dataclass(frozen=True, slots=True)
class FlowEfficiency:
    efficiency: float | None  # sum active / sum (active + wait); None when that is 0
    active_hours: float
    wait_hours: float
    n: int
    stories: tuple[StoryEfficiency, ...]


@dataclass(frozen=True, slots=True)
class StateTime:
    state: int
    name: str
    hours: float
    n: int  # stories that spent time in the state
    category: str = ""  # the state's category: pages show the started ones (active, waiting) first


@dataclass(frozen=True, slots=True)
class ServiceLevel:
    percent: int
    days: int | None
    n: int
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class LittlesLaw:
    average_wip: float | None
    average_throughput: float | None
    predicted_cycle_days: float | None  # average WIP / average daily throughput
    actual_cycle_days: float | None  # mean exact cycle time in days, no +1
    wip_start: int
    wip_end: int
    age_start: float | None  # mean age of WIP at the end of the first day
    age_end: float | None
    warnings: tuple[str, ...]
    days: int
    n: int  # stories finished in the window


@dataclass(frozen=True, slots=True)
class FlowReport:
    as_of: datetime
    start: date
    end: date
    n: int  # stories finished in the window
    states: tuple[int, ...]  # CFD bands in workflow order
    cycle_times: tuple[CycleTime, ...]
    lead_times: tuple[LeadTime, ...]
    percentiles: dict[str, int | None]
    throughput: tuple[DayCount, ...]
    wip: tuple[DayCount, ...]
    cfd: tuple[CfdDay, ...]
    work_item_age: tuple[WorkItemAge, ...]
    time_in_state: tuple[StateTime, ...]
    flow_efficiency: FlowEfficiency
    service_level: ServiceLevel
    littles_law: LittlesLaw


# -- windows -------------------------------------------------------------------------------------


def resolve_window(history: History, start: date | None, end: date | None, *, days: int = 30) -> tuple[date, date]:
    """The window's first and last day: by default the ``days`` days ending on the as-of day."""
    last = history.as_of_day if end is None else end
    first = last - timedelta(days=days - 1) if start is None else start
    if first > last:
        raise EngineError(f"window start {first} is after its end {last}")
    if last > history.as_of_day:
        raise EngineError(f"window end {last} is after the as-of day {history.as_of_day}: nothing after as-of is seen")
    return first, last


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# -- Start, Finish, per-story times ----------------------------------------------------------------


def story_finish(line: StoryTimeline) -> datetime | None:
    """Finish: the last entry into ``done``, only if the story is in ``done`` at as-of."""
    return line.finish


def story_start(line: StoryTimeline) -> datetime | None:
    """Start: the first entry into a started category; Finish if it was never started."""
    return line.started_at if line.started_at is not None else line.finish


def finished_stories(history: History, start: date, end: date) -> list[tuple[StoryTimeline, datetime, datetime]]:
    """(timeline, Start, Finish) of the visible stories whose Finish falls in start..end, in Finish order."""
    day = history.day
    found = []
    for line in history.visible:
        finish = line.finish
        if finish is not None and start <= day(finish) <= end:
            found.append((line, story_start(line), finish))
    found.sort(key=lambda item: (item[2], item[0].key))
    return found  # type: ignore[return-value]


def cycle_times(history: History, *, start: date | None = None, end: date | None = None) -> list[CycleTime]:
    """Cycle times of the stories whose Finish falls in the window, in Finish order."""
    first, last = resolve_window(history, start, end)
    return [_cycle_time(history, line, s, f) for line, s, f in finished_stories(history, first, last)]


def inclusive_days(start: datetime, end: date, zone: tzinfo) -> int:
    """Calendar days from the day of ``start`` to ``end`` in ``zone``, both counted: the same day is 1.

    The Kanban convention behind cycle time, lead time and work item age.
    """
    return (end - local_day(start, zone)).days + 1


def _cycle_time(history: History, line: StoryTimeline, start: datetime, finish: datetime) -> CycleTime:
    days = inclusive_days(start, history.day(finish), history.zone)
    return CycleTime(line.key, start, finish, days, (finish - start).total_seconds() / HOUR)


def lead_times(history: History, *, start: date | None = None, end: date | None = None) -> list[LeadTime]:
    """Lead times (created → Finish, inclusive days) of the stories finished in the window."""
    first, last = resolve_window(history, start, end)
    return [_lead_time(history, line, f) for line, _, f in finished_stories(history, first, last)]


def _lead_time(history: History, line: StoryTimeline, finish: datetime) -> LeadTime:
    created = line.story.created_at
    return LeadTime(line.key, created, finish, inclusive_days(created, history.day(finish), history.zone))


def work_item_ages(history: History) -> list[WorkItemAge]:
    """Age (as-of day − day of Start + 1) of each story in a started category at as-of, oldest first."""
    started = history.workflow.started_ids
    ages = [
        WorkItemAge(
            line.key, line.state, line.started_at, inclusive_days(line.started_at, history.as_of_day, history.zone)
        )
        for line in history.visible
        if line.state in started and line.started_at is not None
    ]
    return sorted(ages, key=lambda age: (-age.days, age.key))


def state_intervals(
    changes: Sequence[tuple[datetime, object]], until: datetime
) -> Iterable[tuple[datetime, datetime, object]]:
    """``(from, to, value)`` for each value of a change list, the last one running to ``until``."""
    for index, (moment, value) in enumerate(changes):
        if moment >= until:
            return
        following = changes[index + 1][0] if index + 1 < len(changes) else until
        yield moment, min(following, until), value


def time_in_state(line: StoryTimeline, until: datetime) -> dict[int, float]:
    """Seconds the story spent in each state, up to ``until`` (as-of)."""
    spent: dict[int, float] = {}
    for lo, hi, state in state_intervals(line.states, until):
        spent[state] = spent.get(state, 0.0) + (hi - lo).total_seconds()  # type: ignore[index,call-overload]
    return spent


def _overlap(
    lo: datetime, hi: datetime, blocks: Sequence[tuple[datetime, datetime | None, str]], until: datetime
) -> float:
    total = 0.0
    for b_lo, b_hi, _ in blocks:
        b_hi = until if b_hi is None else b_hi
        if b_lo < hi and b_hi > lo:
            total += (min(hi, b_hi) - max(lo, b_lo)).total_seconds()
    return total


def active_wait_seconds(
    line: StoryTimeline, workflow: Workflow, *, start: datetime, finish: datetime
) -> tuple[float, float]:
    """(active, wait) seconds between Start and Finish: active = in ``active`` and not blocked."""
    active = 0.0
    for lo, hi, state in state_intervals(line.states, finish):
        if state in workflow.active_ids and hi > start:
            lo = max(lo, start)
            active += (hi - lo).total_seconds() - _overlap(lo, hi, line.blocks, finish)
    return active, (finish - start).total_seconds() - active


def flow_efficiency(history: History, *, start: date | None = None, end: date | None = None) -> FlowEfficiency:
    """Σ active / Σ (active + wait) over stories finished in the window, with the per-story values."""
    first, last = resolve_window(history, start, end)
    return efficiency_of(history, finished_stories(history, first, last))


def efficiency_of(history: History, finished: list[tuple[StoryTimeline, datetime, datetime]]) -> FlowEfficiency:
    """Flow efficiency of the given ``finished_stories``."""
    per_story = []
    for line, s, f in finished:
        active, wait = active_wait_seconds(line, history.workflow, start=s, finish=f)
        per_story.append(StoryEfficiency(line.key, active / HOUR, wait / HOUR, _ratio(active, active + wait)))
    active_sum = sum(e.active_hours for e in per_story)
    wait_sum = sum(e.wait_hours for e in per_story)
    return FlowEfficiency(
        _ratio(active_sum, active_sum + wait_sum), active_sum, wait_sum, len(per_story), tuple(per_story)
    )


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


# -- per-day counts: one sweep over change points --------------------------------------------------


def daily_state_counts(history: History, *, start: date | None = None, end: date | None = None) -> dict[int, list[int]]:
    """Stories in each state at the end of each day of the window: {state id: [count per day]}.

    One pass over each story's change points with a difference array per state, so the cost
    is the number of changes plus states × days, not stories × days.
    """
    first, last = resolve_window(history, start, end)
    size = (last - first).days + 1
    diffs = {state.id: [0] * (size + 1) for state in history.workflow}
    for line in history.visible:
        runs = _end_of_day_runs(history, line, first)
        for index, (lo, state) in enumerate(runs):
            hi = runs[index + 1][0] if index + 1 < len(runs) else size
            lo, hi = max(lo, 0), min(hi, size)
            if state is not None and lo < hi:
                diffs[state][lo] += 1
                diffs[state][hi] -= 1
    return {state: _running_sum(diff)[:size] for state, diff in diffs.items()}


def _running_sum(values: list[int]) -> list[int]:
    total, out = 0, []
    for value in values:
        total += value
        out.append(total)
    return out


def _end_of_day_runs(history: History, line: StoryTimeline, first: date) -> list[tuple[int, int | None]]:
    """(day index, state at the end of that day) at each day the end-of-day state changes."""
    changes = line.states if not line.deletions else _visible_states(line)
    day = history.day
    runs: list[tuple[int, int | None]] = []
    for moment, state in changes:
        index = (day(moment) - first).days
        if runs and runs[-1][0] == index:
            runs[-1] = (index, state)
        else:
            runs.append((index, state))
    return runs


def _visible_states(line: StoryTimeline) -> list[tuple[datetime, int | None]]:
    """State changes with None while the story is deleted."""
    marks: list[tuple[datetime, int, int | None]] = [(at, 0, state) for at, state in line.states]
    for deleted, restored in line.deletions:
        marks.append((deleted, 1, None))
        if restored is not None:
            marks.append((restored, 2, None))
    marks.sort(key=itemgetter(0, 1))
    state: int | None = None
    hidden, out = False, []
    for moment, what, value in marks:
        if what == 0:
            state = value
        else:
            hidden = what == 1
        out.append((moment, None if hidden else state))
    return out


def wip(history: History, *, start: date | None = None, end: date | None = None) -> list[DayCount]:
    """WIP(d): stories in a started category at the end of each day of the window."""
    first, last = resolve_window(history, start, end)
    return _wip(history, daily_state_counts(history, start=first, end=last), first, last)


def _wip(history: History, counts: dict[int, list[int]], first: date, last: date) -> list[DayCount]:
    started = [counts[s] for s in history.workflow.started_ids]
    return [DayCount(day, sum(c[i] for c in started)) for i, day in enumerate(_days(first, last))]


def throughput(history: History, *, start: date | None = None, end: date | None = None) -> list[DayCount]:
    """Throughput(d): stories whose Finish falls on d, for every day of the window (zeros included)."""
    first, last = resolve_window(history, start, end)
    return _throughput(history, finished_stories(history, first, last), first, last)


def _throughput(history: History, finished: list, first: date, last: date) -> list[DayCount]:  # type: ignore[type-arg]
    per_day = dict.fromkeys(_days(first, last), 0)
    for _, _, finish in finished:
        per_day[history.day(finish)] += 1
    return [DayCount(day, count) for day, count in per_day.items()]


def cfd(history: History, *, start: date | None = None, end: date | None = None) -> list[CfdDay]:
    """CFD(d, s): stories in each state at the end of each day, states in workflow order."""
    first, last = resolve_window(history, start, end)
    return _cfd(history, daily_state_counts(history, start=first, end=last), first, last)


def _cfd(history: History, counts: dict[int, list[int]], first: date, last: date) -> list[CfdDay]:
    order = [state.id for state in history.workflow]
    return [CfdDay(day, {s: counts[s][i] for s in order}) for i, day in enumerate(_days(first, last))]


# -- percentiles and service level -------------------------------------------------------------------


def nearest_rank(values: Iterable[float], percent: float) -> float | None:
    """The smallest value with at least ``percent``% of the values at or below it; None for none.

    >>> nearest_rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 85), nearest_rank([5], 50), nearest_rank([], 50)
    (9, 5, None)

    A percentile is taken as the decimal the user wrote (99.9 is 999/10, not the nearest binary float):

    >>> nearest_rank(range(1, 1001), 99.9), nearest_rank(range(1, 1001), 57.7)
    (999, 577)
    """
    if not 0 < percent <= 100:
        raise EngineError(f"percentile must be in (0, 100], not {percent}")
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(Fraction(str(percent)) * len(ordered) / 100)) - 1]


def percentiles(values: Iterable[float], percents: Sequence[float] = DEFAULT_PERCENTS) -> dict[str, float | None]:
    """Nearest-rank percentiles keyed "50", "70", ... with "n", the number of values."""
    values = list(values)
    out: dict[str, float | None] = {f"{p:g}": nearest_rank(values, p) for p in percents}
    out["n"] = len(values)
    return out


def service_level_expectation(history: History, *, percent: int = 85, days: int = 90) -> ServiceLevel:
    """ "``percent``% of stories finish within N days": N over stories finished in the last ``days`` days."""
    first, last = sle_window(history.as_of_day, days=days)
    finished = finished_stories(history, first, last)
    times = [_cycle_time(history, line, s, f).days for line, s, f in finished]
    return service_level(times, as_of_day=last, percent=percent, days=days)


def sle_window(as_of_day: date, *, days: int = 90) -> tuple[date, date]:
    """The first and last day of the service level's window: the ``days`` days ending on ``as_of_day``."""
    return as_of_day - timedelta(days=days - 1), as_of_day


def service_level(cycle_days: Iterable[int], *, as_of_day: date, percent: int = 85, days: int = 90) -> ServiceLevel:
    """The service level of the cycle times (inclusive days) of the stories finished in the window ending on
    ``as_of_day``: what :func:`service_level_expectation` computes from a replay, and the board from the
    cycle times its projection keeps.
    """
    times = list(cycle_days)
    first, last = sle_window(as_of_day, days=days)
    return ServiceLevel(percent, nearest_rank(times, percent), len(times), first, last)  # type: ignore[arg-type]


# -- Little's Law ------------------------------------------------------------------------------------


def littles_law(history: History, *, start: date | None = None, end: date | None = None) -> LittlesLaw:
    """Average WIP / average daily throughput vs the average exact cycle time over the window."""
    first, last = resolve_window(history, start, end)
    counts = daily_state_counts(history, start=first, end=last)
    finished = finished_stories(history, first, last)
    return _littles_law(history, _wip(history, counts, first, last), finished, first, last)


def _littles_law(history: History, wip_days: list[DayCount], finished: list, first: date, last: date) -> LittlesLaw:  # type: ignore[type-arg]
    days = len(wip_days)
    average_wip = sum(d.count for d in wip_days) / days
    average_throughput = len(finished) / days
    exact = [(f - s).total_seconds() / 86400 for _, s, f in finished]
    age_start, age_end = _average_age(history, first), _average_age(history, last)
    wip_start, wip_end = wip_days[0].count, wip_days[-1].count
    warnings = _littles_warnings(wip_start, wip_end, age_start, age_end)
    predicted = _ratio(average_wip, average_throughput)
    actual = sum(exact) / len(exact) if exact else None
    return LittlesLaw(
        average_wip=average_wip,
        average_throughput=average_throughput,
        predicted_cycle_days=predicted,
        actual_cycle_days=actual,
        wip_start=wip_start,
        wip_end=wip_end,
        age_start=age_start,
        age_end=age_end,
        warnings=warnings,
        days=days,
        n=len(exact),
    )


def _average_age(history: History, day: date) -> float | None:
    """Mean age of the stories in a started category at the end of ``day``."""
    moment = history.end_of_day(day)
    started = history.workflow.started_ids
    ages = [
        (day - history.day(line.started_at)).days + 1  # type: ignore[arg-type]
        for line in history.visible
        if line.state_at(moment, strict=True) in started and not line.deleted_at(moment, strict=True)
    ]
    return sum(ages) / len(ages) if ages else None


def _drifted(before: float, after: float) -> bool:
    """More than 20% apart, relative to the window's start."""
    if before == 0:
        return after != 0
    return abs(after - before) / before > 0.2


def _littles_warnings(wip_start: int, wip_end: int, age_start: float | None, age_end: float | None) -> tuple[str, ...]:
    warnings = []
    if _drifted(wip_start, wip_end):
        warnings.append(f"WIP changed from {wip_start} to {wip_end} over the window (more than 20%)")
    if age_start is not None and age_end is not None and _drifted(age_start, age_end):
        warnings.append(f"average age of WIP changed from {age_start:.1f} to {age_end:.1f} days (more than 20%)")
    return tuple(warnings)


# -- the report ----------------------------------------------------------------------------------------


def _time_in_states(history: History, finished: list) -> tuple[StateTime, ...]:  # type: ignore[type-arg]
    seconds: dict[int, float] = {}
    stories: dict[int, int] = {}
    for line, _, _ in finished:
        for state, spent in time_in_state(line, history.as_of).items():
            seconds[state] = seconds.get(state, 0.0) + spent
            stories[state] = stories.get(state, 0) + 1
    return tuple(
        StateTime(
            state=s.id, name=s.name, hours=seconds.get(s.id, 0.0) / HOUR, n=stories.get(s.id, 0), category=s.category
        )
        for s in history.workflow
    )


@gc_paused()
def flow_report(
    source: History | Iterable[Event],
    *,
    start: date | None = None,
    end: date | None = None,
    stories: Iterable[Story] | None = None,
    workflow: Iterable[State] | Workflow | None = None,
    tz: str = "UTC",
    as_of: datetime | None = None,
    percents: Sequence[float] = DEFAULT_PERCENTS,
) -> FlowReport:
    """Every flow metric over the window ``start``..``end`` (default: the 30 days ending on the as-of day).

    ``source`` is a History, or the events with ``stories``, ``workflow``, ``tz`` and ``as_of``.
    """
    history = ensure_history(source, stories=stories, workflow=workflow, tz=tz, as_of=as_of)
    first, last = resolve_window(history, start, end)
    finished = finished_stories(history, first, last)
    counts = daily_state_counts(history, start=first, end=last)
    wip_days = _wip(history, counts, first, last)
    times = tuple(_cycle_time(history, line, s, f) for line, s, f in finished)
    return FlowReport(
        as_of=history.as_of,
        start=first,
        end=last,
        n=len(finished),
        states=tuple(state.id for state in history.workflow),
        cycle_times=times,
        lead_times=tuple(_lead_time(history, line, f) for line, _, f in finished),
        percentiles=percentiles([t.days for t in times], percents),  # type: ignore[arg-type]
        throughput=tuple(_throughput(history, finished, first, last)),
        wip=tuple(wip_days),
        cfd=tuple(_cfd(history, counts, first, last)),
        work_item_age=tuple(work_item_ages(history)),
        time_in_state=_time_in_states(history, finished),
        flow_efficiency=efficiency_of(history, finished),
        service_level=service_level_expectation(history),
        littles_law=_littles_law(history, wip_days, finished, first, last),
    )
