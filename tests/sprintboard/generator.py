"""A seeded generator of plausible project histories for the engine tests and benchmarks.

``generate(seed=..., stories=...)`` returns a :class:`Project`: a workflow whose
state ids differ from their positions, sprints (closed ones and one open),
deliverables, stories and their event log in ``seq`` order. Each story walks
through the workflow with reopens, skipped states, moves back, blocks (with
reason changes), sprint moves, re-estimates, reassignments, rank changes,
cancellations (also after done), deletions and restores. Some events fall
exactly on local midnight, on a sprint's start or close, or share an instant.

Reusable by the database benchmark: only the standard library is needed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sprintboard.records import Deliverable, Event, Sprint, State, Story

__all__ = ["PEOPLE", "Project", "WORKFLOW", "generate"]

UTC = UTC
WORKFLOW = (
    State(17, "Backlog", "backlog", 0),
    State(12, "Ready", "todo", 1),
    State(15, "In progress", "active", 2),
    State(11, "Waiting", "waiting", 3),
    State(14, "Validating", "active", 4),
    State(13, "Done", "done", 5),
    State(16, "Won't do", "cancelled", 6),
)
PEOPLE = ("ann", "bob", "cat", "dev", "eve", "fay")
REASONS = ("data access", "upstream pipeline", "review", "stakeholder")
POINTS = (None, 0.5, 1, 2, 3, 5, 8, 13)
KINDS = ("story", "story", "story", "bug", "chore", "spike")


@dataclass(frozen=True)
class Project:
    workflow: tuple[State, ...]
    sprints: tuple[Sprint, ...]
    deliverables: tuple[Deliverable, ...]
    stories: tuple[Story, ...]
    events: tuple[Event, ...]
    tz: str
    start: date
    as_of: datetime


def _local(day: date, hour: float, zone: ZoneInfo) -> datetime:
    moment = datetime.combine(day, time(0), tzinfo=zone) + timedelta(hours=hour)
    return moment.astimezone(UTC)


def _sprints(start: date, count: int, zone: ZoneInfo, rng: random.Random) -> list[Sprint]:
    sprints = []
    for index in range(count):
        first = start + timedelta(days=14 * index)
        end = first + timedelta(days=13)
        started = _local(first, rng.choice((0, 9.5, 10, 13.25)), zone)
        closed = _local(end, rng.choice((16, 17.5, 24)), zone) if index < count - 1 else None
        sprints.append(Sprint(index + 1, f"Sprint {index + 1}", first, end, started, closed))
    return sprints


class _Walk:
    """One story's random walk; appends (at, kind, from, to, field) tuples."""

    def __init__(
        self,
        rng: random.Random,
        story_id: int,
        created: datetime,
        until: datetime,
        sprints: list[Sprint],
        zone: ZoneInfo,
        steps: tuple[int, int] = (2, 18),
    ):
        self.rng, self.story_id, self.until, self.sprints, self.zone = rng, story_id, until, sprints, zone
        self.steps = steps
        self.at = created
        self.state = rng.choices((17, 12, 15, 13), weights=(60, 30, 6, 4))[0]
        self.sprint = self._sprint_near(created) if rng.random() < 0.6 else None
        self.points = rng.choice(POINTS)
        self.assignee = rng.choice((None,) + PEOPLE)
        self.blocked: str | None = None
        self.deleted = False
        self.out: list[tuple] = [
            (
                created,
                "created",
                None,
                {"state": self.state, "sprint": self.sprint, "points": self.points, "assignee": self.assignee},
                None,
            )
        ]

    def _sprint_near(self, moment: datetime) -> int | None:
        open_ = [s.id for s in self.sprints if s.started_at <= moment and (s.closed_at is None or moment < s.closed_at)]
        later = [s.id for s in self.sprints if s.started_at > moment]
        pool = open_ + later[:1]
        return self.rng.choice(pool) if pool else None

    def _advance(self) -> bool:
        rng = self.rng
        roll = rng.random()
        if roll < 0.08:
            gap = timedelta(0)
        elif roll < 0.12:
            gap = timedelta(days=rng.uniform(5.2, 9))
        else:
            gap = timedelta(hours=rng.expovariate(1 / 30))
        moment = self.at + gap
        if rng.random() < 0.05:  # exactly local midnight
            local = moment.astimezone(self.zone)
            moment = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=self.zone).astimezone(UTC)
        elif rng.random() < 0.03:  # exactly a sprint boundary
            marks = [m for s in self.sprints for m in (s.started_at, s.closed_at) if m is not None and m >= self.at]
            moment = min(marks) if marks else moment
        moment = moment.replace(microsecond=0)
        if moment > self.until:
            return False
        self.at = moment
        return True

    def emit(self, kind: str, old: object, new: object, field: str | None = None) -> None:
        self.out.append((self.at, kind, old, new, field))

    def run(self) -> list[tuple]:
        steps = self.rng.randint(*self.steps)
        for _ in range(steps):
            if not self._advance():
                break
            if self.deleted:
                if self.rng.random() < 0.5:
                    self.deleted = False
                    self.emit("restored", None, None)
                continue
            self._step()
            if self.state in (13, 16) and self.rng.random() < 0.5:
                break
        return self.out

    def _step(self) -> None:
        kind = self.rng.choices(
            ("state", "sprint", "points", "assignee", "block", "rank", "updated", "deleted"),
            weights=(45, 10, 7, 9, 9, 9, 6, 1.5),
        )[0]
        getattr(self, f"_{kind}")()

    def _state(self) -> None:
        order = [s.id for s in WORKFLOW]
        index = order.index(self.state)
        rng = self.rng
        if self.state == 13:  # done: reopen or cancel after done
            target = rng.choice((15, 12, 14, 16))
        elif self.state == 16:
            target = rng.choice((12, 17))
        else:
            roll = rng.random()
            if roll < 0.6:
                target = order[min(index + 1, 5)]
            elif roll < 0.75:
                target = order[min(index + rng.randint(2, 4), 5)]  # skip states
            elif roll < 0.9:
                target = order[max(index - rng.randint(1, 2), 0)]  # move back
            elif roll < 0.95:
                target = 13  # straight to done
            else:
                target = 16
        if target != self.state:
            self.emit("state", self.state, target)
            self.state = target

    def _sprint(self) -> None:
        target = None if self.rng.random() < 0.3 else self._sprint_near(self.at)
        if target != self.sprint:
            self.emit("sprint", self.sprint, target)
            self.sprint = target

    def _points(self) -> None:
        target = self.rng.choice(POINTS)
        if target != self.points:
            self.emit("points", self.points, target)
            self.points = target

    def _assignee(self) -> None:
        target = self.rng.choice((None,) + PEOPLE + PEOPLE)
        if target != self.assignee:
            self.emit("assignee", self.assignee, target)
            self.assignee = target

    def _block(self) -> None:
        if self.blocked is not None and self.rng.random() < 0.6:
            self.emit("unblocked", None, None)
            self.blocked = None
        else:
            reason = self.rng.choice(REASONS)
            self.emit("blocked", None, reason)
            self.blocked = reason

    def _rank(self) -> None:
        self.emit("rank", "a", "b")

    def _updated(self) -> None:
        self.emit("updated", None, None, field=self.rng.choice(("title", "description", "labels")))

    def _deleted(self) -> None:
        self.deleted = True
        self.emit("deleted", None, None)


def generate(
    *,
    seed: int = 0,
    stories: int = 1000,
    sprints: int = 8,
    tz: str = "Europe/Amsterdam",
    start: date = date(2024, 2, 19),
    deliverables: int = 30,
    steps: tuple[int, int] = (2, 18),
) -> Project:
    """A project history: ``stories`` stories over ``sprints`` two-week sprints from ``start``;
    each story's walk takes between ``steps[0]`` and ``steps[1]`` steps (fewer when it ends in done)."""
    rng, zone = random.Random(seed), ZoneInfo(tz)
    sprint_list = _sprints(start, sprints, zone, rng)
    as_of = _local(start + timedelta(days=14 * sprints - 4), 15.5, zone)
    origin = _local(start - timedelta(days=21), 8, zone)
    items = _deliverables(rng, deliverables, origin, as_of)
    story_list, rows = [], []
    span = (as_of - origin).total_seconds()
    for story_id in range(1, stories + 1):
        created = (origin + timedelta(seconds=rng.uniform(0, span) ** 1 * 0.97)).replace(microsecond=0)
        linked = rng.choice(items).id if items and rng.random() < 0.4 else None
        story_list.append(Story(story_id, f"DATA-{story_id}", rng.choice(KINDS), created, linked))
        for order, row in enumerate(_Walk(rng, story_id, created, as_of, sprint_list, zone, steps).run()):
            rows.append((row[0], story_id, order, row))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    events = tuple(
        Event(seq, story_id, row[1], row[0], row[4], row[2], row[3], rng.choice(PEOPLE))
        for seq, (_, story_id, _, row) in enumerate(rows, start=1)
    )
    return Project(WORKFLOW, tuple(sprint_list), tuple(items), tuple(story_list), events, tz, start, as_of)


def _deliverables(rng: random.Random, count: int, origin: datetime, as_of: datetime) -> list[Deliverable]:
    kinds = ("dashboard", "dataset", "report", "ML model", "pipeline")
    span = (as_of - origin).total_seconds()
    items = []
    for index in range(1, count + 1):
        published = origin + timedelta(seconds=rng.uniform(0.3, 1.1) * span) if rng.random() < 0.7 else None
        retired = origin + timedelta(seconds=rng.uniform(0.5, 1.0) * span) if rng.random() < 0.2 else None
        if published is not None and retired is not None and retired < published:
            published = None
        items.append(Deliverable(index, f"Deliverable {index}", rng.choice(kinds), published, retired))
    return items
