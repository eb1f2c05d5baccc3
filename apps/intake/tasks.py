"""Celery tasks of the e-mail request channel: each calls a service (imported in its body).

``intake_mailbox_poll_task`` (beat, every ``SPRINTBOARD_IMAP_POLL_SECONDS`` when ``SPRINTBOARD_IMAP_HOST`` is
set) turns the mailbox's unread messages into requests; ``request_reply_task``, queued after the request
commits, answers the sender, retried with exponential backoff while the SMTP server refuses.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from apps.core.retries import mail_task


@shared_task(name="apps.intake.tasks.intake_mailbox_poll_task", acks_late=True)
def intake_mailbox_poll_task() -> int:
    from apps.intake.services import mailbox_poll

    return mailbox_poll()


@mail_task("apps.intake.tasks.request_reply_task")
def request_reply_task(self: Any, request_id: int) -> bool:
    from apps.intake.services import request_reply_send

    return request_reply_send(request_id=request_id)
