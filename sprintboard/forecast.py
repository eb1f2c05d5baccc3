"""Monte Carlo forecasts from daily throughput: "how many by date" and "when will N be done".

The throughput history is the daily throughput of the ``history_days`` days
(30 by default) ending on the as-of day, zero days included; the as-of day
counts as history, so the simulated days are the days after it. Each trial
samples history days with replacement, from ``random.Random(seed)``: the same
history and seed give the same forecast, and the seed is part of the answer.

* How many by D: each trial sums one sampled day per day after the as-of day up
  to D. "p% likely" is the (100 - p)th nearest-rank percentile of the totals
  (at least that many, in p% of trials).
* When will N be done: each trial samples days until its running total reaches N;
  "p% likely" is the p-th nearest-rank percentile of the finish dates. A trial that
  has not reached N within 5 years stops and counts as later than that (None).
* With no throughput in the history window no forecast is made: ``reason`` says so.

============================================================  =====================================
function                                                      returns
============================================================  =====================================
``forecast_how_many(source, *, by, trials, seed, ...)``       :class:`HowManyForecast`
``forecast_when(source, *, items, trials, seed, ...)``        :class:`WhenForecast`
``simulate_how_many(samples, days, *, trials, seed)``         the total of each trial
``simulate_when(samples, items, *, trials, seed, horizon)``   the days each trial took (None: beyond)
``throughput_history(history, *, days)``                      the daily throughput samples
============================================================  =====================================

>>> simulate_how_many([0, 1, 2], 3, trials=5, seed=1)
[4, 2, 3, 3, 3]
>>> simulate_when([0, 1, 2], 4, trials=5, seed=1, horizon=1000)
[3, 5, 3, 10, 2]
>>> simulate_when([0, 0, 1], 4, trials=2, seed=1, horizon=5)
[None, None]
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from random import Random
from typing import TypedDict

from sprintboard.errors import EngineError
from sprintboard.flow import nearest_rank, throughput
from sprintboard.history import History, ensure_history
from sprintboard.records import Event, State, Story, Workflow

__all__ = [
    "DEFAULT_TRIALS",
    "HORIZON_YEARS",
    "HowManyForecast",
    "WhenForecast",
    "forecast_how_many",
    "forecast_when",
    "simulate_how_many",
    "simulate_when",
    "throughput_history",
]

DEFAULT_TRIALS = 10_000
HORIZON_YEARS = 5
DEFAULT_PERCENTS = (50, 70, 85, 95)
NO_THROUGHPUT = "no stories finished in the throughput history window: no forecast is made"


@dataclass(frozen=True, slots=True)
class HowManyForecast:
    by: date
    days: int  # simulated days: after the as-of day, up to ``by``
    likely: dict[str, int | None]  # "85": at least this many in 85% of trials
    trials: int
    seed: int
    history_start: date
    history_end: date
    history: tuple[int, ...]  # the daily throughput samples
    n: int  # history days
    reason: str | None  # why there is no forecast, or None


@dataclass(frozen=True, slots=True)
class WhenForecast:
    items: int
    likely: dict[str, date | None]  # "85": done by this date in 85% of trials; None: later than the horizon
    horizon: date  # 5 years after the as-of day
    beyond_horizon: int  # trials that had not finished by the horizon
    trials: int
    seed: int
    history_start: date
    history_end: date
    history: tuple[int, ...]
    n: int
    reason: str | None


def _check_trials(trials: int) -> None:
    if trials < 1:
        raise EngineError(f"trials must be at least 1, not {trials}")


def simulate_how_many(samples: Sequence[int], days: int, *, trials: int = DEFAULT_TRIALS, seed: int = 0) -> list[int]:
    """The total of each trial: ``days`` days sampled with replacement from ``samples``."""
    _check_trials(trials)
    if not samples or days <= 0:
        return [0] * trials
    choices = Random(seed).choices
    return [sum(choices(samples, k=days)) for _ in range(trials)]


def simulate_when(
    samples: Sequence[int], items: int, *, trials: int = DEFAULT_TRIALS, seed: int = 0, horizon: int
) -> list[int | None]:
    """Days each trial needed for its running total to reach ``items`` (None: not within ``horizon`` days)."""
    _check_trials(trials)
    if items <= 0:
        return [0] * trials
    if not any(samples) or items > max(samples) * horizon:
        return [None] * trials
    rng = Random(seed)
    chunk = max(8, math.ceil(1.25 * items * len(samples) / sum(samples)))
    return [_days_to_reach(rng, samples, items, horizon, chunk) for _ in range(trials)]


def _days_to_reach(rng: Random, samples: Sequence[int], items: int, horizon: int, chunk: int) -> int | None:
    day, total = 0, 0
    while day < horizon:
        draws = rng.choices(samples, k=min(chunk, horizon - day))
        running = list(accumulate(draws, initial=total))
        index = bisect_left(running, items, lo=1)
        if index < len(running):
            return day + index
        day, total = day + len(draws), running[-1]
    return None


def throughput_history(history: History, *, days: int = 30) -> tuple[date, date, list[int]]:
    """The first day, last day and daily throughput of the ``days`` days ending on the as-of day."""
    if days < 1:
        raise EngineError(f"history_days must be at least 1, not {days}")
    last = history.as_of_day
    first = last - timedelta(days=days - 1)
    return first, last, [d.count for d in throughput(history, start=first, end=last)]


def _likely_totals(totals: list[int], percents: Sequence[int]) -> dict[str, int | None]:
    return {f"{p:g}": nearest_rank(totals, 100 - p) if p < 100 else min(totals) for p in percents}  # type: ignore[misc]


class _Inputs(TypedDict):
    """The fields every forecast reports about its inputs."""

    trials: int
    seed: int
    history_start: date
    history_end: date
    history: tuple[int, ...]
    n: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class _Sample:
    """What both forecasts start from: the history and its daily throughput samples."""

    history: History
    start: date
    end: date
    days: tuple[int, ...]

    def fields(self, *, trials: int, seed: int, reason: str | None) -> _Inputs:
        return _Inputs(
            trials=trials,
            seed=seed,
            history_start=self.start,
            history_end=self.end,
            history=self.days,
            n=len(self.days),
            reason=reason,
        )


def _sample(
    source: History | Iterable[Event],
    *,
    history_days: int,
    stories: Iterable[Story] | None,
    workflow: Iterable[State] | Workflow | None,
    tz: str,
    as_of: datetime | None,
) -> _Sample:
    history = ensure_history(source, stories=stories, workflow=workflow, tz=tz, as_of=as_of)
    first, last, samples = throughput_history(history, days=history_days)
    return _Sample(history, first, last, tuple(samples))


def forecast_how_many(
    source: History | Iterable[Event],
    *,
    by: date,
    trials: int = DEFAULT_TRIALS,
    seed: int = 0,
    history_days: int = 30,
    percents: Sequence[int] = DEFAULT_PERCENTS,
    stories: Iterable[Story] | None = None,
    workflow: Iterable[State] | Workflow | None = None,
    tz: str = "UTC",
    as_of: datetime | None = None,
) -> HowManyForecast:
    """How many stories will be finished by the end of day ``by``."""
    sample = _sample(source, history_days=history_days, stories=stories, workflow=workflow, tz=tz, as_of=as_of)
    today = sample.history.as_of_day
    if by < today:
        raise EngineError(f"forecast date {by} is before the as-of day {today}")
    days = (by - today).days
    if not any(sample.days):
        likely = dict.fromkeys((f"{p:g}" for p in percents), None)
        return HowManyForecast(
            by=by, days=days, likely=likely, **sample.fields(trials=trials, seed=seed, reason=NO_THROUGHPUT)
        )
    totals = simulate_how_many(sample.days, days, trials=trials, seed=seed)
    likely = _likely_totals(totals, percents)
    return HowManyForecast(by=by, days=days, likely=likely, **sample.fields(trials=trials, seed=seed, reason=None))


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def forecast_when(
    source: History | Iterable[Event],
    *,
    items: int,
    trials: int = DEFAULT_TRIALS,
    seed: int = 0,
    history_days: int = 30,
    percents: Sequence[int] = DEFAULT_PERCENTS,
    stories: Iterable[Story] | None = None,
    workflow: Iterable[State] | Workflow | None = None,
    tz: str = "UTC",
    as_of: datetime | None = None,
) -> WhenForecast:
    """By which date ``items`` more stories will be finished."""
    if items < 0:
        raise EngineError(f"items must be at least 0, not {items}")
    sample = _sample(source, history_days=history_days, stories=stories, workflow=workflow, tz=tz, as_of=as_of)
    today = sample.history.as_of_day
    horizon = _add_years(today, HORIZON_YEARS)
    if not any(sample.days) and items > 0:
        likely = dict.fromkeys((f"{p:g}" for p in percents), None)
        fields = sample.fields(trials=trials, seed=seed, reason=NO_THROUGHPUT)
        return WhenForecast(items=items, likely=likely, horizon=horizon, beyond_horizon=0, **fields)
    outcomes = simulate_when(sample.days, items, trials=trials, seed=seed, horizon=(horizon - today).days)
    likely = {f"{p:g}": _day_at(outcomes, p, today) for p in percents}
    beyond = sum(1 for o in outcomes if o is None)
    fields = sample.fields(trials=trials, seed=seed, reason=None)
    return WhenForecast(items=items, likely=likely, horizon=horizon, beyond_horizon=beyond, **fields)


def _day_at(outcomes: list[int | None], percent: int, today: date) -> date | None:
    """The p-th percentile finish date; trials beyond the horizon sort last and give None."""
    days = nearest_rank((math.inf if o is None else o for o in outcomes), percent)
    return None if days is None or days == math.inf else today + timedelta(days=int(days))
