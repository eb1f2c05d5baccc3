"""DataOps metrics: time to insight, validation lag, deliverables per sprint."""

from __future__ import annotations

from sprintboard import dataops
from sprintboard.records import Deliverable, Sprint
from tests.sprintboard.builders import DOING, DONE, Log, at, day

DASHBOARD = Deliverable(1, "Churn dashboard", "dashboard", published_at=at(12))
DATASET = Deliverable(2, "Orders dataset", "dataset", published_at=at(13))
MODEL = Deliverable(3, "Lead model", "ML model", published_at=None)
LATER = Deliverable(4, "Next report", "report", published_at=at(25))  # after as-of: unpublished


def _log() -> Log:
    log = Log().create(1, at(1), deliverable_id=1).move(1, at(2), DOING).move(1, at(6), DONE)
    log.create(2, at(1), deliverable_id=1).move(2, at(4), DOING).move(2, at(9), DONE)
    log.create(3, at(1), deliverable_id=1).move(3, at(14), DOING)  # started after publication
    log.create(4, at(1), deliverable_id=2)  # never started
    return log


def test_time_to_insight_and_validation_lag():
    timings = dataops.deliverable_timings(_log().history(at(20)), deliverables=[DASHBOARD, DATASET, MODEL, LATER])
    assert [(t.name, t.time_to_insight_days, t.validation_lag_days, t.n) for t in timings] == [
        ("Churn dashboard", 11, 4, 3),
        ("Orders dataset", None, None, 1),
    ]


def test_deliverables_published_per_sprint_by_kind():
    sprints = [
        Sprint(1, "Sprint 1", day(4), day(10), at(4, 8), at(10, 17)),
        Sprint(2, "Sprint 2", day(11), day(17), at(11, 8), None),
        Sprint(3, "Sprint 3", day(18), day(24), None, None),
    ]
    extra = Deliverable(5, "Sales dashboard", "dashboard", published_at=at(11, 12))
    rows = dataops.deliverable_throughput(
        _log().history(at(20)), deliverables=[DASHBOARD, DATASET, extra, LATER], sprints=sprints
    )
    assert [(r.name, r.counts, r.n) for r in rows] == [
        ("Sprint 1", {}, 0),
        ("Sprint 2", {"dashboard": 2, "dataset": 1}, 3),
    ]


def test_the_report_with_percentiles_and_empty_input():
    report = dataops.dataops_report(_log().history(at(20)), deliverables=[DASHBOARD, DATASET])
    assert report.time_to_insight == {"50": 11, "70": 11, "85": 11, "95": 11, "n": 1}
    empty = dataops.dataops_report(_log().history(at(20)), deliverables=[])
    assert empty.deliverables == () and empty.validation_lag["n"] == 0 and empty.validation_lag["50"] is None


def test_links_stand_in_for_the_stories_own_deliverable():
    history = _log().history(at(20))
    # Move story 2 (started day 4, finished day 9) from the dashboard to the dataset, and unlink story 3.
    links = {1: 1, 2: 2, 4: 2}
    timings = dataops.deliverable_timings(history, deliverables=[DASHBOARD, DATASET], links=links)
    assert [(t.name, t.time_to_insight_days, t.validation_lag_days, t.n) for t in timings] == [
        ("Churn dashboard", 11, 7, 1),
        ("Orders dataset", 10, 5, 2),
    ]


def test_the_distribution_by_kind():
    other = Deliverable(6, "Sales dashboard", "dashboard", published_at=at(14))
    log = _log().create(5, at(1), deliverable_id=6).move(5, at(10), DOING).move(5, at(12), DONE)
    report = dataops.dataops_report(log.history(at(20)), deliverables=[DASHBOARD, DATASET, other])
    by_kind = {k.kind: k for k in report.by_kind}
    assert sorted(by_kind) == ["dashboard", "dataset"]
    assert by_kind["dashboard"].n == 2
    assert by_kind["dashboard"].time_to_insight == {"50": 5, "70": 11, "85": 11, "95": 11, "n": 2}
    assert by_kind["dashboard"].validation_lag == {"50": 3, "70": 4, "85": 4, "95": 4, "n": 2}
    assert by_kind["dataset"].time_to_insight["n"] == 0 and by_kind["dataset"].n == 1


def test_published_between_is_half_open_and_ordered():
    chosen = dataops.published_between([DATASET, DASHBOARD, MODEL, LATER], at(12), at(25))
    assert [d.name for d in chosen] == ["Orders dataset", "Next report"]


def test_published_in_sprint_runs_from_the_start_to_the_close_or_as_of():
    closed = Sprint(1, "Sprint 1", day(4), day(12), at(4, 8), at(12, 9))  # closes at the dashboard's publication
    open_ = Sprint(2, "Sprint 2", day(12), day(24), at(12, 10), None)
    planned = Sprint(3, "Sprint 3", day(25), day(30), None, None)
    shipped = [LATER, DATASET, DASHBOARD, MODEL]
    assert [d.name for d in dataops.published_in_sprint(shipped, closed, at(20))] == [
        "Churn dashboard"
    ]  # the close is included
    assert [d.name for d in dataops.published_in_sprint(shipped, open_, at(20))] == [
        "Orders dataset"
    ]  # LATER is after as-of
    assert [d.name for d in dataops.published_in_sprint(shipped, open_, at(30))] == ["Orders dataset", "Next report"]
    assert dataops.published_in_sprint(shipped, closed, at(4, 7)) == []  # not started by as-of
    assert dataops.published_in_sprint(shipped, planned, at(30)) == []
    # As of a moment before the close, the sprint runs to that moment.
    assert dataops.published_in_sprint(shipped, closed, at(11)) == []
