"""The replay: one pass, nothing after as-of, and clear errors for bad input."""

from __future__ import annotations

from datetime import datetime

import pytest

from sprintboard.errors import EngineError
from sprintboard.history import replay
from sprintboard.records import Event, State, Workflow, to_jsonable
from tests.sprintboard.builders import DOING, DONE, READY, WORKFLOW, Log, at

AS_OF = at(10)


def _replay(events, stories, **options):
    return replay(events, stories=stories, workflow=WORKFLOW, as_of=options.pop("as_of", AS_OF), **options)


def test_nothing_after_as_of_is_seen():
    log = Log().create(1, at(1)).move(1, at(2), DOING).move(1, at(5), DONE)
    history = log.history(at(3))
    line = history.timelines[1]
    assert line.state == DOING and line.finish is None and history.n_events == 2


def test_timelines_record_every_kind_of_change():
    log = Log().create(1, at(1), sprint=4, points=2, assignee="ann")
    log.add(1, "sprint", at(2), to_value=None).add(1, "points", at(2, 10), to_value=None)
    log.add(1, "assignee", at(3), to_value="bob").add(1, "rank", at(3, 10), to_value="V")
    log.add(1, "updated", at(4), field="title").add(1, "blocked", at(5), to_value="access").add(1, "unblocked", at(6))
    line = log.history(AS_OF).timelines[1]
    assert line.sprints == [(at(1), 4), (at(2), None)]
    assert line.points_at(at(2, 11)) is None and line.assignee_at(at(4)) == "bob"
    assert line.ranks == [at(3, 10)] and line.blocks == [(at(5), at(6), "access")]
    assert len(line.event_times) == 8
    assert line.sprint_at(at(2), strict=True) == 4 and line.sprint_at(at(2)) is None


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [Event(2, 1, "created", at(1), to_value={"state": READY}), Event(1, 1, "state", at(2), to_value=DOING)],
            "events out of order: seq 1 comes after seq 2",
        ),
        (
            [Event(1, 1, "created", at(2), to_value={"state": READY}), Event(2, 1, "state", at(1), to_value=DOING)],
            "times must not decrease with seq",
        ),
        ([Event(1, 1, "created", at(1), to_value={"state": 99})], "enters unknown state 99"),
        (
            [Event(1, 1, "created", at(1), to_value={"state": READY}), Event(2, 1, "state", at(2), to_value=42)],
            "enters unknown state 42",
        ),
        ([Event(1, 2, "created", at(1), to_value={"state": READY})], "refers to story 2, which is not in stories"),
        ([Event(1, 1, "state", at(1), to_value=DOING)], "first event is 'state'; expected 'created'"),
        (
            [Event(1, 1, "created", at(1), to_value={"state": READY}), Event(2, 1, "moved", at(2))],
            "unknown event kind 'moved'",
        ),
        (
            [Event(1, 1, "created", at(1), to_value={"state": READY}), Event(2, 1, "created", at(2), to_value={})],
            "is created a second time",
        ),
        (
            [Event(1, 1, "created", at(1), to_value={"state": READY}), Event(2, 1, "points", at(2), to_value="five")],
            "points must be a number >= 0 or None",
        ),
        ([Event(1, 1, "created", at(1), to_value=READY)], "'created' needs to_value="),
        ([Event(1, 1, "created", datetime(2024, 3, 1), to_value={"state": READY})], "naive datetime"),
    ],
)
def test_invalid_input_raises_one_error_type_that_says_what_is_wrong(events, message):
    stories = Log().create(1, at(1)).stories
    with pytest.raises(EngineError, match=message):
        _replay(events, stories)


def test_context_errors():
    with pytest.raises(EngineError, match="unknown time zone 'Mars/Olympus'"):
        Log().history(AS_OF, tz="Mars/Olympus")
    with pytest.raises(EngineError, match="as_of must be a tz-aware datetime"):
        replay([], stories=[], workflow=WORKFLOW, as_of=datetime(2024, 3, 1))
    with pytest.raises(EngineError, match="appears twice"):
        Workflow([State(1, "A", "todo", 0), State(1, "B", "done", 1)])
    with pytest.raises(EngineError, match="is a ValueError|"):
        raise EngineError("is a ValueError")
    assert issubclass(EngineError, ValueError)


def test_to_jsonable_writes_utc_and_refuses_naive_datetimes():
    assert to_jsonable(at(1, 9, tz="Europe/Amsterdam")) == "2024-03-01T08:00:00Z"
    with pytest.raises(EngineError, match="has no time zone"):
        to_jsonable(datetime(2024, 3, 1))
    with pytest.raises(EngineError, match="cannot turn a object into JSON"):
        to_jsonable(object())
