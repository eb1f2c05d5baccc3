"""Hand-computed flow metrics, the awkward cases included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sprintboard import flow
from sprintboard.errors import EngineError
from sprintboard.records import to_jsonable
from tests.sprintboard.builders import BACKLOG, DOING, DONE, READY, REVIEW, WONTDO, WORKFLOW, Log, at, day

AS_OF = at(10, 12)
MARCH = {"start": day(1), "end": day(10)}


def _cycle(history, key):
    return next(c for c in flow.cycle_times(history, **MARCH) if c.key == key)


def test_a_reopened_story_keeps_its_first_start_and_takes_its_last_finish():
    log = Log().create(1, at(1))
    log.move(1, at(2), DOING).move(1, at(4), DONE).move(1, at(6), DOING).move(1, at(8, 15), DONE)
    history = log.history(AS_OF)
    cycle = _cycle(history, "DATA-1")
    assert (cycle.start, cycle.finish, cycle.days, cycle.hours) == (at(2), at(8, 15), 7, 150.0)
    efficiency = flow.flow_efficiency(history, **MARCH).stories[0]
    assert (efficiency.active_hours, efficiency.wait_hours) == (102.0, 48.0)  # the time in done counts as wait


def test_a_reopened_story_not_done_at_as_of_has_no_finish():
    log = Log().create(1, at(1)).move(1, at(2), DOING).move(1, at(4), DONE).move(1, at(6), DOING)
    history = log.history(AS_OF)
    assert flow.cycle_times(history, **MARCH) == []
    assert [d.count for d in flow.throughput(history, **MARCH)] == [0] * 10


def test_a_story_finished_without_being_started_has_start_equal_to_finish():
    history = Log().create(2, at(3)).move(2, at(5, 10), DONE).history(AS_OF)
    cycle = _cycle(history, "DATA-2")
    assert (cycle.start, cycle.days, cycle.hours) == (at(5, 10), 1, 0.0)
    efficiency = flow.flow_efficiency(history, **MARCH)
    assert efficiency.stories[0].efficiency is None
    assert efficiency.efficiency is None and efficiency.n == 1  # 0 / 0 is null, never an error


def test_skipping_to_a_waiting_state_starts_the_story():
    history = Log().create(3, at(1), state=BACKLOG).move(3, at(2), REVIEW).move(3, at(3), DONE).history(AS_OF)
    assert _cycle(history, "DATA-3").start == at(2)
    efficiency = flow.flow_efficiency(history, **MARCH)
    assert (efficiency.active_hours, efficiency.wait_hours, efficiency.efficiency) == (0.0, 24.0, 0.0)


def test_a_move_back_to_todo_counts_as_wait():
    log = Log().create(4, at(1)).move(4, at(2), DOING).move(4, at(3), READY).move(4, at(4), DOING).move(4, at(5), DONE)
    efficiency = flow.flow_efficiency(log.history(AS_OF), **MARCH)
    assert (efficiency.active_hours, efficiency.wait_hours) == (48.0, 24.0)
    assert efficiency.efficiency == pytest.approx(2 / 3)


def test_blocked_time_counts_only_inside_started_states():
    log = Log().create(5, at(1)).add(5, "blocked", at(1, 12), to_value="data access")
    log.move(5, at(2), DOING).add(5, "unblocked", at(2, 21)).move(5, at(3), DONE)
    efficiency = flow.flow_efficiency(log.history(AS_OF), **MARCH)
    assert (efficiency.active_hours, efficiency.wait_hours) == (12.0, 12.0)


def test_reblocking_with_a_new_reason_keeps_the_time_blocked():
    log = Log().create(5, at(1)).move(5, at(2), DOING).add(5, "blocked", at(2, 12), to_value="data")
    log.add(5, "blocked", at(2, 18), to_value="review").add(5, "unblocked", at(3)).move(5, at(4), DONE)
    history = log.history(AS_OF)
    assert [(b[0], b[1], b[2]) for b in history.timelines[5].blocks] == [
        (at(2, 12), at(2, 18), "data"),
        (at(2, 18), at(3), "review"),
    ]
    assert flow.flow_efficiency(history, **MARCH).active_hours == 48 - 21


def test_cancelled_work_and_cancelled_after_done_are_not_throughput():
    log = Log().create(6, at(1)).move(6, at(2), DOING).move(6, at(3), WONTDO)
    log.create(7, at(1)).move(7, at(2), DOING).move(7, at(3), DONE).move(7, at(4), WONTDO)
    history = log.history(AS_OF)
    assert sum(d.count for d in flow.throughput(history, **MARCH)) == 0
    assert [d.counts[WONTDO] for d in flow.cfd(history, **MARCH)][1:5] == [0, 1, 2, 2]
    assert [d.counts[DONE] for d in flow.cfd(history, **MARCH)][1:5] == [0, 1, 0, 0]


def test_deleted_stories_vanish_and_restored_ones_come_back_with_their_history():
    log = Log().create(8, at(1)).move(8, at(2), DOING).add(8, "deleted", at(3, 12)).add(8, "restored", at(5, 12))
    log.move(8, at(6), DONE)
    log.create(9, at(1)).move(9, at(2), DOING).move(9, at(3), DONE).add(9, "deleted", at(4))
    history = log.history(AS_OF)
    assert [c.key for c in flow.cycle_times(history, **MARCH)] == ["DATA-8"]
    assert [d.count for d in flow.wip(history, **MARCH)][:6] == [0, 1, 0, 0, 1, 0]
    before = log.history(at(3, 18))  # as of before story 9's deletion, it is still there
    assert [c.key for c in flow.cycle_times(before, start=day(1), end=day(3))] == ["DATA-9"]


def test_days_are_calendar_days_in_the_project_zone_across_a_daylight_saving_change():
    # Amsterdam moves from UTC+1 to UTC+2 at 01:00 UTC on 31 March 2024: that day has 23 hours.
    start = datetime(2024, 3, 30, 23, 30, tzinfo=UTC)  # 00:30 local on 31 March
    finish = datetime(2024, 3, 31, 21, 59, tzinfo=UTC)  # 23:59 local on 31 March
    log = Log().create(1, at(29)).move(1, start, DOING).move(1, finish, DONE)
    as_of = datetime(2024, 4, 2, tzinfo=UTC)
    window = {"start": day(29), "end": day(1, month=4)}
    local = log.history(as_of, tz="Europe/Amsterdam")
    cycle = flow.cycle_times(local, **window)[0]
    assert (cycle.days, cycle.hours) == (1, pytest.approx(22.4833, abs=1e-3))
    assert [d.count for d in flow.throughput(local, **window)] == [0, 0, 1, 0]
    assert [d.count for d in flow.wip(local, **window)] == [0, 0, 0, 0]
    utc = log.history(as_of, tz="UTC")
    assert flow.cycle_times(utc, **window)[0].days == 2
    assert [d.count for d in flow.wip(utc, **window)] == [0, 1, 0, 0]


def test_an_event_at_local_midnight_belongs_to_the_new_day():
    midnight = datetime(2024, 3, 31, 22, 0, tzinfo=UTC)  # 00:00 on 1 April in Amsterdam
    log = Log().create(1, at(29)).move(1, at(30), DOING).move(1, midnight, DONE)
    history = log.history(datetime(2024, 4, 2, tzinfo=UTC), tz="Europe/Amsterdam")
    window = {"start": day(30), "end": day(1, month=4)}
    assert [d.count for d in flow.wip(history, **window)] == [1, 1, 0]
    assert [d.count for d in flow.throughput(history, **window)] == [0, 0, 1]


def test_lead_time_and_work_item_age():
    log = Log().create(1, at(1)).move(1, at(3), DOING).move(1, at(5), DONE)
    log.create(2, at(2)).move(2, at(4, 23), REVIEW)
    history = log.history(AS_OF)
    assert [(t.key, t.days) for t in flow.lead_times(history, **MARCH)] == [("DATA-1", 5)]
    assert [(a.key, a.state, a.days) for a in flow.work_item_ages(history)] == [("DATA-2", REVIEW, 7)]


def test_time_in_state_sums_the_intervals_up_to_as_of():
    log = Log().create(1, at(1)).move(1, at(2), DOING).move(1, at(3), READY).move(1, at(4), DOING)
    spent = flow.time_in_state(log.history(AS_OF).timelines[1], AS_OF)
    assert {state: seconds / 3600 for state, seconds in spent.items()} == {READY: 48.0, DOING: 24.0 + 147.0}


def test_cfd_bands_follow_the_workflow_and_started_bands_sum_to_wip():
    log = Log().create(1, at(1), state=BACKLOG).move(1, at(2), DOING).move(1, at(3), REVIEW)
    log.create(2, at(2)).move(2, at(3), DOING)
    history = log.history(AS_OF)
    days = flow.cfd(history, **MARCH)
    assert list(days[0].counts) == [s.id for s in WORKFLOW]
    assert [(d.counts[BACKLOG], d.counts[READY], d.counts[DOING], d.counts[REVIEW]) for d in days[:3]] == [
        (1, 0, 0, 0),
        (0, 1, 1, 0),
        (0, 0, 1, 1),
    ]
    wip = flow.wip(history, **MARCH)
    assert all(w.count == d.counts[DOING] + d.counts[REVIEW] + d.counts[5] for w, d in zip(wip, days, strict=False))


def test_nearest_rank_percentiles():
    values = [15, 20, 35, 40, 50]
    assert [flow.nearest_rank(values, p) for p in (5, 30, 40, 50, 100)] == [15, 20, 20, 35, 50]
    assert flow.percentiles([3, 1, 2]) == {"50": 2, "70": 3, "85": 3, "95": 3, "n": 3}
    assert flow.percentiles([]) == {"50": None, "70": None, "85": None, "95": None, "n": 0}
    with pytest.raises(EngineError, match="percentile must be in"):
        flow.nearest_rank(values, 0)


def test_service_level_expectation_uses_the_last_90_days():
    log = Log()
    for number, days in enumerate((1, 2, 2, 3, 9), start=1):
        log.create(number, at(1)).move(number, at(1, 10), DOING).move(number, at(days, 11), DONE)
    sle = flow.service_level_expectation(log.history(AS_OF))
    assert (sle.percent, sle.days, sle.n, sle.start, sle.end) == (
        85,
        9,
        5,
        day(12, month=12).replace(year=2023),
        day(10),
    )


def test_littles_law_compares_and_warns():
    log = Log()
    for number in range(1, 5):  # four stories started on the 1st, one finishing each day from the 2nd
        log.create(number, at(1)).move(number, at(1, 10), DOING)
    for number in range(1, 5):
        log.move(number, at(number + 1, 10), DONE)
    law = flow.littles_law(log.history(at(5, 12)), start=day(1), end=day(5))
    assert (law.average_wip, law.average_throughput) == (2.0, 4 / 5)
    assert law.predicted_cycle_days == pytest.approx(2.5)
    assert law.actual_cycle_days == pytest.approx(2.5)
    assert (law.wip_start, law.wip_end, law.age_start, law.age_end) == (4, 0, 1.0, None)
    assert law.warnings == ("WIP changed from 4 to 0 over the window (more than 20%)",)


def test_empty_inputs_give_nulls_with_n_zero_never_an_error():
    report = flow.flow_report([], stories=[], workflow=WORKFLOW, as_of=AS_OF)
    assert report.n == 0 and report.cycle_times == ()
    assert report.percentiles["85"] is None and report.percentiles["n"] == 0
    assert report.flow_efficiency.efficiency is None
    assert report.service_level.days is None and report.service_level.n == 0
    assert report.littles_law.predicted_cycle_days is None and report.littles_law.actual_cycle_days is None
    assert [d.count for d in report.throughput] == [0] * 30
    assert to_jsonable(report)["percentiles"] == {"50": None, "70": None, "85": None, "95": None, "n": 0}


def test_the_report_serialises_with_the_api_names():
    log = Log().create(1, at(1)).move(1, at(2), DOING).move(1, at(3), DONE)
    data = to_jsonable(flow.flow_report(log.history(AS_OF), **MARCH))
    assert data["cycle_times"] == [
        {"key": "DATA-1", "start": "2024-03-02T09:00:00Z", "finish": "2024-03-03T09:00:00Z", "days": 2, "hours": 24.0}
    ]
    assert data["throughput"][2] == {"date": "2024-03-03", "count": 1}
    assert data["wip"][1] == {"date": "2024-03-02", "count": 1}
    assert data["cfd"][0] == {"date": "2024-03-01", "counts": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0, "6": 0, "7": 0}}
    assert data["flow_efficiency"]["efficiency"] == 1.0


def test_windows_must_make_sense():
    history = Log().history(AS_OF)
    with pytest.raises(EngineError, match="after its end"):
        flow.throughput(history, start=day(5), end=day(4))
    with pytest.raises(EngineError, match="after the as-of day"):
        flow.wip(history, start=day(5), end=day(11))


@pytest.mark.parametrize(("percent", "expected"), [(99.9, 999), (57.7, 577), (0.1, 1), (12.5, 125), (100, 1000)])
def test_non_whole_percentiles_use_the_decimal_written(percent, expected):
    assert flow.nearest_rank(range(1, 1001), percent) == expected
