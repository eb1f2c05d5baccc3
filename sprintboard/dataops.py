"""DataOps metrics: time to insight, validation lag, deliverable throughput per sprint.

A deliverable's stories are those linked to it (``Story.deliverable_id``) that
exist and are not deleted at its publication; their Start and Finish are read
as they stood at the publication. Deliverables published after as-of count as
unpublished.

=================================================================  ============================================
function                                                           returns
=================================================================  ============================================
``dataops_report(source, *, deliverables, sprints, ...)``          :class:`DataOpsReport`
``deliverable_timings(history, *, deliverables)``                  [:class:`DeliverableTiming`] per published one
``deliverable_throughput(history, *, deliverables, sprints)``      [:class:`SprintDeliverables`] per sprint, by kind
``timings_by_kind(timings)``                                       [:class:`KindTimings`]: the distribution per kind
``published_between(deliverables, start, end)``                    the deliverables published in (start, end]
``published_in_sprint(deliverables, sprint, as_of)``               a sprint's "published this sprint"
=================================================================  ============================================

A story's deliverable is its record's ``deliverable_id`` (the loader fills it from the story's link).
``links`` (story id → deliverable id), where a function takes it, overrides that, for a caller
holding story records without it.

* Time to insight: the first Start of its stories → publication, inclusive days; None when none started.
* Validation lag: the last Finish of its stories → publication, inclusive days; None when none finished.
* Deliverable throughput: deliverables published between a sprint's start and its close (or as-of), by kind.

>>> from datetime import date, datetime, timezone
>>> from sprintboard.records import Deliverable, Event, State, Story
>>> from sprintboard.history import replay
>>> utc = timezone.utc
>>> def at(day, hour=9):
...     return datetime(2024, 3, day, hour, tzinfo=utc)
>>> states = [State(1, "Ready", "todo", 1), State(2, "Doing", "active", 2), State(3, "Done", "done", 3)]
>>> stories = [Story(1, "DATA-1", "story", at(1), deliverable_id=5)]
>>> events = [
...     Event(1, 1, "created", at(1), to_value={"state": 1}),
...     Event(2, 1, "state", at(2), to_value=2),
...     Event(3, 1, "state", at(6), to_value=3),
... ]
>>> history = replay(events, stories=stories, workflow=states, as_of=at(20))
>>> dashboard = Deliverable(5, "Churn dashboard", "dashboard", published_at=at(9))
>>> [(t.name, t.time_to_insight_days, t.validation_lag_days) for t in deliverable_timings(history, deliverables=[dashboard])]
[('Churn dashboard', 8, 4)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sprintboard.flow import percentiles
from sprintboard.history import History, StoryTimeline, ensure_history
from sprintboard.records import Deliverable, Event, Sprint, State, Story, Workflow

__all__ = [
    "DataOpsReport",
    "DeliverableTiming",
    "KindTimings",
    "SprintDeliverables",
    "dataops_report",
    "deliverable_throughput",
    "deliverable_timings",
    "published_between",
    "published_in_sprint",
    "timings_by_kind",
]


@dataclass(frozen=True, slots=True)
class DeliverableTiming:
    deliverable_id: int
    name: str
    kind: str
    published_at: datetime
    first_start: datetime | None
    last_finish: datetime | None
    time_to_insight_days: int | None
    validation_lag_days: int | None
    n: int  # stories linked at publication


@dataclass(frozen=True, slots=True)
class SprintDeliverables:
    sprint_id: int
    name: str
    counts: dict[str, int]  # kind -> deliverables published during the sprint
    n: int


@dataclass(frozen=True, slots=True)
class KindTimings:
    kind: str
    n: int  # deliverables of this kind published by as-of
    time_to_insight: dict[str, float | None]  # nearest-rank percentiles with n
    validation_lag: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class DataOpsReport:
    as_of: datetime
    deliverables: tuple[DeliverableTiming, ...]
    time_to_insight: dict[str, float | None]  # nearest-rank percentiles with n
    validation_lag: dict[str, float | None]
    throughput: tuple[SprintDeliverables, ...]
    by_kind: tuple[KindTimings, ...] = ()


def _linked(history: History, links: Mapping[int, int] | None = None) -> dict[int, list[StoryTimeline]]:
    by_deliverable: dict[int, list[StoryTimeline]] = {}
    for line in history.timelines.values():
        deliverable_id = line.story.deliverable_id if links is None else links.get(line.story.id)
        if deliverable_id is not None:
            by_deliverable.setdefault(deliverable_id, []).append(line)
    return by_deliverable


def _published(history: History, deliverable: Deliverable) -> bool:
    return deliverable.published_at is not None and deliverable.published_at <= history.as_of


def deliverable_timings(
    history: History, *, deliverables: Iterable[Deliverable], links: Mapping[int, int] | None = None
) -> list[DeliverableTiming]:
    """Time to insight and validation lag of each deliverable published by as-of, in publication order."""
    linked = _linked(history, links)
    published = sorted((d for d in deliverables if _published(history, d)), key=lambda d: (d.published_at, d.id))
    return [_timing(history, d, linked.get(d.id, [])) for d in published]


def _timing(history: History, deliverable: Deliverable, lines: list[StoryTimeline]) -> DeliverableTiming:
    moment: datetime = deliverable.published_at  # type: ignore[assignment]
    present = [line for line in lines if line.exists_at(moment) and not line.deleted_at(moment)]
    finishes = [f for line in present if (f := line.finish_at(moment, history.workflow.done_ids)) is not None]
    starts = [line.started_at for line in present if line.started_at is not None and line.started_at <= moment]
    starts += finishes  # a story finished without being started has Start = Finish
    first, last = (min(starts) if starts else None), (max(finishes) if finishes else None)
    return DeliverableTiming(
        deliverable.id,
        deliverable.name,
        deliverable.kind,
        moment,
        first,
        last,
        _inclusive_days(history, first, moment),
        _inclusive_days(history, last, moment),
        len(present),
    )


def _inclusive_days(history: History, begin: datetime | None, end: datetime) -> int | None:
    return None if begin is None else (history.day(end) - history.day(begin)).days + 1


def timings_by_kind(timings: Iterable[DeliverableTiming]) -> list[KindTimings]:
    """The distribution of time to insight and validation lag per kind, kinds in alphabetical order.

    >>> from datetime import datetime, timezone
    >>> moment = datetime(2024, 3, 9, tzinfo=timezone.utc)
    >>> rows = [DeliverableTiming(1, "A", "dashboard", moment, None, None, 8, 4, 2),
    ...         DeliverableTiming(2, "B", "dashboard", moment, None, None, None, None, 0)]
    >>> [(k.kind, k.n, k.time_to_insight["50"], k.time_to_insight["n"]) for k in timings_by_kind(rows)]
    [('dashboard', 2, 8, 1)]
    """
    groups: dict[str, list[DeliverableTiming]] = {}
    for timing in timings:
        groups.setdefault(timing.kind, []).append(timing)
    return [
        KindTimings(
            kind,
            len(rows),
            percentiles(t.time_to_insight_days for t in rows if t.time_to_insight_days is not None),
            percentiles(t.validation_lag_days for t in rows if t.validation_lag_days is not None),
        )
        for kind, rows in sorted(groups.items())
    ]


def published_between(deliverables: Iterable[Deliverable], start: datetime, end: datetime) -> list[Deliverable]:
    """The deliverables published after ``start`` and up to ``end`` (a sprint's "published this sprint"), in order."""
    chosen = [d for d in deliverables if d.published_at is not None and start < d.published_at <= end]
    return sorted(chosen, key=lambda d: (d.published_at, d.id))


def _sprint_end(sprint: Sprint, as_of: datetime) -> datetime:
    """A sprint's close, or ``as_of`` while it is open (or closed after as-of)."""
    return sprint.closed_at if sprint.closed_at is not None and sprint.closed_at <= as_of else as_of


def published_in_sprint(deliverables: Iterable[Deliverable], sprint: Sprint, as_of: datetime) -> list[Deliverable]:
    """The deliverables published between the sprint's start and its close (or ``as_of``), in order;
    none for a sprint not started by ``as_of``.

    >>> from datetime import date, datetime, timezone
    >>> def at(day):
    ...     return datetime(2024, 3, day, 12, tzinfo=timezone.utc)
    >>> sprint = Sprint(1, "Sprint 1", date(2024, 3, 4), date(2024, 3, 15), at(4), at(15))
    >>> shipped = [Deliverable(1, "Early", "report", published_at=at(2)), Deliverable(2, "In", "dataset", published_at=at(9)),
    ...            Deliverable(3, "At close", "dashboard", published_at=at(15)), Deliverable(4, "After", "report", published_at=at(16))]
    >>> [d.name for d in published_in_sprint(shipped, sprint, as_of=at(20))]
    ['In', 'At close']
    >>> [d.name for d in published_in_sprint(shipped, sprint, as_of=at(10))]
    ['In']
    """
    if sprint.started_at is None or sprint.started_at > as_of:
        return []
    return published_between(deliverables, sprint.started_at, _sprint_end(sprint, as_of))


def deliverable_throughput(
    history: History, *, deliverables: Iterable[Deliverable], sprints: Iterable[Sprint]
) -> list[SprintDeliverables]:
    """Deliverables published during each started sprint (start < publication <= close or as-of), by kind."""
    published = [d for d in deliverables if _published(history, d)]
    out = []
    for sprint in sorted((s for s in sprints if s.started_at is not None), key=lambda s: (s.started_at, s.id)):
        if sprint.started_at > history.as_of:  # type: ignore[operator]
            continue
        close = _sprint_end(sprint, history.as_of)
        counts: dict[str, int] = {}
        for d in published:
            if sprint.started_at < d.published_at <= close:  # type: ignore[operator]
                counts[d.kind] = counts.get(d.kind, 0) + 1
        out.append(SprintDeliverables(sprint.id, sprint.name, dict(sorted(counts.items())), sum(counts.values())))
    return out


def dataops_report(
    source: History | Iterable[Event],
    *,
    deliverables: Iterable[Deliverable],
    sprints: Iterable[Sprint] = (),
    stories: Iterable[Story] | None = None,
    workflow: Iterable[State] | Workflow | None = None,
    tz: str = "UTC",
    as_of: datetime | None = None,
    links: Mapping[int, int] | None = None,
) -> DataOpsReport:
    """Time to insight and validation lag per deliverable (with percentiles, overall and by kind), and throughput per sprint."""
    history = ensure_history(source, stories=stories, workflow=workflow, tz=tz, as_of=as_of)
    deliverables = list(deliverables)
    timings = deliverable_timings(history, deliverables=deliverables, links=links)
    insight = [t.time_to_insight_days for t in timings if t.time_to_insight_days is not None]
    lag = [t.validation_lag_days for t in timings if t.validation_lag_days is not None]
    return DataOpsReport(
        history.as_of,
        tuple(timings),
        percentiles(insight),
        percentiles(lag),
        tuple(deliverable_throughput(history, deliverables=deliverables, sprints=sprints)),
        tuple(timings_by_kind(timings)),
    )
