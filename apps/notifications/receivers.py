"""What other apps' signals mean for notifications (connected in ``NotificationsConfig.ready``).

Each receiver writes in a savepoint of its own and logs its errors: a notification that cannot be written
never undoes, nor fails, the change it reports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

from apps.deliverables.models import DeliverableStatus
from apps.deliverables.signals import deliverable_status_changed
from apps.intake.signals import request_triaged
from apps.notifications import services
from apps.stories.signals import comment_added, events_appended, sprint_closed, sprint_started
from apps.webhooks import signals as signals_of_webhooks

log = logging.getLogger(__name__)


def _safely(what: str, write: Callable[[], Any]) -> None:
    try:
        with transaction.atomic():
            write()
    except Exception:
        log.exception("Notifications for %s could not be written; the change itself stands.", what)


def story_events(
    sender: Any, *, project_id: int, first_seq: int, last_seq: int, kinds: frozenset[str] | None = None, **kwargs: Any
) -> None:
    if kinds is not None and not kinds & services.NOTIFYING_KINDS:
        return  # a reorder, an estimate, a delete: nobody is told, so the write costs nothing more
    _safely(
        f"story events {first_seq}..{last_seq}",
        lambda: services.story_events_notify(
            project_id=project_id,
            first_seq=first_seq,
            last_seq=last_seq,
            stories=kwargs.get("stories"),
            actor=kwargs.get("actor"),
        ),
    )


def comment(sender: Any, *, comment: Any, **kwargs: Any) -> None:
    _safely(f"comment {comment.pk}", lambda: services.comment_notify(comment=comment))


def request(sender: Any, *, request: Any, actor: Any, **kwargs: Any) -> None:
    _safely(f"request {request.pk}", lambda: services.request_decided_notify(request=request, actor=actor))


def deliverable(sender: Any, *, deliverable: Any, to_status: str, actor: Any, **kwargs: Any) -> None:
    if to_status not in (DeliverableStatus.PUBLISHED, DeliverableStatus.RETIRED):
        return
    _safely(
        f"deliverable {deliverable.pk}",
        lambda: services.deliverable_status_notify(deliverable=deliverable, actor=actor),
    )


def webhook_disabled(sender: Any, *, webhook: Any, reason: str, **kwargs: Any) -> None:
    _safely(f"webhook {webhook.pk}", lambda: services.webhook_disabled_notify(webhook=webhook, reason=reason))


def sprint_start(sender: Any, *, sprint: Any, actor: Any = None, **kwargs: Any) -> None:
    _safely(f"sprint {sprint.pk}", lambda: services.sprint_notify(sprint=sprint, actor=actor, started=True))


def sprint_close(sender: Any, *, sprint: Any, actor: Any = None, **kwargs: Any) -> None:
    _safely(f"sprint {sprint.pk}", lambda: services.sprint_notify(sprint=sprint, actor=actor, started=False))


def connect() -> None:
    events_appended.connect(story_events, dispatch_uid="notifications-story-events")
    comment_added.connect(comment, dispatch_uid="notifications-comment")
    request_triaged.connect(request, dispatch_uid="notifications-request")
    deliverable_status_changed.connect(deliverable, dispatch_uid="notifications-deliverable")
    sprint_started.connect(sprint_start, dispatch_uid="notifications-sprint-started")
    sprint_closed.connect(sprint_close, dispatch_uid="notifications-sprint-closed")
    signals_of_webhooks.webhook_disabled.connect(webhook_disabled, dispatch_uid="notifications-webhook-disabled")
