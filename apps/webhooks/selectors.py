"""Reads of webhooks: a project's list, one webhook's delivery log, and what the settings page warns about."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from apps.projects.models import Project
from apps.webhooks.models import Delivery, DeliveryStatus, Webhook


def project_webhooks(project: Project) -> QuerySet[Webhook]:
    return (
        Webhook.objects.filter(project=project)
        .select_related("project", "created_by")
        .annotate(waiting=Count("deliveries", filter=~Q(deliveries__status=DeliveryStatus.DELIVERED)))
        .order_by("id")
    )


def webhook_deliveries(webhook: Webhook) -> QuerySet[Delivery]:
    """Newest first."""
    return Delivery.objects.filter(webhook=webhook).order_by("-id")


def disabled_webhooks(project: Project) -> list[Webhook]:
    """The webhooks the system turned off after failing too long (not those an admin paused)."""
    return list(Webhook.objects.filter(project=project, active=False).exclude(disabled_at=None).order_by("id"))
