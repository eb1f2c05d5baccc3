"""Hand-computed sprint reports, burndowns and velocity."""

from __future__ import annotations

import pytest

from sprintboard import sprints
from sprintboard.errors import EngineError
from sprintboard.records import Sprint, to_jsonable
from tests.sprintboard.builders import DOING, DONE, WONTDO, Log, at, day

SPRINT = Sprint(5, "Sprint 5", day(4), day(8), at(4, 10), at(9, 11))  # closed a day late


def _mid_sprint_log() -> Log:
    log = Log()
    log.create(1, at(1), sprint=5, points=5).move(1, at(4, 12), DOING).move(1, at(6, 12), DONE)
    log.create(2, at(1), sprint=5, points=3).add(2, "points", at(5, 12), from_value=3, to_value=8)
    log.move(2, at(5, 13), DOING)
    log.create(3, at(1), sprint=5, points=5).move(3, at(2), DONE).move(3, at(5), DOING).move(3, at(7), DONE)
    log.create(4, at(1), points=2).add(4, "sprint", at(5, 12), to_value=5).move(4, at(7, 12), DONE)
    log.create(5, at(1), sprint=5, points=1).add(5, "sprint", at(6, 12), from_value=5, to_value=None)
    log.create(6, at(1), sprint=5).move(6, at(7, 12), WONTDO)
    log.create(7, at(5, 9), sprint=5, points=3).add(7, "points", at(5, 18), from_value=3, to_value=5)
    log.add(7, "sprint", at(6, 12), from_value=5, to_value=6)
    log.create(8, at(1), sprint=5, points=2).add(8, "sprint", at(5, 12), from_value=5, to_value=None)
    log.add(8, "sprint", at(6, 12), to_value=5).move(8, at(6, 13), DOING)
    log.create(9, at(4, 10), sprint=5, points=1)  # created at the very instant the sprint started
    log.create(10, at(1), sprint=5, points=3).move(10, at(8), DOING).move(10, at(9, 10), DONE)  # after `end`
    return log


@pytest.fixture(scope="module")
def report():
    return sprints.sprint_report(_mid_sprint_log().history(at(12)), sprint=SPRINT)


def test_the_lists_of_the_sprint_report(report):
    assert report.committed == ("DATA-1", "DATA-2", "DATA-5", "DATA-6", "DATA-8", "DATA-9", "DATA-10")
    assert report.already_done == ("DATA-3",)
    assert report.added == ("DATA-4", "DATA-7")
    assert report.removed == ("DATA-5", "DATA-7")
    assert report.completed == ("DATA-1", "DATA-4", "DATA-10")
    assert report.cancelled == ("DATA-6",)
    assert report.not_completed == ("DATA-2", "DATA-8", "DATA-9")
    assert report.unestimated == ("DATA-6",)
    assert report.n == 9


def test_the_points_and_the_identity(report):
    assert [(r.key, r.old_points, r.new_points) for r in report.reestimated] == [("DATA-2", 3, 8), ("DATA-7", 3, 5)]
    assert (report.committed_points, report.added_points, report.removed_points) == (15, 5, 6)
    assert (report.completed_points, report.cancelled_points, report.not_completed_points) == (10, 0, 11)
    assert report.reestimate_delta == 7
    assert report.identity == sprints.Identity(7, 7, 21, 21, True)
    assert report.scope_churn == pytest.approx(11 / 15)
    assert report.closed and report.closed_at == at(9, 11)


def test_the_burndown_with_scope_steps_and_the_ideal_line(report):
    rows = [
        (d.date.day, d.remaining_points, d.scope_points, d.completed_points, d.ideal_points) for d in report.burndown
    ]
    assert rows == [
        (4, 15, 15, 0, 15.0),
        (5, 25, 25, 0, 11.25),
        (6, 16, 21, 5, 7.5),
        (7, 14, 21, 7, 3.75),
        (8, 14, 21, 7, 0.0),
        (9, 11, 21, 10, 0.0),  # the close, a day after the planned end
    ]
    assert [(d.date.day, d.completed_points, d.scope_points) for d in report.burnup][-1] == (9, 10, 21)


def test_the_scope_changes(report):
    assert [(c.at, c.key, c.kind, c.points) for c in report.scope_changes] == [
        (at(5, 9), "DATA-7", "added", 3),
        (at(5, 12), "DATA-2", "reestimated", 5),
        (at(5, 12), "DATA-4", "added", 2),
        (at(5, 12), "DATA-8", "removed", -2),
        (at(5, 18), "DATA-7", "reestimated", 2),
        (at(6, 12), "DATA-5", "removed", -1),
        (at(6, 12), "DATA-7", "removed", -5),
        (at(6, 12), "DATA-8", "added", 2),
    ]


def test_the_report_serialises_with_the_api_names(report):
    data = to_jsonable(report)
    assert data["reestimated"][0] == {"key": "DATA-2", "old_points": 3, "new_points": 8}
    assert data["burndown"][0] == {
        "date": "2024-03-04",
        "remaining_points": 15,
        "scope_points": 15,
        "ideal_points": 15.0,
        "completed_points": 0,
    }
    assert data["committed_points"] == 15 and data["completed"] == ["DATA-1", "DATA-4", "DATA-10"]


def test_an_open_sprint_is_reported_as_of_now_with_future_days_empty():
    history = _mid_sprint_log().history(at(6, 18))
    report = sprints.sprint_report(history, sprint=Sprint(5, "Sprint 5", day(4), day(8), at(4, 10), None))
    assert not report.closed and report.closed_at == at(6, 18)
    assert report.completed == ("DATA-1",)
    assert [d.remaining_points for d in report.burndown] == [15, 25, 16, None, None]
    assert report.identity.holds


def test_deleted_stories_vanish_and_restored_ones_count():
    log = Log().create(1, at(1), sprint=5, points=3).add(1, "deleted", at(6))
    log.create(2, at(1), sprint=5, points=2).add(2, "deleted", at(5, 12)).add(2, "restored", at(6, 12))
    report = sprints.sprint_report(log.history(at(12)), sprint=SPRINT)
    assert report.committed == ("DATA-2",) and report.not_completed == ("DATA-2",)
    assert [d.scope_points for d in report.burndown][:3] == [2, 0, 2]  # gone while deleted


def test_a_cancelled_after_done_story_is_cancelled_not_completed():
    log = Log().create(1, at(1), sprint=5, points=3).move(1, at(5), DONE).move(1, at(6), WONTDO)
    report = sprints.sprint_report(log.history(at(12)), sprint=SPRINT)
    assert (report.completed, report.cancelled, report.cancelled_points) == ((), ("DATA-1",), 3)


def test_an_empty_sprint_has_no_churn_and_holds_the_identity():
    report = sprints.sprint_report(Log().history(at(12)), sprint=SPRINT)
    assert report.n == 0 and report.committed_points == 0
    assert report.scope_churn is None
    assert report.identity.holds
    assert [d.ideal_points for d in report.burndown] == [0.0] * 6


def test_a_sprint_needs_a_start_and_a_close_or_an_as_of():
    planned = Sprint(6, "Sprint 6", day(11), day(22), None, None)
    with pytest.raises(EngineError, match="has not started"):
        sprints.sprint_report(Log().history(at(12)), sprint=planned)
    with pytest.raises(EngineError, match="is not closed: give as_of="):
        sprints.sprint_report([], sprint=Sprint(5, "S", day(4), day(8), at(4), None), stories=[], workflow=[])


def test_velocity_is_the_mean_completed_points_of_the_last_three_closed_sprints():
    log, sprint_list = Log(), []
    for number, points in enumerate((3, 5, 8, 13), start=1):
        first = 1 + 7 * (number - 1)
        sprint_list.append(
            Sprint(number, f"Sprint {number}", day(first), day(first + 6), at(first, 8), at(first + 6, 17))
        )
        log.create(number, at(first, 7), sprint=number, points=points).move(number, at(first + 2), DONE)
    history = log.history(at(30))
    report = sprints.velocity_report(history, sprints=sprint_list)
    assert [(e.name, e.committed_points, e.completed_points) for e in report.sprints] == [
        ("Sprint 1", 3, 3),
        ("Sprint 2", 5, 5),
        ("Sprint 3", 8, 8),
        ("Sprint 4", 13, 13),
    ]
    assert (report.average_velocity, report.n) == (pytest.approx(26 / 3), 3)
    short = sprints.velocity_report(history, sprints=sprint_list, last=2, average_of=5)
    assert [e.name for e in short.sprints] == ["Sprint 3", "Sprint 4"]
    assert (short.average_velocity, short.n) == (pytest.approx(29 / 4), 4)


def test_velocity_without_closed_sprints_is_null_with_n_zero():
    report = sprints.velocity_report(Log().history(at(30)), sprints=[Sprint(1, "S1", day(1), day(14), at(1), None)])
    assert (report.sprints, report.average_velocity, report.n) == ((), None, 0)
