"""The only writers of webhooks and their deliveries.

Queueing: the receivers (``receivers.py``) call ``deliveries_queue`` inside the change's transaction, so a
delivery exists exactly when its change committed, and rows are numbered in the project's event order
(story events are written under the project's row lock). Nothing leaves the process until the commit:
``transaction.on_commit`` then asks a worker to send (``_kick``). A slow or dead receiver therefore never
slows or fails the change.

Sending (``deliveries_send``, a worker's task): one sender per webhook at a time (a lease on the webhook row,
taken by compare-and-swap), oldest delivery first; a failed delivery is retried with exponential backoff and
holds back the later ones, so a receiver sees events in order. A webhook failing for
``WEBHOOK_DISABLE_AFTER_HOURS`` is disabled, logged, and shown on the project's webhook settings.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Q
from django.utils import timezone

from apps.core.errors import InvalidInput
from apps.projects.models import Project
from apps.webhooks import outbound, payloads, signals
from apps.webhooks.models import ALL_EVENTS, EVENT_KINDS, Delivery, DeliveryStatus, Webhook
from apps.webhooks.tasks import webhook_deliver_task

logger = logging.getLogger(__name__)

URL_MAX, SECRET_MIN, SECRET_MAX = 2000, 16, 200
LEASE_MARGIN = timedelta(seconds=30)
# A task sends for at most this long, then queues the rest as a new task: well inside Celery's time limit.
TASK_BUDGET = timedelta(seconds=120)
# Delivered rows are kept this long in the log.
LOG_KEPT = timedelta(days=30)


# --- Webhooks -------------------------------------------------------------------------------------


def _url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("url is an http:// or https:// URL.", field="url")
    value = value.strip()
    if len(value) > URL_MAX:
        raise InvalidInput(f"url is at most {URL_MAX} characters.", field="url")
    try:
        outbound.check_url(value)
    except outbound.UrlRefused as exc:
        raise InvalidInput(str(exc), field="url", code="url_refused") from None
    return value


def _events(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(e, str) for e in value):
        raise InvalidInput(f'events is a list of event kinds ({", ".join(EVENT_KINDS)}) or ["*"].', field="events")
    if ALL_EVENTS in value:
        return [ALL_EVENTS]
    unknown = sorted(set(value) - set(EVENT_KINDS))
    if unknown:
        raise InvalidInput(f"{unknown[0]!r} is not an event kind: use {', '.join(EVENT_KINDS)} or *.", field="events")
    return [kind for kind in EVENT_KINDS if kind in value]


def _secret(value: Any) -> str:
    if not isinstance(value, str) or not SECRET_MIN <= len(value) <= SECRET_MAX or value != value.strip():
        raise InvalidInput(
            f"secret is text of {SECRET_MIN} to {SECRET_MAX} characters with no surrounding spaces.", field="secret"
        )
    return value


def secret_generate() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def webhook_create(*, project: Project, actor: Any, url: Any, events: Any, secret: Any = None) -> tuple[Webhook, str]:
    """A new webhook, and its secret (generated when none is given): the only time the secret is shown."""
    secret = secret_generate() if secret is None else _secret(secret)
    url, events = _url(url), _events(events)
    _lock_project(project.pk)
    webhook = Webhook.objects.create(
        project=project,
        url=url,
        events=events,
        secret=secret,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _listening_changed(project.pk)
    return webhook, secret


@transaction.atomic
def webhook_update(
    *,
    webhook: Webhook,
    url: Any = None,
    events: Any = None,
    secret: Any = None,
    active: Any = None,
) -> Webhook:
    """Change the URL, the events, the secret or ``active``. Turning a disabled webhook back on sends what
    waited, in order."""
    _lock_project(webhook.project_id)
    locked = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if url is not None:
        locked.url = _url(url)
    if events is not None:
        locked.events = _events(events)
    if secret is not None:
        locked.secret = _secret(secret)
    if active is not None:
        if not isinstance(active, bool):
            raise InvalidInput("active is true or false.", field="active")
        if active and not locked.active:
            locked.failing_since, locked.disabled_at, locked.disabled_reason = None, None, ""
            Delivery.objects.filter(webhook=locked).exclude(status=DeliveryStatus.DELIVERED).update(next_try_at=None)
            transaction.on_commit(partial(_kick, locked.pk))
        locked.active = active
    locked.save()
    _listening_changed(locked.project_id)
    return locked


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    _lock_project(webhook.project_id)
    webhook.delete()
    _listening_changed(webhook.project_id)


def _lock_project(project_id: int) -> None:
    """Webhook writes take the project's row lock first (the story writers' order), so the flag they leave
    (``_listening_changed``) is computed after any other writer's change has committed."""
    list(Project.objects.select_for_update().filter(pk=project_id).values_list("pk"))


def _listening_changed(project_id: int) -> None:
    """Keep ``Project.webhooks_active``, which story writes read under the lock instead of querying webhooks."""
    Project.objects.filter(pk=project_id).update(
        webhooks_active=Exists(Webhook.objects.filter(project_id=project_id, active=True))
    )


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send a delivery's event again, as a new delivery (its log keeps the first), after what is queued."""
    copy = Delivery.objects.create(
        webhook_id=delivery.webhook_id,
        event=delivery.event,
        seq=delivery.seq,
        payload=delivery.payload,
        redelivery_of=delivery,
    )
    transaction.on_commit(partial(_kick, delivery.webhook_id))
    return copy


# --- Queueing -------------------------------------------------------------------------------------


def _listening(project_id: int) -> list[Webhook]:
    return list(Webhook.objects.filter(project_id=project_id, active=True))


def deliveries_queue(*, project_id: int, messages: Iterable[payloads.Message]) -> int:
    """One delivery per message for each active webhook of the project that wants its event; sent after commit.

    A failure here is logged and swallowed (in a savepoint): a webhook never fails the change it reports.
    """
    webhooks = _listening(project_id)
    if not webhooks:
        return 0
    messages = list(messages)
    rows = [
        Delivery(webhook=webhook, event=message.event, seq=message.seq, payload=message.body)
        for message in messages
        for webhook in webhooks
        if webhook.wants(message.event)
    ]
    rows.sort(key=lambda row: (row.webhook_id, row.seq))
    if not rows:
        return 0
    try:
        with transaction.atomic():
            Delivery.objects.bulk_create(rows)
    except Exception:  # noqa: BLE001 - the change goes on; its webhooks miss this event (logged)
        logger.exception("could not queue webhook deliveries for project %s", project_id)
        return 0
    for webhook_id in sorted({row.webhook_id for row in rows}):
        transaction.on_commit(partial(_kick, webhook_id), robust=True)
    return len(rows)


def story_events_queue(*, project_id: int, first_seq: int, last_seq: int) -> int:
    """The story events ``first_seq``..``last_seq`` (read only when a webhook listens: one query otherwise)."""
    return deliveries_queue(
        project_id=project_id, messages=payloads.story_messages(project_id=project_id, first=first_seq, last=last_seq)
    )


def _kick(webhook_id: int) -> None:
    """Ask a worker to send the webhook's deliveries; without a broker, a thread of this process does."""
    try:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            threading.Thread(target=_send_in_thread, args=(webhook_id,), daemon=True).start()
        else:
            webhook_deliver_task.delay(webhook_id)
    except Exception:  # noqa: BLE001 - the broker is away: the sweep (beat) sends them later
        logger.exception("could not queue the sending of webhook %s", webhook_id)


def _send_in_thread(webhook_id: int) -> None:
    try:
        deliveries_send(webhook_id=webhook_id)
    except Exception:  # noqa: BLE001 - a thread's error has nowhere else to go
        logger.exception("sending webhook %s failed", webhook_id)
    finally:
        connection.close()


def _schedule(webhook_id: int, when: datetime) -> None:
    """Come back at ``when`` (with a broker; the beat's sweep is the safety net either way)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # an eager countdown would run at once, in a loop
    delay = max(0.0, (when - timezone.now()).total_seconds())
    try:
        webhook_deliver_task.apply_async(args=[webhook_id], countdown=delay)
    except Exception:  # noqa: BLE001
        logger.exception("could not schedule webhook %s", webhook_id)


# --- Sending --------------------------------------------------------------------------------------


def _lease(webhook_id: int, *, renew: bool = False) -> bool:
    now = timezone.now()
    until = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS) + LEASE_MARGIN
    rows = Webhook.objects.filter(pk=webhook_id, active=True)
    if not renew:
        rows = rows.filter(Q(sending_until__isnull=True) | Q(sending_until__lt=now))
    return rows.update(sending_until=until) == 1


def _release(webhook_id: int) -> None:
    Webhook.objects.filter(pk=webhook_id).update(sending_until=None)


def _head(webhook_id: int) -> Delivery | None:
    return (
        Delivery.objects.filter(webhook_id=webhook_id).exclude(status=DeliveryStatus.DELIVERED).order_by("id").first()
    )


def _due(delivery: Delivery | None) -> bool:
    return delivery is not None and (delivery.next_try_at is None or delivery.next_try_at <= timezone.now())


def body_bytes(delivery: Delivery) -> bytes:
    """The JSON body: the delivery's id, then the event's fields."""
    return json.dumps({"id": delivery.pk, **delivery.payload}, separators=(",", ":"), default=str).encode()


def deliveries_send(*, webhook_id: int) -> int:
    """Send the webhook's due deliveries in order; returns how many were delivered.

    Another worker holding the lease is sending already: this one leaves. After letting the lease go, look
    once more, so a delivery queued while the lease was held is not left waiting for the sweep.
    """
    delivered, budget_ends = 0, timezone.now() + TASK_BUDGET
    while _lease(webhook_id):
        try:
            delivered += _send_due(webhook_id, budget_ends=budget_ends)
        finally:
            _release(webhook_id)
        if not _due(_head(webhook_id)) or not Webhook.objects.filter(pk=webhook_id, active=True).exists():
            break
        if timezone.now() > budget_ends and not settings.CELERY_TASK_ALWAYS_EAGER:
            _schedule(webhook_id, timezone.now())  # the rest in a new task, once the lease is free
            break
    return delivered


def _send_due(webhook_id: int, *, budget_ends: datetime) -> int:
    delivered = 0
    while True:
        webhook = Webhook.objects.filter(pk=webhook_id, active=True).first()
        head = _head(webhook_id) if webhook else None
        if webhook is None or head is None:
            return delivered
        if head.next_try_at is not None and not _due(head):
            _schedule(webhook_id, head.next_try_at)
            return delivered
        if timezone.now() > budget_ends and not settings.CELERY_TASK_ALWAYS_EAGER:
            return delivered
        _lease(webhook_id, renew=True)
        answer = outbound.post(
            webhook.url, body=body_bytes(head), secret=webhook.secret, event=head.event, delivery_id=head.pk
        )
        if not _record(webhook, head, answer):
            return delivered
        delivered += 1


def _retry_delay(attempts: int) -> timedelta:
    base, ceiling = settings.WEBHOOK_RETRY_SECONDS, settings.WEBHOOK_RETRY_MAX_SECONDS
    return timedelta(seconds=min(ceiling, base * 2 ** min(attempts - 1, 30)))


@transaction.atomic
def _record(webhook: Webhook, delivery: Delivery, answer: outbound.Answer) -> bool:
    """Write the attempt into the log; on failure, when to try again and whether the webhook is disabled."""
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_try_at, delivery.response_code = now, answer.code
    delivery.duration_ms, delivery.error = answer.duration_ms, answer.error
    if answer.ok:
        delivery.status, delivery.delivered_at, delivery.next_try_at = DeliveryStatus.DELIVERED, now, None
        delivery.save()
        Webhook.objects.filter(pk=webhook.pk).exclude(failing_since=None).update(failing_since=None)
        return True
    failing_since = webhook.failing_since or now
    disable = now - failing_since >= timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
    if disable:
        _lock_project(webhook.project_id)  # before any row of the webhook's: the project comes first
    delivery.status, delivery.next_try_at = DeliveryStatus.RETRYING, now + _retry_delay(delivery.attempts)
    delivery.save()
    if disable:
        _disable(webhook, now=now, since=failing_since, error=answer.error)
    else:
        Webhook.objects.filter(pk=webhook.pk, failing_since=None).update(failing_since=failing_since)
        _schedule(webhook.pk, delivery.next_try_at)
    return False


def _disable(webhook: Webhook, *, now: datetime, since: datetime, error: str) -> None:
    reason = (
        f"Disabled on {now:%Y-%m-%d %H:%M} UTC: every delivery failed since {since:%Y-%m-%d %H:%M} UTC "
        f"(last: {error or 'no answer'}). Fix the receiver, then turn the webhook back on: what waited is sent."
    )[:500]
    Webhook.objects.filter(pk=webhook.pk).update(
        active=False, failing_since=since, disabled_at=now, disabled_reason=reason
    )
    _listening_changed(webhook.project_id)
    logger.warning("webhook %s of project %s disabled: %s", webhook.pk, webhook.project_id, reason)
    signals.webhook_disabled.send_robust(sender=Webhook, webhook=webhook, reason=reason)


def deliveries_sweep() -> int:
    """Ask for the sending of every active webhook with a due delivery (the beat runs this each minute:
    it restarts what a dead worker or an unreachable broker left), and forget deliveries older than
    ``LOG_KEPT``. Returns how many webhooks were asked."""
    now = timezone.now()
    Delivery.objects.filter(status=DeliveryStatus.DELIVERED, delivered_at__lt=now - LOG_KEPT).delete()
    due = (
        Delivery.objects.filter(webhook__active=True)
        .exclude(status=DeliveryStatus.DELIVERED)
        .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now))
        .filter(Q(webhook__sending_until__isnull=True) | Q(webhook__sending_until__lt=now))
        .values_list("webhook_id", flat=True)
        .distinct()
    )
    webhook_ids: Sequence[int] = sorted(set(due))
    for webhook_id in webhook_ids:
        _kick(webhook_id)
    return len(webhook_ids)
