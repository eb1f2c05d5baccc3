"""The engine against an independent pandas computation, on generated histories.

The generator makes 1,200 stories over eight sprints in Europe/Amsterdam (a
daylight-saving change inside the history) with reopens, blocks, skipped
states, moves back, sprint moves, re-estimates, cancellations and deletions.
Each check runs at the end of the history and at an as-of in the middle of it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from sprintboard import flow, sprints
from sprintboard.history import replay
from tests.sprintboard.generator import generate
from tests.sprintboard.oracle import Oracle

PROJECT = generate(seed=20240331, stories=1200, sprints=8)
AS_OFS = {
    "end": PROJECT.as_of,
    "middle": PROJECT.as_of - timedelta(days=47, hours=5, minutes=13),
}


@pytest.fixture(scope="module", params=sorted(AS_OFS))
def case(request):
    as_of = AS_OFS[request.param]
    context = {"workflow": PROJECT.workflow, "stories": PROJECT.stories, "tz": PROJECT.tz, "as_of": as_of}
    history = replay(PROJECT.events, **context)
    oracle = Oracle(events=PROJECT.events, **context)
    first = PROJECT.start - timedelta(days=10)
    return history, oracle, first, history.as_of_day


def test_the_history_is_big_and_awkward_enough():
    kinds = {e.kind for e in PROJECT.events}
    assert len(PROJECT.stories) >= 1000
    assert {"state", "sprint", "points", "blocked", "unblocked", "deleted", "restored", "rank", "assignee"} <= kinds


def test_cycle_times_match(case):
    history, oracle, first, last = case
    engine = {c.key: (c.days, c.hours) for c in flow.cycle_times(history, start=first, end=last)}
    expected = oracle.cycle_times(first, last)
    assert engine.keys() == expected.keys()
    assert len(engine) > 100
    for key, (days, hours) in expected.items():
        assert engine[key][0] == days, key
        assert engine[key][1] == pytest.approx(hours), key


def test_throughput_matches(case):
    history, oracle, first, last = case
    engine = [d.count for d in flow.throughput(history, start=first, end=last)]
    assert engine == oracle.throughput(first, last)


def test_wip_and_cfd_match(case):
    history, oracle, first, last = case
    bands = oracle.cfd(first, last)
    engine = flow.cfd(history, start=first, end=last)
    for state, counts in bands.items():
        assert [day.counts[state] for day in engine] == counts, state
    assert [d.count for d in flow.wip(history, start=first, end=last)] == oracle.wip(first, last)


def test_flow_efficiency_matches(case):
    history, oracle, first, last = case
    ratio, per_story = oracle.flow_efficiency(first, last)
    engine = flow.flow_efficiency(history, start=first, end=last)
    assert engine.efficiency == pytest.approx(ratio)
    assert {s.key for s in engine.stories} == per_story.keys()
    for story in engine.stories:
        active, wait = per_story[story.key]
        assert story.active_hours == pytest.approx(active, abs=1e-6), story.key
        assert story.wait_hours == pytest.approx(wait, abs=1e-6), story.key


def _started(history):
    return [s for s in PROJECT.sprints if s.started_at <= history.as_of]


def test_sprint_reports_match(case):
    history, oracle, _, _ = case
    for sprint in _started(history):
        report = sprints.sprint_report(history, sprint=sprint)
        expected = oracle.sprint_report(sprint)
        for name in ("committed", "already_done", "added", "removed", "completed", "cancelled", "not_completed"):
            assert list(getattr(report, name)) == expected[name], (sprint.name, name)
        assert sorted((r.key, r.old_points, r.new_points) for r in report.reestimated) == expected["reestimated"]
        for name in ("committed_points", "added_points", "removed_points", "completed_points"):
            assert getattr(report, name) == pytest.approx(expected[name]), (sprint.name, name)
        assert report.identity.holds, sprint.name


def test_burndowns_match(case):
    history, oracle, _, _ = case
    for sprint in _started(history):
        report = sprints.sprint_report(history, sprint=sprint)
        engine = [
            (d.date, d.remaining_points, d.scope_points, d.completed_points)
            for d in report.burndown
            if d.remaining_points is not None
        ]
        expected = oracle.sprint_report(sprint)["burndown"]
        assert [d[0] for d in engine] == [d[0] for d in expected], sprint.name
        for mine, theirs in zip(engine, expected, strict=False):
            assert mine[1:] == pytest.approx(theirs[1:]), (sprint.name, mine[0])
