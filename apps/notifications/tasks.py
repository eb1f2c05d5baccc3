"""Celery tasks of the notifications: each calls a service (imported in its body).

``notification_email_task`` sends one immediate notification's mail, queued after the commit; an SMTP or
network error is retried with exponential backoff. ``notifications_email_sweep_task`` (every 5 minutes)
sends immediate mail its own task never managed to send; ``notifications_digest_task`` sends the hourly or
daily digests. A notification is marked sent only once the server accepted it, so nothing is lost while the
server is down.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from apps.core.retries import MAIL_ERRORS, mail_task, retrying


@mail_task("apps.notifications.tasks.notification_email_task")
def notification_email_task(self: Any, notification_id: int) -> bool:
    from apps.notifications.services import email_send_one

    return email_send_one(notification_id=notification_id)


@shared_task(name="apps.notifications.tasks.notifications_email_sweep_task", acks_late=True)
def notifications_email_sweep_task() -> int:
    from apps.notifications.services import email_send_pending

    return email_send_pending()


@shared_task(
    name="apps.notifications.tasks.notifications_digest_task",
    **retrying(MAIL_ERRORS, backoff=30, backoff_max=1800, retries=5),
)
def notifications_digest_task(delivery: str) -> int:
    from apps.notifications.services import email_send_digests

    return email_send_digests(delivery=delivery)
