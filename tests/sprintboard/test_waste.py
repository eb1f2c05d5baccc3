"""Hand-computed Lean waste signals."""

from __future__ import annotations

import pytest

from sprintboard import waste
from sprintboard.records import Deliverable, Sprint, to_jsonable
from tests.sprintboard.builders import DOING, DONE, READY, REVIEW, WONTDO, WORKFLOW, Log, at, day

WINDOW = {"start": day(1), "end": day(10)}
AS_OF = at(10, 12)


def test_partially_done_work_at_each_sprint_close():
    sprint = Sprint(1, "Sprint 1", day(4), day(8), at(4, 8), at(8, 17))
    log = Log().create(1, at(1), sprint=1, points=3).move(1, at(2), DOING)
    log.create(2, at(1)).move(2, at(7), REVIEW)
    log.create(3, at(1), sprint=1, points=2)
    log.create(4, at(1)).move(4, at(1, 10), DOING).move(4, at(3), DONE)
    log.create(5, at(1)).move(5, at(4, 10), DOING).move(5, at(4, 11), DONE)
    log.create(6, at(1), sprint=1).move(6, at(9), DOING)  # after the close: not seen at the close
    (part,) = waste.partially_done(log.history(AS_OF), sprints=[sprint], **WINDOW)
    assert (part.wip, part.wip_keys, part.total_age_days) == (2, ("DATA-1", "DATA-2"), 7 + 2)
    assert (part.carry_over, part.carry_over_points, part.carry_over_keys) == (3, 5, ("DATA-1", "DATA-3", "DATA-6"))
    assert (part.sle_days, part.older_than_sle, part.older_than_sle_share) == (3, 1, 0.5)
    assert part.older_than_sle_keys == ("DATA-1",)


def test_waiting_per_state_and_per_blocked_reason():
    log = Log().create(1, at(1)).move(1, at(2), DOING).add(1, "blocked", at(2, 21), to_value="data")
    log.move(1, at(3), REVIEW).add(1, "unblocked", at(3, 21)).move(1, at(4), DONE)
    result = waste.waiting(log.history(AS_OF), **WINDOW)
    assert [(s.name, s.hours, s.keys) for s in result.by_state] == [
        ("In progress", 12.0, ("DATA-1",)),
        ("Review", 24.0, ("DATA-1",)),
    ]
    assert [(r.reason, r.hours) for r in result.by_reason] == [("data", 24.0)]
    assert (result.wait_hours, result.flow_efficiency, result.n) == (36.0, 0.25, 1)


def _switching_log() -> Log:
    log = Log().create(1, at(1), assignee="ann").move(1, at(2), DOING).move(1, at(4), DONE)
    log.create(2, at(1), assignee="ann").move(2, at(2, 10), DOING).move(2, at(2, 15), REVIEW)
    log.create(3, at(1), assignee="ann").move(3, at(2, 23), DOING).add(3, "assignee", at(3, 1), to_value="bob")
    log.move(3, at(3, 12), DONE)
    log.create(4, at(1), assignee="ann")  # never active
    return log


def test_task_switching_counts_stories_per_person_day():
    result = waste.task_switching(_switching_log().history(at(5, 12)), start=day(1), end=day(5))
    assert (result.person_days, result.mean_stories, result.limit) == (4, 7 / 4, 2)
    assert [(p.person, p.date, p.count, p.keys) for p in result.flagged] == [
        ("ann", day(2), 3, ("DATA-1", "DATA-2", "DATA-3"))
    ]


def test_handoffs_while_started_and_assignees_per_finished_story():
    result = waste.handoffs(_switching_log().history(at(5, 12)), start=day(1), end=day(5))
    assert (result.changes_while_started, result.change_keys) == (1, ("DATA-3",))
    assert result.assignees_per_story == {"DATA-1": 1, "DATA-3": 2}
    assert (result.mean_assignees, result.n) == (1.5, 2)


def test_rework_reopens_backward_moves_and_bugs():
    log = Log().create(5, at(1)).move(5, at(2), DOING).move(5, at(3), DONE).move(5, at(3, 12), REVIEW)
    log.move(5, at(4), DONE)
    log.create(6, at(1)).move(6, at(2), REVIEW).move(6, at(3), DOING).move(6, at(4), READY)
    log.create(7, at(2), kind="bug").move(7, at(2, 10), DONE).move(7, at(3), WONTDO)  # cancelled after done
    result = waste.rework(log.history(AS_OF), **WINDOW)
    assert (result.reopens, result.reopen_keys, result.finished, result.reopen_ratio) == (
        2,
        ("DATA-5", "DATA-7"),
        1,
        2.0,
    )
    assert (result.backward_moves, result.backward_keys) == (2, ("DATA-6",))
    assert (result.bugs_created, result.bug_keys, result.bugs_per_finished) == (1, ("DATA-7",), 1.0)


def test_extra_features_cancelled_after_start_and_retired_unpublished_deliverables():
    log = Log().create(1, at(1)).move(1, at(2), DOING).add(1, "blocked", at(2, 12), to_value="x")
    log.add(1, "unblocked", at(2, 15)).move(1, at(3), WONTDO)
    log.create(2, at(1)).move(2, at(3), WONTDO)  # never started
    log.create(3, at(1)).move(3, at(2), DONE).move(3, at(3), WONTDO)  # done without a start, then cancelled
    deliverables = [
        Deliverable(1, "Old report", "report", published_at=None, retired_at=at(4)),
        Deliverable(2, "Live dashboard", "dashboard", published_at=at(2), retired_at=at(4)),
        Deliverable(3, "Ancient dataset", "dataset", retired_at=at(20, month=2)),
    ]
    result = waste.extra_features(log.history(AS_OF), deliverables=deliverables, **WINDOW)
    assert [(c.key, c.cancelled_at, c.active_hours) for c in result.cancelled_after_start] == [
        ("DATA-1", at(3), 21.0),
        ("DATA-3", at(3), 0.0),
    ]
    assert (result.n, result.active_hours, result.retired_unpublished) == (2, 21.0, ("Old report",))


def test_mismanaging_the_backlog():
    sprint = Sprint(1, "Sprint 1", day(4), day(8), at(4, 8), at(8, 17))
    log = Log().create(1, at(1), sprint=1, points=4).add(1, "sprint", at(5), to_value=None)
    log.create(2, at(1), points=2).add(2, "sprint", at(5), to_value=1)
    log.create(3, at(1), sprint=1, points=4)
    for story, ranks in ((4, 3), (5, 2), (6, 3)):
        log.create(story, at(1))
        for hour in range(ranks):
            log.add(story, "rank", at(2, 10 + hour), to_value="V")
    log.move(6, at(3), DOING)
    result = waste.backlog_churn(log.history(AS_OF), sprints=[sprint], **WINDOW)
    assert [(s.name, s.scope_churn, s.added_points, s.removed_points) for s in result.sprints] == [
        ("Sprint 1", 6 / 8, 2, 4)
    ]
    assert (result.reranked_unstarted, result.n) == (("DATA-4",), 1)


def test_relearning_after_more_than_five_silent_days():
    log = Log().create(1, at(1), assignee="ann").move(1, at(1, 10), DOING).add(1, "assignee", at(7, 11), to_value="bob")
    log.create(2, at(1)).add(2, "rank", at(8), to_value="V")  # silent but never started
    log.create(3, at(1)).move(3, at(1, 10), DOING).add(3, "updated", at(6, 10), field="title")  # exactly 5 days
    result = waste.relearning(log.history(AS_OF), **WINDOW)
    assert (result.gaps, result.keys, result.resumed_by_other, result.other_keys) == (1, ("DATA-1",), 1, ("DATA-1",))


def test_the_waste_report_on_an_empty_log_is_all_nulls_and_zeros():
    report = waste.waste_report([], stories=[], workflow=WORKFLOW, as_of=AS_OF)
    assert report.partially_done == ()
    assert report.waiting.flow_efficiency is None and report.waiting.n == 0
    assert report.task_switching.mean_stories is None
    assert report.rework.reopen_ratio is None and report.rework.bugs_per_finished is None
    assert report.handoffs.mean_assignees is None
    assert to_jsonable(report)["relearning"]["gaps"] == 0


@pytest.mark.parametrize("limit", [0, 2])
def test_the_waste_report_gathers_every_signal(limit):
    report = waste.waste_report(_switching_log().history(at(5, 12)), switching_limit=limit)
    assert report.task_switching.limit == limit
    assert len(report.task_switching.flagged) == (4 if limit == 0 else 1)


def _trend_log() -> Log:
    log = Log().create(1, at(1), sprint=1, points=3, assignee="ann").move(1, at(2, 10), DOING)
    log.add(1, "blocked", at(3, 9), to_value="data").add(1, "unblocked", at(3, 21)).move(1, at(4, 10), DONE)
    log.move(1, at(10, 9), DOING)  # reopened in sprint 2
    log.create(2, at(1), sprint=1, points=5, assignee="ann").move(2, at(3, 9), DOING)
    log.add(2, "assignee", at(5, 9), to_value="bob").add(2, "sprint", at(8, 9), to_value=2).move(2, at(12, 9), DONE)
    log.create(3, at(1)).move(3, at(3, 9), DOING)  # silent for 7 days while started, then resumed by cat
    log.add(3, "assignee", at(10, 9), to_value="cat").move(3, at(11, 9), WONTDO)
    log.create(4, at(1), points=5).add(4, "sprint", at(10, 12), to_value=2)  # added after sprint 2 started
    return log


TREND_SPRINTS = [
    Sprint(2, "Sprint 2", day(9), day(13), at(9, 8), at(13, 17)),
    Sprint(1, "Sprint 1", day(2), day(6), at(2, 8), at(6, 17)),
    Sprint(3, "Sprint 3", day(14), day(18), at(14, 8), None),  # still open: no trend point
]


def _figures(entry: waste.SprintWaste) -> dict[str, tuple]:
    figures = {name: getattr(entry, name) for name in waste.WASTES}
    return {name: (f.value, f.n, f.keys) for name, f in figures.items()}


def test_the_waste_trend_gives_each_headline_per_closed_sprint_as_of_its_close():
    trend = waste.waste_trend(_trend_log().history(at(15, 12)), sprints=TREND_SPRINTS, switching_limit=1)
    assert [(s.name, s.start, s.end, s.closed_at) for s in trend] == [
        ("Sprint 1", day(2), day(6), at(6, 17)),
        ("Sprint 2", day(9), day(13), at(13, 17)),
    ]
    # Sprint 1: DATA-1 is done at the close (it is reopened later: as of today it is not finished).
    assert _figures(trend[0]) == {
        "partially_done": (1, 2, ("DATA-2",)),  # carried over / stories in the sprint at the close
        "waiting": (12.0, 1, ("DATA-1",)),  # blocked 12 h while in progress
        "task_switching": (2, 6, ("DATA-1", "DATA-2")),  # ann on days 3 and 4 / ann 2-5, bob 5-6
        "handoffs": (1, 1, ("DATA-2",)),
        "rework": (0.0, 1, ()),
        "extra_features": (0, 0, ()),
        "backlog": (0.0, 2, ()),
        "relearning": (0, 0, ()),
    }
    assert _figures(trend[1]) == {
        "partially_done": (1, 2, ("DATA-4",)),
        "waiting": (0.0, 1, ()),  # DATA-2 was in progress from Start to Finish
        "task_switching": (0, 10, ()),  # bob 9-12, ann 10-13, cat 10-11
        "handoffs": (1, 1, ("DATA-3",)),
        "rework": (1.0, 1, ("DATA-1",)),  # 1 reopen / 1 finished
        "extra_features": (1, 1, ("DATA-3",)),
        "backlog": (1.0, 1, ("DATA-4",)),  # 5 points added / 5 committed
        "relearning": (1, 1, ("DATA-3",)),
    }
    assert [s.name for s in waste.waste_trend(_trend_log().history(at(15, 12)), sprints=TREND_SPRINTS, last=1)] == [
        "Sprint 2"
    ]
    assert waste.waste_trend(_trend_log().history(at(15, 12)), sprints=TREND_SPRINTS, last=0) == []
    assert to_jsonable(trend[1])["rework"] == {"value": 1.0, "n": 1, "keys": ["DATA-1"]}


@pytest.mark.parametrize("moment", [at(1), at(3, 12), at(4, 10), at(6, 17), at(10, 9), at(12)])
def test_history_at_a_moment_equals_a_replay_up_to_it(moment):
    log = _trend_log()
    cut = waste.history_at(log.history(at(15, 12)), moment)
    replayed = log.history(moment)
    assert cut.as_of == moment and cut.n_events == replayed.n_events
    assert cut.sprint_members == replayed.sprint_members
    for report in (
        lambda h: waste.waste_report(h, sprints=TREND_SPRINTS, start=day(1), switching_limit=1),
        lambda h: waste.waste_trend(h, sprints=TREND_SPRINTS),
    ):
        assert to_jsonable(report(cut)) == to_jsonable(report(replayed))


def test_published_deliverables_whose_bound_run_failed_are_defects_in_their_window():
    from datetime import timedelta

    week = timedelta(days=7)
    log = Log().create(1, at(1)).move(1, at(2), DOING).move(1, at(3), DONE)
    failing = Deliverable(1, "Orders dataset", "dataset", published_at=at(2), failed_runs=(at(3), at(4)))
    before = Deliverable(2, "Old report", "report", published_at=at(1) - week, failed_runs=(at(1) - week,))
    later = Deliverable(3, "Churn model", "ML model", published_at=at(2), failed_runs=(AS_OF + week,))
    result = waste.rework(log.history(AS_OF), deliverables=[failing, before, later], **WINDOW)
    assert (result.failed_deliverables, result.failed_deliverable_names) == (2, ("Orders dataset",))
    report = waste.waste_report(log.history(AS_OF), deliverables=[failing], **WINDOW)
    assert report.rework.failed_deliverables == 2
