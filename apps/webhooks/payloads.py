"""What each event kind sends: the JSON body (less the delivery's id), built from the rows of the change.

Every body has ``event``, ``seq`` (the project's event sequence number: the story event's own, or for
sprint, deliverable and request events the project's number when they happened), ``at``, ``project``
(``{"key", "name"}``), ``story`` (the story's key, or null), ``actor`` (a user name, or null) and ``data``.

Story events: ``created`` → ``story.created``; ``state``, ``sprint`` and ``rank`` (a change of column, sprint or
place) → ``story.moved``; ``deleted`` → ``story.deleted``; every other kind → ``story.changed``. Each sends
``data = {"kind", "field", "from", "to"}`` as the event log holds them; a rebalance of rank keys (order
unchanged) sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from apps.projects.models import Project
from apps.stories.models import EventKind, StoryEvent

STORY_EVENTS: dict[str, str] = {
    EventKind.CREATED: "story.created",
    EventKind.STATE: "story.moved",
    EventKind.SPRINT: "story.moved",
    EventKind.RANK: "story.moved",
    EventKind.DELETED: "story.deleted",
}
SILENT_STORY_EVENTS = {EventKind.REBALANCED}


@dataclass(frozen=True)
class Message:
    event: str
    seq: int
    body: dict[str, Any]


def _user(user: Any) -> str | None:
    return user.get_username() if getattr(user, "pk", None) else None


def _time(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def message(
    *,
    event: str,
    project: Project,
    seq: int,
    at: datetime | None,
    actor: Any,
    data: dict[str, Any],
    story: str | None = None,
) -> Message:
    body = {
        "event": event,
        "seq": seq,
        "at": _time(at or timezone.now()),
        "project": {"key": project.key, "name": project.name},
        "story": story,
        "actor": _user(actor) if not isinstance(actor, str) else actor,
        "data": data,
    }
    return Message(event=event, seq=seq, body=body)


def story_messages(*, project_id: int, first: int, last: int) -> Iterator[Message]:
    events = (
        StoryEvent.objects.filter(project_id=project_id, seq__gte=first, seq__lte=last)
        .exclude(kind__in=SILENT_STORY_EVENTS)
        .select_related("story", "actor", "project")
        .order_by("seq")
    )
    for event in events:
        yield message(
            event=STORY_EVENTS.get(event.kind, "story.changed"),
            project=event.project,
            seq=event.seq,
            at=event.at,
            actor=event.actor,
            story=event.story.key,
            data={"kind": event.kind, "field": event.field, "from": event.from_value, "to": event.to_value},
        )


def _current_seq(project_id: int) -> tuple[Project, int]:
    project = Project.objects.only("key", "name", "last_event_seq").get(pk=project_id)
    return project, project.last_event_seq


def sprint_message(*, event: str, sprint: Any, actor: Any = None) -> Message:
    project, seq = _current_seq(sprint.project_id)
    at = sprint.closed_at if event == "sprint.closed" else sprint.started_at
    data = {
        "sprint": {
            "id": sprint.pk,
            "name": sprint.name,
            "goal": sprint.goal,
            "start": sprint.start.isoformat(),
            "end": sprint.end.isoformat(),
            "status": sprint.status,
            "started_at": _time(sprint.started_at),
            "closed_at": _time(sprint.closed_at),
            "commitment": sprint.commitment,
        }
    }
    return message(event=event, project=project, seq=seq, at=at, actor=actor, data=data)


def deliverable_messages(
    *, deliverable: Any, from_status: str, to_status: str, actor: Any, at: datetime
) -> list[Message]:
    """``deliverable.status`` for every change of status, and ``deliverable.published`` too on publication."""
    project, seq = _current_seq(deliverable.project_id)
    data = {
        "deliverable": {
            "id": deliverable.pk,
            "name": deliverable.name,
            "kind": deliverable.kind,
            "link": deliverable.link,
        },
        "from": from_status,
        "to": to_status,
    }
    events = ["deliverable.status"] + (["deliverable.published"] if to_status == "published" else [])
    return [message(event=e, project=project, seq=seq, at=at, actor=actor, data=data) for e in events]


def request_message(*, event: str, request: Any, actor: Any = None) -> Message:
    project, seq = _current_seq(request.project_id)
    data = {
        "request": {
            "id": request.pk,
            "title": request.title,
            "channel": request.channel,
            "status": request.status,
            "requester": _user(request.requester),
            "requester_email": request.requester_email or None,
            "story": request.story.key if request.story_id else None,
            "merged_into": request.merged_into_id,
            "decline_reason": request.decline_reason,
        }
    }
    at = request.decided_at if event == "request.triaged" else request.created_at
    story = request.story.key if request.story_id else None
    return message(event=event, project=project, seq=seq, at=at, actor=actor, data=data, story=story)
