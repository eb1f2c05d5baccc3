"""The flow projection, advanced one event at a time, equals what the engine's replay says of each story.

The services keep ``sprintboard.projection.StoryFlow`` on every story row by calling ``advance`` for each
event they append; ``of_timeline`` reads the same facts off ``history.replay``. Hypothesis writes logs the
way the services do (one ``created`` first, state changes to another state, ``blocked`` only for a new
block or a new reason, ``unblocked`` only while blocked, times never decreasing with seq, several events of
one change sharing its time) and requires the two to agree, at the end of the log and at any cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sprintboard import history, projection
from sprintboard.errors import EngineError
from sprintboard.records import Event, State, Story, Workflow

BACKLOG, READY, DOING, WAITING, CHECK, DONE, SHIPPED, WONTDO = range(1, 9)
# Two done states, so that done -> done (which keeps the first Finish) can happen.
WORKFLOW = Workflow(
    [
        State(BACKLOG, "Backlog", "backlog", 0),
        State(READY, "Ready", "todo", 1),
        State(DOING, "In progress", "active", 2),
        State(WAITING, "Waiting", "waiting", 3),
        State(CHECK, "Validating", "active", 4),
        State(DONE, "Done", "done", 5),
        State(SHIPPED, "Shipped", "done", 6),
        State(WONTDO, "Won't do", "cancelled", 7),
    ]
)
STATES = [state.id for state in WORKFLOW]
# State changes go to done more often than the workflow's share, so that done -> done, and leaving done, are common.
TARGETS = [*STATES, DONE, SHIPPED, DONE, SHIPPED]
REASONS = ["waiting for access", "upstream late", "needs review"]
T0 = datetime(2024, 3, 1, 9, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


# --- A service-shaped log -----------------------------------------------------------------


@dataclass
class Row:
    """What the writer knows of a story, so that it logs only what a service would."""

    state: int
    reason: str | None = None  # the open block's reason, None when not blocked
    deleted: bool = False


@dataclass
class Writer:
    """Appends events as the services do: seq gapless, time never decreasing."""

    stories: list[Story] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    rows: dict[int, Row] = field(default_factory=dict)
    now: datetime = T0

    def add(self, story_id: int, kind: str, *, to_value: object = None, from_value: object = None) -> None:
        self.events.append(
            Event(len(self.events) + 1, story_id, kind, self.now, from_value=from_value, to_value=to_value)
        )

    def create(self, state: int) -> int:
        story_id = len(self.stories) + 1
        self.stories.append(Story(story_id, f"DATA-{story_id}", "story", self.now))
        self.rows[story_id] = Row(state)
        self.add(story_id, "created", to_value={"state": state, "sprint": None, "points": None, "assignee": None})
        return story_id

    def step(self, story_id: int, action: str, value: int) -> None:
        """One service call's events for ``action``; an action no service would log here is skipped."""
        row = self.rows[story_id]
        if action == "state":
            target = TARGETS[value % len(TARGETS)]
            if target != row.state:
                self.add(story_id, "state", from_value=row.state, to_value=target)
                row.state = target
        elif action == "state_and_block":  # one story_update changing the state and blocking: one time
            target = TARGETS[value % len(TARGETS)]
            reason = REASONS[value % len(REASONS)]
            if target != row.state:
                self.add(story_id, "state", from_value=row.state, to_value=target)
                row.state = target
            if row.reason != reason:
                self.add(story_id, "blocked", to_value=reason)
                row.reason = reason
        elif action == "blocked":
            reason = REASONS[value % len(REASONS)]
            if row.reason != reason:  # a new block or a new reason; the same reason again logs nothing
                self.add(story_id, "blocked", to_value=reason)
                row.reason = reason
        elif action == "unblocked":
            if row.reason is not None:
                self.add(story_id, "unblocked")
                row.reason = None
        elif action == "deleted":
            if not row.deleted:
                self.add(story_id, "deleted")
                row.deleted = True
        elif action == "restored":
            if row.deleted:
                self.add(story_id, "restored")
                row.deleted = False
        elif action == "sprint":
            self.add(story_id, "sprint", to_value=value % 3 or None)
        elif action == "points":
            self.add(story_id, "points", to_value=value % 8)
        elif action == "assignee":
            self.add(story_id, "assignee", to_value=f"user{value % 3}")
        elif action == "rank":
            self.add(story_id, "rank", from_value="a0", to_value=f"a{value}")
        elif action == "rebalanced":
            self.add(story_id, "rebalanced", to_value={f"DATA-{story_id}": f"b{value}"})
        elif action == "updated":
            self.add(story_id, "updated", to_value=f"title {value}")


ACTIONS = [
    "state", "state", "state", "state_and_block", "blocked", "unblocked", "deleted", "restored",
    "sprint", "points", "assignee", "rank", "rebalanced", "updated", "create",
]  # fmt: skip
# Many steps share a time (0), as the events of one service call do; others are seconds to days apart.
GAPS = st.sampled_from([0.0, 0.0, 0.0, 1 / 3600, 0.25, 1.0, 5.0, 30.0, 200.0])
STEP = st.tuples(st.sampled_from(ACTIONS), st.integers(0, 50), st.integers(0, 50), GAPS)


def write(first_states: list[int], steps: list[tuple[str, int, int, float]]) -> Writer:
    writer = Writer()
    for state in first_states:
        writer.create(state)
    for action, which, value, gap in steps:
        writer.now += timedelta(hours=gap)
        if action == "create":
            writer.create(TARGETS[value % len(TARGETS)])
        else:
            writer.step(which % len(writer.stories) + 1, action, value)
    return writer


def folded(events: list[Event]) -> dict[int, projection.StoryFlow]:
    """The projection as the services keep it: ``advance`` per event, with the category of the story's
    state after the change (the services pass it for every kind; only created and state read it)."""
    flows: dict[int, projection.StoryFlow] = {}
    states: dict[int, int] = {}
    for event in events:
        if event.kind in ("created", "state"):
            states[event.story_id] = event.to_value["state"] if event.kind == "created" else event.to_value
        category = WORKFLOW.category(states[event.story_id])
        flows[event.story_id] = projection.advance(
            flows.get(event.story_id), kind=event.kind, at=event.at, category=category
        )
    return flows


def replayed(writer: Writer, as_of: datetime) -> dict[int, projection.StoryFlow]:
    result = history.replay(writer.events, stories=writer.stories, workflow=WORKFLOW, tz="UTC", as_of=as_of)
    return {story_id: projection.of_timeline(line, WORKFLOW) for story_id, line in result.timelines.items()}


# --- The property -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first_states=st.lists(st.sampled_from(STATES), min_size=1, max_size=4),
    steps=st.lists(STEP, min_size=5, max_size=80),
    cut=st.integers(0, 10_000),
)
def test_advancing_event_by_event_equals_the_replay(first_states, steps, cut):
    writer = write(first_states, steps)
    end = writer.events[-1].at
    assert folded(writer.events) == replayed(writer, as_of=end)
    # At any moment of the log: the replay sees every event up to as-of, ties included.
    as_of = writer.events[cut % len(writer.events)].at
    seen = [event for event in writer.events if event.at <= as_of]
    assert folded(seen) == replayed(writer, as_of=as_of)


@settings(max_examples=50, deadline=None)
@given(first_states=st.lists(st.sampled_from(STATES), min_size=1, max_size=3), steps=st.lists(STEP, max_size=40))
def test_the_projection_is_the_same_with_the_replay_as_of_later(first_states, steps):
    writer = write(first_states, steps)
    assert replayed(writer, as_of=writer.events[-1].at) == replayed(
        writer, as_of=writer.events[-1].at + timedelta(days=400)
    )


# --- Examples -----------------------------------------------------------------------------------


def fold_one(*steps: tuple[str, float, int | str | None]) -> projection.StoryFlow:
    """``(kind, hours after T0, state id or reason)`` for one story, folded with ``advance``."""
    flow, state = None, None
    for kind, hours, value in steps:
        if kind in ("created", "state"):
            state = value
        flow = projection.advance(flow, kind=kind, at=at(hours), category=WORKFLOW.category(state))
    return flow


def test_each_exit_from_done_counts_as_a_reopen():
    flow = fold_one(
        ("created", 0, READY), ("state", 1, DOING), ("state", 2, DONE), ("state", 3, DOING),
        ("state", 4, DONE), ("state", 5, READY), ("state", 6, WONTDO),
    )  # fmt: skip
    assert flow.reopened == 2
    assert flow.finished_at is None and flow.started_at == at(1) and flow.state_since == at(6)


def test_leaving_a_state_that_is_not_done_is_not_a_reopen():
    flow = fold_one(("created", 0, READY), ("state", 1, DOING), ("state", 2, WAITING), ("state", 3, READY))
    assert flow.reopened == 0


def test_a_story_created_in_a_started_state_starts_at_its_creation():
    flow = fold_one(("created", 5, DOING), ("state", 6, CHECK))
    assert flow.started_at == at(5)
    assert fold_one(("created", 5, WAITING)).started_at == at(5)
    assert fold_one(("created", 5, READY)).started_at is None


def test_a_story_created_done_is_finished_but_never_started():
    flow = fold_one(("created", 2, DONE))
    assert (flow.started_at, flow.finished_at, flow.state_since) == (None, at(2), at(2))


def test_done_to_done_keeps_the_first_finish():
    flow = fold_one(("created", 0, READY), ("state", 1, DOING), ("state", 2, DONE), ("state", 3, SHIPPED))
    assert flow.finished_at == at(2)
    assert flow.state_since == at(3)
    assert flow.reopened == 0


def test_finish_after_a_reopen_is_the_last_entry_into_done():
    flow = fold_one(("created", 0, DOING), ("state", 1, DONE), ("state", 2, DOING), ("state", 3, DONE))
    assert (flow.started_at, flow.finished_at, flow.reopened) == (at(0), at(3), 1)


def test_a_new_blocked_reason_restarts_blocked_since():
    flow = fold_one(("created", 0, DOING), ("blocked", 1, "upstream late"), ("blocked", 3, "needs review"))
    assert flow.blocked_since == at(3)
    assert fold_one(("created", 0, DOING), ("blocked", 1, "x"), ("unblocked", 2, None)).blocked_since is None


def test_the_examples_agree_with_the_replay():
    writer = Writer()
    story = writer.create(READY)
    for hours, action, value in [(1, "state", 2), (2, "blocked", 0), (3, "blocked", 1), (4, "state", 5),
                                 (5, "state", 6), (6, "unblocked", 0), (7, "state", 2), (8, "state", 5)]:  # fmt: skip
        writer.now = at(hours)
        writer.step(story, action, value)
    expected = replayed(writer, as_of=writer.now)[story]
    assert folded(writer.events)[story] == expected
    assert (expected.started_at, expected.finished_at, expected.reopened) == (at(1), at(8), 1)


def test_kinds_that_change_no_flow_fact_return_the_flow_unchanged():
    flow = fold_one(("created", 0, DOING))
    for kind in ("sprint", "points", "assignee", "rank", "rebalanced", "updated", "deleted", "restored"):
        assert projection.advance(flow, kind=kind, at=at(9)) is flow


def test_it_names_what_is_missing():
    with pytest.raises(EngineError, match="first event is 'state'"):
        projection.advance(None, kind="state", at=T0, category="active")
    with pytest.raises(EngineError, match="needs the category"):
        projection.advance(None, kind="created", at=T0)
    with pytest.raises(EngineError, match="needs the category"):
        projection.advance(fold_one(("created", 0, READY)), kind="state", at=T0)


def test_of_timeline_takes_a_plain_mapping_of_categories_too():
    writer = Writer()
    writer.create(DOING)
    writer.now = at(1)
    writer.step(1, "state", 5)  # Done
    line = history.replay(writer.events, stories=writer.stories, workflow=WORKFLOW, as_of=writer.now).timelines[1]
    assert projection.of_timeline(line, WORKFLOW.categories) == projection.of_timeline(line, WORKFLOW)
