"""Celery tasks of the webhooks: each takes ids and calls a service (imported in its body).

``webhook_deliver_task`` sends one webhook's due deliveries in order (queued after a change commits, and
again at a failed delivery's next try). ``webhooks_sweep_task`` (the beat, each minute) asks again for every
webhook with a due delivery: what a dead worker or an unreachable broker left is sent. Each delivery's time
is bounded by ``WEBHOOK_TIMEOUT_SECONDS``, so the task's own time limit is a backstop.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="apps.webhooks.tasks.webhook_deliver_task", acks_late=True, ignore_result=True)
def webhook_deliver_task(webhook_id: int) -> int:
    from apps.webhooks.services import deliveries_send

    return deliveries_send(webhook_id=webhook_id)


@shared_task(name="apps.webhooks.tasks.webhooks_sweep_task", acks_late=True, ignore_result=True)
def webhooks_sweep_task() -> int:
    from apps.webhooks.services import deliveries_sweep

    return deliveries_sweep()
