"""The Lean wastes as measured signals, each with its figure and the stories behind it.

Signals follow the "Lean waste" table of ``METRICS.md``; each is measured over
a window of days (by default the 30 days ending on the as-of day): events are
counted when they happen in the window, per-story measures cover the stories
finished in it, and "at each sprint close" covers the sprints closed in it.
Signals the log cannot see are not guessed.

==============================================================  ==================================================
function                                                        returns
==============================================================  ==================================================
``waste_report(source, *, sprints, deliverables, start, end)``  :class:`WasteReport` with all of the below
``partially_done(history, *, sprints, start, end)``             [:class:`PartiallyDone`] at each sprint close
``waiting(history, *, start, end)``                             :class:`Waiting`: wait per state and blocked reason
``task_switching(history, *, start, end, limit=2)``             :class:`TaskSwitching` per person-day
``handoffs(history, *, start, end)``                            :class:`Handoffs`
``rework(history, *, deliverables, start, end)``                :class:`Rework`: reopens, backward moves, bugs, failing
``extra_features(history, *, deliverables, start, end)``        :class:`ExtraFeatures`: cancelled after Start, retired
``backlog_churn(history, *, sprints, start, end)``              :class:`BacklogChurn`: scope churn, rank changes
``relearning(history, *, start, end, gap_days=5)``              :class:`Relearning`: resumed after a silence
``waste_trend(history, *, sprints, last=7)``                    [:class:`SprintWaste`]: each headline per sprint
``history_at(history, moment)``                                 the History as it stood at ``moment``
==============================================================  ==================================================

>>> from datetime import date, datetime, timezone
>>> from sprintboard.records import Event, State, Story
>>> from sprintboard.history import replay
>>> utc = timezone.utc
>>> def at(day, hour=9):
...     return datetime(2024, 3, day, hour, tzinfo=utc)
>>> states = [State(1, "Ready", "todo", 1), State(2, "Doing", "active", 2), State(3, "Done", "done", 3)]
>>> stories = [Story(1, "DATA-1", "story", at(1))]
>>> events = [
...     Event(1, 1, "created", at(1), to_value={"state": 1, "assignee": "ann"}),
...     Event(2, 1, "state", at(2), to_value=2),
...     Event(3, 1, "blocked", at(3), to_value="waiting for data access"),
...     Event(4, 1, "unblocked", at(4)),
...     Event(5, 1, "state", at(5), to_value=3),
...     Event(6, 1, "state", at(6), to_value=2),
...     Event(7, 1, "assignee", at(12), to_value="bob"),
...     Event(8, 1, "state", at(13), to_value=3),
... ]
>>> history = replay(events, stories=stories, workflow=states, as_of=at(14))
>>> window = {"start": date(2024, 3, 1), "end": date(2024, 3, 14)}
>>> [(r.reason, r.hours) for r in waiting(history, **window).by_reason]
[('waiting for data access', 24.0)]
>>> r = rework(history, **window)
>>> r.reopens, r.reopen_keys, r.finished, r.reopen_ratio
(1, ('DATA-1',), 1, 1.0)
>>> g = relearning(history, **window)
>>> g.gaps, g.resumed_by_other
(1, 1)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sprintboard import flow
from sprintboard.flow import nearest_rank, resolve_window, state_intervals, story_start
from sprintboard.history import History, StoryTimeline, ensure_history, gc_paused
from sprintboard.records import Deliverable, Event, Sprint, State, Story, Workflow
from sprintboard.sprints import SprintReport, report_at

__all__ = [
    "BacklogChurn",
    "CancelledStory",
    "ExtraFeatures",
    "Handoffs",
    "PartiallyDone",
    "PersonDay",
    "ReasonWait",
    "Relearning",
    "Rework",
    "SprintChurn",
    "SprintWaste",
    "StateWait",
    "TaskSwitching",
    "Waiting",
    "WASTES",
    "WasteFigure",
    "WasteReport",
    "backlog_churn",
    "extra_features",
    "handoffs",
    "history_at",
    "partially_done",
    "relearning",
    "rework",
    "task_switching",
    "waiting",
    "waste_report",
    "waste_trend",
]

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class PartiallyDone:
    sprint_id: int
    name: str
    closed_at: datetime
    wip: int  # stories in a started category at the close
    wip_keys: tuple[str, ...]
    total_age_days: int
    carry_over: int
    carry_over_points: float
    carry_over_keys: tuple[str, ...]
    sle_days: int | None  # the 85th percentile cycle time of the 90 days before the close
    older_than_sle: int
    older_than_sle_share: float | None
    older_than_sle_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StateWait:
    state: int
    name: str
    hours: float
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReasonWait:
    reason: str
    hours: float
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Waiting:
    by_state: tuple[StateWait, ...]
    by_reason: tuple[ReasonWait, ...]
    wait_hours: float
    flow_efficiency: float | None
    n: int  # stories finished in the window


@dataclass(frozen=True, slots=True)
class PersonDay:
    person: str
    date: date
    count: int
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TaskSwitching:
    person_days: int  # person-days with at least one active story
    mean_stories: float | None
    limit: int
    flagged: tuple[PersonDay, ...]  # person-days with more than ``limit`` stories


@dataclass(frozen=True, slots=True)
class Handoffs:
    changes_while_started: int
    change_keys: tuple[str, ...]
    assignees_per_story: dict[str, int]  # key -> distinct assignees between Start and Finish
    mean_assignees: float | None
    n: int  # stories finished in the window


@dataclass(frozen=True, slots=True)
class Rework:
    reopens: int
    reopen_keys: tuple[str, ...]
    finished: int
    reopen_ratio: float | None
    backward_moves: int
    backward_keys: tuple[str, ...]
    bugs_created: int
    bug_keys: tuple[str, ...]
    bugs_per_finished: float | None
    # Defects that reached consumers: a published deliverable whose bound pipeline run failed, in the window.
    failed_deliverables: int = 0
    failed_deliverable_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CancelledStory:
    key: str
    cancelled_at: datetime
    active_hours: float


@dataclass(frozen=True, slots=True)
class ExtraFeatures:
    cancelled_after_start: tuple[CancelledStory, ...]
    active_hours: float
    n: int
    retired_unpublished: tuple[str, ...]  # deliverable names


@dataclass(frozen=True, slots=True)
class SprintChurn:
    sprint_id: int
    name: str
    scope_churn: float | None
    added_points: float
    removed_points: float
    committed_points: float


@dataclass(frozen=True, slots=True)
class BacklogChurn:
    sprints: tuple[SprintChurn, ...]
    reranked_unstarted: tuple[str, ...]  # never started, 3 or more rank changes in the window
    n: int


@dataclass(frozen=True, slots=True)
class Relearning:
    gaps: int  # silences of more than ``gap_days`` while started, then resumed in the window
    keys: tuple[str, ...]
    resumed_by_other: int
    other_keys: tuple[str, ...]
    gap_days: int


@dataclass(frozen=True, slots=True)
class WasteReport:
    as_of: datetime
    start: date
    end: date
    partially_done: tuple[PartiallyDone, ...]
    waiting: Waiting
    task_switching: TaskSwitching
    handoffs: Handoffs
    rework: Rework
    extra_features: ExtraFeatures
    backlog: BacklogChurn
    relearning: Relearning


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def _in(history: History, moment: datetime, start: date, end: date) -> bool:
    return start <= history.day(moment) <= end


def _sorted_keys(keys: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(keys), key=_key_order))


def _key_order(key: str) -> tuple[str, int, str]:
    prefix, _, number = key.rpartition("-")
    return (prefix, int(number), "") if number.isdigit() else (key, -1, key)


# -- partially done work ------------------------------------------------------------------------------------


def _closed_in(history: History, sprints: Iterable[Sprint], start: date, end: date) -> list[Sprint]:
    found = [
        s
        for s in sprints
        if s.started_at is not None
        and s.closed_at is not None
        and s.closed_at <= history.as_of
        and _in(history, s.closed_at, start, end)
    ]
    return sorted(found, key=lambda s: (s.closed_at, s.id))


def partially_done(
    history: History, *, sprints: Iterable[Sprint], start: date | None = None, end: date | None = None
) -> list[PartiallyDone]:
    """At each close of a sprint closed in the window: WIP, its age, carry-over, WIP older than the SLE."""
    first, last = resolve_window(history, start, end)
    return [
        _partially_done(history, report_at(history, s, s.closed_at))  # type: ignore[arg-type]  # closed: has closed_at
        for s in _closed_in(history, sprints, first, last)
    ]


def _partially_done(history: History, report: SprintReport) -> PartiallyDone:
    close, _day = report.closed_at, history.day(report.closed_at)
    ages = _wip_ages_at(history, close)
    sle = _sle_at(history, close)
    older = [key for key, age in ages.items() if sle is not None and age > sle]
    return PartiallyDone(
        report.sprint_id,
        report.name,
        close,
        len(ages),
        _sorted_keys(ages),
        sum(ages.values()),
        len(report.not_completed),
        report.not_completed_points,
        report.not_completed,
        sle,
        len(older),
        _ratio(len(older), len(ages)) if sle is not None else None,
        _sorted_keys(older),
    )


def _visible_at(history: History, moment: datetime) -> Iterable[StoryTimeline]:
    return (line for line in history.timelines.values() if line.exists_at(moment) and not line.deleted_at(moment))


def _wip_ages_at(history: History, moment: datetime) -> dict[str, int]:
    day, started = history.day(moment), history.workflow.started_ids
    return {
        line.key: (day - history.day(line.started_at)).days + 1  # type: ignore[arg-type]
        for line in _visible_at(history, moment)
        if line.state_at(moment) in started
    }


def _sle_at(history: History, moment: datetime, *, percent: int = 85, days: int = 90) -> int | None:
    """The SLE as seen at ``moment``: nearest-rank cycle time of the stories finished in the 90 days before."""
    last = history.day(moment)
    first = last - timedelta(days=days - 1)
    times = []
    for line in _visible_at(history, moment):
        finish = line.finish_at(moment, history.workflow.done_ids)
        if finish is not None and first <= history.day(finish) <= last:
            begin = line.started_at if line.started_at is not None and line.started_at <= moment else finish
            times.append((history.day(finish) - history.day(begin)).days + 1)
    return nearest_rank(times, percent)  # type: ignore[return-value]


# -- waiting ------------------------------------------------------------------------------------------------


def waiting(history: History, *, start: date | None = None, end: date | None = None) -> Waiting:
    """Wait time (as in flow efficiency) of the stories finished in the window, per state and per blocked reason."""
    first, last = resolve_window(history, start, end)
    finished = flow.finished_stories(history, first, last)
    by_state: dict[int, list[Any]] = {}  # [seconds, story keys] per state
    by_reason: dict[str, list[Any]] = {}
    for line, s, f in finished:
        _add_waits(history.workflow, line, s, f, by_state, by_reason)
    efficiency = flow.efficiency_of(history, finished)
    states = tuple(
        StateWait(st.id, st.name, by_state[st.id][0] / HOUR, _sorted_keys(by_state[st.id][1]))
        for st in history.workflow
        if st.id in by_state
    )
    reasons = tuple(ReasonWait(r, v[0] / HOUR, _sorted_keys(v[1])) for r, v in sorted(by_reason.items()))
    return Waiting(states, reasons, efficiency.wait_hours, efficiency.efficiency, len(finished))


def _blocked_overlaps(line: StoryTimeline, lo: datetime, hi: datetime) -> Iterable[tuple[str, float]]:
    for b_lo, b_hi, reason in line.blocks:
        b_hi = hi if b_hi is None else b_hi
        if b_lo < hi and b_hi > lo:
            yield reason, (min(hi, b_hi) - max(lo, b_lo)).total_seconds()


def _add(bucket: dict[Any, list[Any]], key: object, seconds: float, story: str) -> None:
    if seconds > 0:
        entry = bucket.setdefault(key, [0.0, []])
        entry[0] += seconds
        entry[1].append(story)


def _add_waits(
    workflow: Workflow,
    line: StoryTimeline,
    s: datetime,
    f: datetime,
    by_state: dict[int, list[Any]],
    by_reason: dict[str, list[Any]],
) -> None:
    for lo, hi, state in state_intervals(line.states, f):
        if hi <= s:
            continue
        lo = max(lo, s)
        blocked = list(_blocked_overlaps(line, lo, hi)) if state in workflow.started_ids else []
        for reason, seconds in blocked:
            _add(by_reason, reason, seconds, line.key)
        wait = sum(b for _, b in blocked) if state in workflow.active_ids else (hi - lo).total_seconds()
        _add(by_state, state, wait, line.key)


# -- task switching -----------------------------------------------------------------------------------------


def task_switching(
    history: History, *, start: date | None = None, end: date | None = None, limit: int = 2
) -> TaskSwitching:
    """Per person-day: distinct stories assigned to them while in ``active`` at some moment that day."""
    first, last = resolve_window(history, start, end)
    window = (history.end_of_day(first - timedelta(days=1)), min(history.end_of_day(last), history.as_of))
    days: dict[tuple[str, date], set[str]] = {}
    for line in history.visible:
        for person, lo, hi in _assigned_active(history.workflow, line, *window):
            for day in _days_touched(history, lo, hi):
                days.setdefault((person, day), set()).add(line.key)
    flagged = tuple(
        PersonDay(person, day, len(keys), _sorted_keys(keys))
        for (person, day), keys in sorted(days.items())
        if len(keys) > limit
    )
    mean = _ratio(sum(len(k) for k in days.values()), len(days))
    return TaskSwitching(len(days), mean, limit, flagged)


def _assigned_active(
    workflow: Workflow, line: StoryTimeline, lo: datetime, hi: datetime
) -> Iterable[tuple[str, datetime, datetime]]:
    """(person, from, to) while the story is in ``active`` and assigned to that person, within lo..hi."""
    for a_lo, a_hi, state in state_intervals(line.states, hi):
        if state not in workflow.active_ids or a_hi <= lo:
            continue
        for p_lo, p_hi, person in state_intervals(line.assignees, a_hi):
            begin, finish = max(a_lo, p_lo, lo), min(a_hi, p_hi)
            if person is not None and begin < finish:
                yield person, begin, finish  # type: ignore[misc]


def _days_touched(history: History, lo: datetime, hi: datetime) -> Iterable[date]:
    """The days an interval [lo, hi) has a moment in."""
    first, last = history.day(lo), history.day(hi - timedelta(microseconds=1))
    return (first + timedelta(days=i) for i in range((last - first).days + 1))


# -- handoffs -----------------------------------------------------------------------------------------------


def handoffs(history: History, *, start: date | None = None, end: date | None = None) -> Handoffs:
    """Assignee changes in the window while started; distinct assignees per story finished in the window."""
    first, last = resolve_window(history, start, end)
    started, changes = history.workflow.started_ids, []
    for line in history.visible:
        for (moment, person), (_, previous) in zip(line.assignees[1:], line.assignees, strict=False):
            if person != previous and _in(history, moment, first, last) and line.state_at(moment) in started:
                changes.append(line.key)
    per_story = {line.key: _assignees_between(line, s, f) for line, s, f in flow.finished_stories(history, first, last)}
    mean = _ratio(sum(per_story.values()), len(per_story))
    return Handoffs(len(changes), _sorted_keys(changes), per_story, mean, len(per_story))


def _assignees_between(line: StoryTimeline, s: datetime, f: datetime) -> int:
    people = {line.assignee_at(s)} | {person for moment, person in line.assignees if s < moment <= f}
    return len(people - {None})


# -- defects and rework -------------------------------------------------------------------------------------


def _transitions(line: StoryTimeline) -> Iterable[tuple[datetime, int, int]]:
    for (moment, state), (_, previous) in zip(line.states[1:], line.states, strict=False):
        yield moment, previous, state


def rework(
    history: History, *, deliverables: Iterable[Deliverable] = (), start: date | None = None, end: date | None = None
) -> Rework:
    """Reopens per finished story, backward moves while started, bugs created per finished story, and the
    published deliverables whose bound pipeline run failed (each flagging counts once)."""
    first, last = resolve_window(history, start, end)
    workflow, reopens, backward = history.workflow, [], []
    for line in history.visible:
        for moment, previous, state in _transitions(line):
            if not _in(history, moment, first, last):
                continue
            if previous in workflow.done_ids and state not in workflow.done_ids:
                reopens.append(line.key)
            elif previous in workflow.started_ids and workflow.positions[state] < workflow.positions[previous]:
                backward.append(line.key)
    finished = len(flow.finished_stories(history, first, last))
    bugs = [
        line.key for line in history.visible if line.story.kind == "bug" and _in(history, line.created_at, first, last)
    ]
    failing = [
        d.name
        for d in deliverables
        for moment in d.failed_runs
        if moment <= history.as_of and _in(history, moment, first, last)
    ]
    return Rework(
        len(reopens), _sorted_keys(reopens), finished, _ratio(len(reopens), finished),
        len(backward), _sorted_keys(backward), len(bugs), _sorted_keys(bugs), _ratio(len(bugs), finished),
        failed_deliverables=len(failing), failed_deliverable_names=tuple(sorted(set(failing))),
    )  # fmt: skip


# -- extra features -----------------------------------------------------------------------------------------


def extra_features(
    history: History, *, deliverables: Iterable[Deliverable] = (), start: date | None = None, end: date | None = None
) -> ExtraFeatures:
    """Stories moved to ``cancelled`` in the window after their Start, with their active time;
    deliverables retired in the window without having been published."""
    first, last = resolve_window(history, start, end)
    cancelled = [c for line in history.visible if (c := _cancelled_after_start(history, line, first, last))]
    cancelled.sort(key=lambda c: (c.cancelled_at, c.key))
    retired = tuple(
        d.name
        for d in deliverables
        if d.retired_at is not None
        and d.retired_at <= history.as_of
        and _in(history, d.retired_at, first, last)
        and (d.published_at is None or d.published_at > d.retired_at)
    )
    return ExtraFeatures(tuple(cancelled), sum(c.active_hours for c in cancelled), len(cancelled), retired)


def _cancelled_after_start(history: History, line: StoryTimeline, first: date, last: date) -> CancelledStory | None:
    workflow, found = history.workflow, None
    for moment, previous, state in _transitions(line):
        if (
            state in workflow.cancelled_ids
            and previous not in workflow.cancelled_ids
            and _in(history, moment, first, last)
        ):
            found = moment
    begin = _effective_start(line, workflow, found) if found else None
    if found is None or begin is None:
        return None
    active, _ = flow.active_wait_seconds(line, workflow, start=begin, finish=found)
    return CancelledStory(line.key, found, active / HOUR)


def _effective_start(line: StoryTimeline, workflow: Workflow, before: datetime) -> datetime | None:
    """Start as of ``before``: the first entry into a started category, else the first entry into done."""
    if line.started_at is not None and line.started_at <= before:
        return line.started_at
    return next((m for m, s in line.states if m <= before and s in workflow.done_ids), None)


# -- mismanaging the backlog --------------------------------------------------------------------------------


def backlog_churn(
    history: History, *, sprints: Iterable[Sprint] = (), start: date | None = None, end: date | None = None
) -> BacklogChurn:
    """Scope churn of each sprint closed in the window; never-started stories re-ranked 3+ times in it."""
    first, last = resolve_window(history, start, end)
    churn = tuple(_churn(report_at(history, s, s.closed_at)) for s in _closed_in(history, sprints, first, last))  # type: ignore[arg-type]
    reranked = [
        line.key
        for line in history.visible
        if story_start(line) is None and sum(1 for m in line.ranks if _in(history, m, first, last)) >= 3
    ]
    return BacklogChurn(churn, _sorted_keys(reranked), len(reranked))


def _churn(report: SprintReport) -> SprintChurn:
    return SprintChurn(
        report.sprint_id,
        report.name,
        report.scope_churn,
        report.added_points,
        report.removed_points,
        report.committed_points,
    )


# -- relearning ---------------------------------------------------------------------------------------------


def relearning(
    history: History, *, start: date | None = None, end: date | None = None, gap_days: int = 5
) -> Relearning:
    """Started stories with no event for more than ``gap_days`` that then resumed in the window,
    and how many resumed under a different assignee."""
    first, last = resolve_window(history, start, end)
    gap, started = timedelta(days=gap_days), history.workflow.started_ids
    keys, others = [], []
    for line in history.visible:
        for before, after in zip(line.event_times, line.event_times[1:], strict=False):
            if after - before > gap and _in(history, after, first, last) and line.state_at(before) in started:
                keys.append(line.key)
                if line.assignee_at(after) != line.assignee_at(before):
                    others.append(line.key)
    return Relearning(len(keys), _sorted_keys(keys), len(others), _sorted_keys(others), gap_days)


# -- the report ---------------------------------------------------------------------------------------------


@gc_paused()
def waste_report(
    source: History | Iterable[Event],
    *,
    sprints: Iterable[Sprint] = (),
    deliverables: Iterable[Deliverable] = (),
    start: date | None = None,
    end: date | None = None,
    stories: Iterable[Story] | None = None,
    workflow: Iterable[State] | Workflow | None = None,
    tz: str = "UTC",
    as_of: datetime | None = None,
    switching_limit: int = 2,
    gap_days: int = 5,
) -> WasteReport:
    """Every Lean waste signal over the window ``start``..``end`` (default: 30 days ending on the as-of day)."""
    history = ensure_history(source, stories=stories, workflow=workflow, tz=tz, as_of=as_of)
    first, last = resolve_window(history, start, end)
    window = {"start": first, "end": last}
    sprints, deliverables = list(sprints), list(deliverables)
    return WasteReport(
        as_of=history.as_of,
        start=first,
        end=last,
        partially_done=tuple(partially_done(history, sprints=sprints, **window)),
        waiting=waiting(history, **window),
        task_switching=task_switching(history, limit=switching_limit, **window),
        handoffs=handoffs(history, **window),
        rework=rework(history, deliverables=deliverables, **window),
        extra_features=extra_features(history, deliverables=deliverables, **window),
        backlog=backlog_churn(history, sprints=sprints, **window),
        relearning=relearning(history, gap_days=gap_days, **window),
    )


# -- the trend across sprints -------------------------------------------------------------------------------

WASTES = (
    "partially_done", "waiting", "task_switching", "handoffs", "rework", "extra_features", "backlog", "relearning",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class WasteFigure:
    """One waste's headline figure over one sprint: the value, what it is computed over, the stories behind it."""

    value: float | None
    n: int
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SprintWaste:
    """Every waste's headline figure over one closed sprint's window (start day .. close day), as of its close.

    ==================  =====================================================  ==============================================
    field               value                                                  n
    ==================  =====================================================  ==============================================
    ``partially_done``  carry-over stories at the close                        stories in the sprint at its close
    ``waiting``         wait hours of the stories finished in the window       stories finished in the window
    ``task_switching``  person-days with more than ``limit`` active stories    person-days with an active story
    ``handoffs``        assignee changes while started                         stories finished in the window
    ``rework``          reopens / stories finished (None with none finished)   stories finished in the window
    ``extra_features``  stories cancelled after their Start                    those stories
    ``backlog``         the sprint's scope churn (None if nothing committed)   stories committed at its start
    ``relearning``      silences of more than ``gap_days`` then resumed        distinct stories resumed
    ==================  =====================================================  ==============================================
    """

    sprint_id: int
    name: str
    start: date
    end: date
    closed_at: datetime
    partially_done: WasteFigure
    waiting: WasteFigure
    task_switching: WasteFigure
    handoffs: WasteFigure
    rework: WasteFigure
    extra_features: WasteFigure
    backlog: WasteFigure
    relearning: WasteFigure


def history_at(history: History, moment: datetime) -> History:
    """The history as it stood at ``moment`` (<= its as-of): what a replay up to ``moment`` gives, without the log.

    >>> from datetime import datetime, timezone
    >>> from sprintboard.records import Event, State, Story
    >>> from sprintboard.history import replay
    >>> t = [datetime(2024, 3, d, 9, tzinfo=timezone.utc) for d in range(1, 6)]
    >>> flow_ = [State(1, "Ready", "todo", 1), State(2, "Doing", "active", 2), State(3, "Done", "done", 3)]
    >>> log = [Event(1, 1, "created", t[0], to_value={"state": 1}), Event(2, 1, "state", t[1], to_value=2),
    ...        Event(3, 1, "state", t[3], to_value=3)]
    >>> full = replay(log, stories=[Story(1, "DATA-1", "story", t[0])], workflow=flow_, as_of=t[4])
    >>> line = history_at(full, t[2]).timelines[1]
    >>> line.state, line.started_at.day, line.finish, history_at(full, t[2]).as_of.day
    (2, 2, None, 3)
    """
    if moment >= history.as_of:
        return history
    done = history.workflow.done_ids
    lines: dict[int, StoryTimeline] = {}
    members: dict[int, set[int]] = {}
    for story_id, line in history.timelines.items():
        if line.created_at > moment:
            continue
        cut = _cut(line, moment, done)
        lines[story_id] = cut
        for _, sprint in cut.sprints:
            if sprint is not None:
                members.setdefault(sprint, set()).add(story_id)
    count = sum(len(line.event_times) for line in lines.values())
    frozen = {sprint: frozenset(ids) for sprint, ids in members.items()}
    return History(history.workflow, history.tz, history.zone, moment, lines, frozen, count)


def _upto(changes: list[Any], moment: datetime) -> list[Any]:
    return [change for change in changes if change[0] <= moment]


def _cut(line: StoryTimeline, moment: datetime, done: frozenset[int]) -> StoryTimeline:
    snapshot = {"state": line.states[0][1], "sprint": line.sprints[0][1], "points": line.points[0][1],
                "assignee": line.assignees[0][1]}  # fmt: skip
    cut = StoryTimeline(line.story, line.created_at, snapshot)
    cut.states, cut.sprints = _upto(line.states, moment), _upto(line.sprints, moment)
    cut.points, cut.assignees = _upto(line.points, moment), _upto(line.assignees, moment)
    cut.blocks = [
        (lo, hi if hi is not None and hi <= moment else None, why) for lo, hi, why in line.blocks if lo <= moment
    ]
    cut.deletions = [(lo, hi if hi is not None and hi <= moment else None) for lo, hi in line.deletions if lo <= moment]
    cut.ranks = [m for m in line.ranks if m <= moment]
    cut.event_times = [m for m in line.event_times if m <= moment]
    cut.started_at = line.started_at if line.started_at is not None and line.started_at <= moment else None
    cut.finish = line.finish_at(moment, done)
    cut._last_done = cut.finish
    return cut


def waste_trend(
    history: History,
    *,
    sprints: Iterable[Sprint],
    last: int = 7,
    switching_limit: int = 2,
    gap_days: int = 5,
) -> list[SprintWaste]:
    """Each waste's headline figure over each of the last ``last`` sprints closed by as-of, oldest first.

    A sprint's window runs from the day of its start to the day of its close, and every figure is
    computed as of the close (nothing later is seen), with the same definitions as the report.
    """
    closed = sorted(
        (s for s in sprints if s.started_at is not None and s.closed_at is not None and s.closed_at <= history.as_of),
        key=lambda s: (s.closed_at, s.id),
    )
    chosen = closed[max(0, len(closed) - last) :] if last > 0 else []
    return [_sprint_waste(history_at(history, s.closed_at), s, switching_limit, gap_days) for s in chosen]  # type: ignore[arg-type]


def _sprint_waste(history: History, sprint: Sprint, switching_limit: int, gap_days: int) -> SprintWaste:
    close: datetime = sprint.closed_at  # type: ignore[assignment]
    first = min(history.day(sprint.started_at), history.day(close))  # type: ignore[arg-type]
    last = history.day(close)
    report = report_at(history, sprint, close)
    size = len(report.completed) + len(report.cancelled) + len(report.not_completed)
    wait = waiting(history, start=first, end=last)
    switching = task_switching(history, limit=switching_limit, start=first, end=last)
    hands = handoffs(history, start=first, end=last)
    again = rework(history, start=first, end=last)
    extra = extra_features(history, start=first, end=last)
    gaps = relearning(history, gap_days=gap_days, start=first, end=last)
    return SprintWaste(
        sprint.id,
        sprint.name,
        first,
        last,
        close,
        WasteFigure(len(report.not_completed), size, report.not_completed),
        WasteFigure(wait.wait_hours, wait.n, _sorted_keys(k for s in wait.by_state for k in s.keys)),
        WasteFigure(
            len(switching.flagged), switching.person_days, _sorted_keys(k for p in switching.flagged for k in p.keys)
        ),
        WasteFigure(hands.changes_while_started, hands.n, hands.change_keys),
        WasteFigure(again.reopen_ratio, again.finished, again.reopen_keys),
        WasteFigure(extra.n, extra.n, tuple(c.key for c in extra.cancelled_after_start)),
        WasteFigure(report.scope_churn, len(report.committed), _sorted_keys((*report.added, *report.removed))),
        WasteFigure(gaps.gaps, len(gaps.keys), gaps.keys),
    )
