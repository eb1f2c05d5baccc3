"""``verify_events``: does every story row, and its flow projection, say what its event log says?

The log is the one source of every number, so a row that disagrees with the replay of its events is a
change that bypassed the services. For each project this checks that the sequence is gapless and ends at
``last_event_seq``, that time never decreases with seq, that replaying every story (deleted ones too)
gives the row's state, sprint, assignee, points, epic, labels, deliverable, blocked flag and reason,
deletion, title, kind, rank and links to other stories, in this project or another (``sprintboard.rows``;
a link is logged on both of its stories), and that the flow projection on each row equals the engine's
replay (``sprintboard.projection.of_timeline``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Min
from django.utils import timezone

from apps.projects.models import Project
from apps.stories.models import Story, StoryEvent, StoryLink
from apps.stories.selectors import FLOW_EVENT_KINDS, engine_stories, engine_workflow, points_value
from sprintboard import history, projection, records, rows
from sprintboard.errors import EngineError


@dataclass(frozen=True)
class Mismatch:
    """One disagreement: ``story`` is a key, or None for a project-wide check (sequence, order)."""

    project: str
    story: str | None
    field: str
    row: Any
    replayed: Any

    def __str__(self) -> str:
        return f"{self.project} {self.story or '-'} {self.field}: row {self.row!r}, replayed {self.replayed!r}"


def verify_project(project: Project) -> Iterator[Mismatch]:
    """Every mismatch between ``project``'s rows and its log (none for a consistent project)."""
    project = Project.objects.get(pk=project.pk)  # the row as it is now, not the caller's copy
    yield from _check_sequence(project)
    events = _events(project)
    stories = {row["pk"]: row for row in _rows(project)}
    yield from _check_order(project, events, {pk: row["key"] for pk, row in stories.items()})
    keys = {row["key"]: pk for pk, row in stories.items()}
    try:
        replayed = rows.replay_rows(events, keys=keys)
    except EngineError as exc:
        yield Mismatch(project.key, None, "log", None, str(exc))
        return
    for pk, row in stories.items():
        yield from _compare(project, row, replayed.get(pk))
    yield from _check_projection(project, events, stories)


def _check_sequence(project: Project) -> Iterator[Mismatch]:
    found = StoryEvent.objects.filter(project=project).aggregate(n=Count("pk"), low=Min("seq"), high=Max("seq"))
    n, high = found["n"], found["high"] or 0
    if n != high or (n and found["low"] != 1):
        yield Mismatch(project.key, None, "seq", f"{n} events, seq {found['low']}..{high}", f"seq 1..{n} without gaps")
    if high != project.last_event_seq:
        yield Mismatch(project.key, None, "last_event_seq", project.last_event_seq, high)
    last_at = StoryEvent.objects.filter(project=project, seq=high).values_list("at", flat=True).first()
    if high and project.last_event_at != last_at:
        yield Mismatch(project.key, None, "last_event_at", project.last_event_at, last_at)
    flows = StoryEvent.objects.filter(project=project, kind__in=FLOW_EVENT_KINDS).aggregate(high=Max("seq"))["high"]
    if not (flows or 0) <= project.flow_seq <= high:  # open boards would miss a WIP or SLE change
        yield Mismatch(project.key, None, "flow_seq", project.flow_seq, f"{flows or 0}..{high}")


def _events(project: Project) -> list[records.Event]:
    columns = ("seq", "story_id", "kind", "field", "at", "to_value")
    rows_ = StoryEvent.objects.filter(project=project).order_by("seq").values_list(*columns)
    return [
        records.Event(seq, story_id, kind, at, field=field, to_value=value)
        for seq, story_id, kind, field, at, value in rows_.iterator(chunk_size=10_000)
    ]


def _check_order(project: Project, events: list[records.Event], keys: dict[int, str]) -> Iterator[Mismatch]:
    for before, after in zip(events, events[1:], strict=False):
        if after.at < before.at:
            yield Mismatch(
                project.key,
                keys.get(after.story_id),
                f"at of seq {after.seq}",
                after.at.isoformat(),
                f">= {before.at.isoformat()} (seq {before.seq})",
            )


def _rows(project: Project) -> list[dict[str, Any]]:
    stories = Story.objects.filter(project=project).order_by("pk")
    values = list(
        stories.values(
            "pk",
            "key",
            "state_id",
            "sprint_id",
            "assignee__username",
            "points",
            "epic_id",
            "deliverable_id",
            "title",
            "kind",
            "blocked",
            "blocked_reason",
            "deleted_at",
            "rank",
            *Story.FLOW_FIELDS,
        )
    )
    labels: dict[int, list[str]] = {}
    through = Story.labels.through.objects.filter(story__project=project).order_by("label__name")
    for story_id, name in through.values_list("story_id", "label__name"):
        labels.setdefault(story_id, []).append(name)
    links = _links(project)
    for row in values:
        row["labels"] = labels.get(row["pk"], [])
        row["links"] = links.get(row["pk"], {})
    return values


def _links(project: Project) -> dict[int, dict[int, tuple[str, str, int]]]:
    """Each story's links as the log writes them: {link id: (kind, direction, the other story's id)}."""
    found: dict[int, dict[int, tuple[str, str, int]]] = {}
    columns = ("pk", "kind", "source_id", "target_id")
    for pk, kind, source, target in StoryLink.objects.filter(source__project=project).values_list(*columns):
        found.setdefault(source, {})[pk] = (kind, "outward", target)
    for pk, kind, source, target in StoryLink.objects.filter(target__project=project).values_list(*columns):
        found.setdefault(target, {})[pk] = (kind, "inward", source)
    return found


def _as_logged(row: dict[str, Any]) -> dict[str, Any]:
    """The row's fields as the log writes them."""
    return {
        "state": row["state_id"], "sprint": row["sprint_id"], "assignee": row["assignee__username"],
        "points": points_value(row["points"]), "epic": row["epic_id"], "labels": row["labels"],
        "deliverable": row["deliverable_id"], "title": row["title"], "kind": row["kind"], "blocked": row["blocked"],
        "blocked_reason": row["blocked_reason"], "deleted": row["deleted_at"] is not None, "rank": row["rank"],
        "links": row["links"],
    }  # fmt: skip


def _compare(project: Project, row: dict[str, Any], replayed: dict[str, object] | None) -> Iterator[Mismatch]:
    if replayed is None:
        yield Mismatch(project.key, row["key"], "created", "a row", "no events")
        return
    logged = _as_logged(row)
    for field in rows.ROW_FIELDS:
        if field in replayed and replayed[field] != logged[field]:
            yield Mismatch(project.key, row["key"], field, logged[field], replayed[field])


def _check_projection(
    project: Project, events: list[records.Event], stories: dict[int, dict[str, Any]]
) -> Iterator[Mismatch]:
    workflow = records.Workflow(engine_workflow(project))
    as_of = max([timezone.now(), *(e.at for e in events[-1:])])
    try:
        replay = history.replay(
            events, stories=engine_stories(project), workflow=workflow, tz=project.timezone, as_of=as_of
        )
    except EngineError as exc:
        yield Mismatch(project.key, None, "log", None, str(exc))
        return
    for pk, line in replay.timelines.items():
        expected = Story()  # the columns set_flow would write for the replay's facts
        expected.set_flow(projection.of_timeline(line, workflow), zone=project.tzinfo)
        row = stories[pk]
        for column in Story.FLOW_FIELDS:
            if row[column] != getattr(expected, column):
                yield Mismatch(project.key, row["key"], column, row[column], getattr(expected, column))
