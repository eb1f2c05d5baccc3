"""Monte Carlo forecasts: seeded, capped, and honest when there is no throughput."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sprintboard import forecast
from sprintboard.errors import EngineError
from tests.sprintboard.builders import DOING, DONE, Log, at, day

AS_OF = at(30, 18)


def _steady(per_day: int) -> Log:
    """``per_day`` stories finished on each of the 30 days ending on 30 March."""
    log, number = Log(), 0
    for date_number in range(1, 31):
        for _ in range(per_day):
            number += 1
            log.create(number, at(date_number, 8)).move(number, at(date_number, 9), DOING).move(
                number, at(date_number, 10), DONE
            )
    return log


def test_how_many_with_steady_throughput_is_exact():
    result = forecast.forecast_how_many(_steady(2).history(AS_OF), by=day(9, month=4), trials=500, seed=3)
    assert (result.days, result.n, result.history) == (10, 30, (2,) * 30)
    assert result.likely == {"50": 20, "70": 20, "85": 20, "95": 20}
    assert result.reason is None and result.seed == 3


def test_when_with_steady_throughput_is_exact():
    result = forecast.forecast_when(_steady(2).history(AS_OF), items=7, trials=500)
    assert result.likely == {"50": day(3, month=4), "70": day(3, month=4), "85": day(3, month=4), "95": day(3, month=4)}
    assert result.beyond_horizon == 0 and result.horizon == day(30, month=3).replace(year=2029)


def test_the_85_percent_answer_is_the_15th_percentile_of_totals():
    totals = forecast.simulate_how_many([0, 1, 2, 3], 5, trials=2000, seed=11)
    ordered = sorted(totals)
    assert forecast._likely_totals(totals, [85])["85"] == ordered[300 - 1]


def test_the_same_seed_gives_the_same_forecast_and_another_seed_may_not():
    history = _steady(1).history(AS_OF)
    log = Log().create(1, at(2)).move(1, at(3), DONE).create(2, at(2)).move(2, at(20), DONE)
    sparse = log.history(AS_OF)
    first = forecast.forecast_when(sparse, items=5, seed=1, trials=300)
    assert first == forecast.forecast_when(sparse, items=5, seed=1, trials=300)
    assert forecast.simulate_how_many([0, 1, 5], 20, trials=50, seed=1) != forecast.simulate_how_many(
        [0, 1, 5], 20, trials=50, seed=2
    )
    assert forecast.forecast_how_many(history, by=day(5, month=4)).trials == 10_000


def test_no_throughput_no_forecast():
    history = Log().create(1, at(1)).move(1, at(2), DOING).history(AS_OF)
    many = forecast.forecast_how_many(history, by=day(9, month=4))
    when = forecast.forecast_when(history, items=3)
    assert many.reason == when.reason == forecast.NO_THROUGHPUT
    assert set(many.likely.values()) == set(when.likely.values()) == {None}


def test_trials_beyond_five_years_count_as_later():
    log = Log().create(1, at(29)).move(1, at(30), DONE)  # one story in 30 days
    result = forecast.forecast_when(log.history(AS_OF), items=200, trials=200)
    assert result.likely["50"] is None and result.beyond_horizon == 200
    assert forecast.simulate_when([0, 1], 3, trials=3, seed=0, horizon=1) == [None, None, None]


def test_zero_items_are_done_today_and_the_date_must_not_be_past():
    history = _steady(1).history(AS_OF)
    assert forecast.forecast_when(history, items=0, trials=10).likely["85"] == day(30)
    assert forecast.forecast_how_many(history, by=day(30), trials=10).likely["85"] == 0
    with pytest.raises(EngineError, match="before the as-of day"):
        forecast.forecast_how_many(history, by=day(29))
    with pytest.raises(EngineError, match="items must be at least 0"):
        forecast.forecast_when(history, items=-1)
    with pytest.raises(EngineError, match="trials must be at least 1"):
        forecast.simulate_how_many([1], 3, trials=0)


def test_the_history_window_is_configurable():
    history = _steady(1).history(AS_OF)
    result = forecast.forecast_how_many(history, by=day(31), history_days=7, trials=10)
    assert (result.history_start, result.history_end, result.n) == (day(24), day(30), 7)
    assert result.history_end - result.history_start == timedelta(days=6)
