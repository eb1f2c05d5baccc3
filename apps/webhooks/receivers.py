"""What other apps' signals mean for webhooks: each queues deliveries through the services.

Story, deliverable and request signals are sent inside the change's transaction (the deliveries commit with
it); the sprint signals after the commit. Either way nothing is sent before the change has committed.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from apps.deliverables.signals import deliverable_status_changed
from apps.intake.signals import request_submitted, request_triaged
from apps.stories.models import EventKind
from apps.stories.signals import events_appended, sprint_closed, sprint_started
from apps.webhooks import payloads, services


@receiver(events_appended, dispatch_uid="webhooks-story-events")
def story_events(
    sender: Any,
    *,
    project_id: int,
    first_seq: int,
    last_seq: int,
    kinds: frozenset[str] | None = None,
    project: Any = None,
    **kwargs: Any,
) -> None:
    if kinds is not None and kinds <= {EventKind.REBALANCED}:
        return  # a rebalance sends nothing
    if project is not None and not project.webhooks_active:
        return  # read under the project's lock: no webhook can be listening
    services.story_events_queue(project_id=project_id, first_seq=first_seq, last_seq=last_seq)


@receiver(sprint_started, dispatch_uid="webhooks-sprint-started")
def sprint_start(sender: Any, *, sprint: Any, actor: Any = None, **kwargs: Any) -> None:
    message = payloads.sprint_message(event="sprint.started", sprint=sprint, actor=actor)
    services.deliveries_queue(project_id=sprint.project_id, messages=[message])


@receiver(sprint_closed, dispatch_uid="webhooks-sprint-closed")
def sprint_close(sender: Any, *, sprint: Any, actor: Any = None, **kwargs: Any) -> None:
    message = payloads.sprint_message(event="sprint.closed", sprint=sprint, actor=actor)
    services.deliveries_queue(project_id=sprint.project_id, messages=[message])


@receiver(deliverable_status_changed, dispatch_uid="webhooks-deliverable-status")
def deliverable_status(
    sender: Any, *, deliverable: Any, from_status: str, to_status: str, actor: Any, at: Any, **kwargs: Any
) -> None:
    messages = payloads.deliverable_messages(
        deliverable=deliverable, from_status=from_status, to_status=to_status, actor=actor, at=at
    )
    services.deliveries_queue(project_id=deliverable.project_id, messages=messages)


@receiver(request_submitted, dispatch_uid="webhooks-request-submitted")
def request_submit(sender: Any, *, request: Any, **kwargs: Any) -> None:
    message = payloads.request_message(event="request.submitted", request=request, actor=request.requester)
    services.deliveries_queue(project_id=request.project_id, messages=[message])


@receiver(request_triaged, dispatch_uid="webhooks-request-triaged")
def request_triage(sender: Any, *, request: Any, actor: Any = None, **kwargs: Any) -> None:
    message = payloads.request_message(event="request.triaged", request=request, actor=actor)
    services.deliveries_queue(project_id=request.project_id, messages=[message])
