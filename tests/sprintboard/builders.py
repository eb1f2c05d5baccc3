"""A tiny builder of hand-written event logs for the engine tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sprintboard.history import History, replay
from sprintboard.records import Event, State, Story

UTC = UTC
BACKLOG, READY, DOING, REVIEW, CHECK, DONE, WONTDO = 1, 2, 3, 4, 5, 6, 7
WORKFLOW = (
    State(BACKLOG, "Backlog", "backlog", 0),
    State(READY, "Ready", "todo", 1),
    State(DOING, "In progress", "active", 2),
    State(REVIEW, "Review", "waiting", 3),
    State(CHECK, "Validating", "active", 4),
    State(DONE, "Done", "done", 5),
    State(WONTDO, "Won't do", "cancelled", 6),
)


def at(day: int, hour: float = 9, *, month: int = 3, tz: str = "UTC") -> datetime:
    """A moment in March 2024 (by default), given in ``tz``, returned in UTC."""
    whole = int(hour)
    minute = round((hour - whole) * 60)
    return datetime(2024, month, day, whole, minute, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def day(number: int, *, month: int = 3) -> date:
    return date(2024, month, number)


class Log:
    """Stories and their events, with seq numbers handed out in order."""

    def __init__(self) -> None:
        self.stories: list[Story] = []
        self.events: list[Event] = []

    def create(
        self,
        story_id: int,
        moment: datetime,
        *,
        state: int = READY,
        sprint: int | None = None,
        points: float | None = None,
        assignee: str | None = None,
        kind: str = "story",
        deliverable_id: int | None = None,
    ) -> Log:
        self.stories.append(Story(story_id, f"DATA-{story_id}", kind, moment, deliverable_id))
        snapshot = {"state": state, "sprint": sprint, "points": points, "assignee": assignee}
        return self.add(story_id, "created", moment, to_value=snapshot)

    def add(
        self,
        story_id: int,
        kind: str,
        moment: datetime,
        *,
        from_value: object = None,
        to_value: object = None,
        field: str | None = None,
    ) -> Log:
        self.events.append(Event(len(self.events) + 1, story_id, kind, moment, field, from_value, to_value, "ann"))
        return self

    def move(self, story_id: int, moment: datetime, state: int) -> Log:
        return self.add(story_id, "state", moment, to_value=state)

    def log(self) -> list[Event]:
        """The events in time order (stable for equal times), numbered again from 1."""
        ordered = sorted(self.events, key=lambda e: (e.at, e.seq))
        return [replace(e, seq=seq) for seq, e in enumerate(ordered, start=1)]

    def history(self, as_of: datetime, *, tz: str = "UTC") -> History:
        return replay(self.log(), stories=self.stories, workflow=WORKFLOW, tz=tz, as_of=as_of)
