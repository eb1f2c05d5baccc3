"""Outgoing webhooks: a project's receivers (``Webhook``) and every message queued for one (``Delivery``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

EVENT_KINDS = (
    "story.created",
    "story.changed",
    "story.moved",
    "story.deleted",
    "sprint.started",
    "sprint.closed",
    "deliverable.status",
    "deliverable.published",
    "request.submitted",
    "request.triaged",
)
ALL_EVENTS = "*"


class Webhook(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="webhooks")
    url = models.CharField(max_length=2000)
    secret = models.CharField(max_length=200)
    events = models.JSONField(default=list)  # kinds of EVENT_KINDS, or ["*"]
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # Failing since the first failed attempt after the last success; disabled once that lasts too long.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    # One sender at a time per webhook (deliveries go out in order): a worker holds this lease while sending.
    sending_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["project", "id"]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.url}"

    def wants(self, event: str) -> bool:
        return ALL_EVENTS in self.events or event in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # not tried yet
    RETRYING = "retrying", "Retrying"  # tried, failed, tried again at next_try_at
    DELIVERED = "delivered", "Delivered"


class Delivery(models.Model):
    """One event for one webhook. Sent in ``id`` order per webhook: rows are written in the change's
    transaction, under the project's lock, so their order is the order of the project's events."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    seq = models.PositiveBigIntegerField(help_text="The project's event sequence number of the event.")
    payload = models.JSONField(help_text="The body without the delivery's own id.")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_try_at = models.DateTimeField(null=True, blank=True)
    next_try_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    redelivery_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["webhook", "-id"]
        indexes = [models.Index(fields=["webhook", "status", "id"], name="delivery_webhook_status")]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} ({self.status})"
