"""``{% load notifications %}``: the bell in the page header and a story's Watch / Unwatch button."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from apps.notifications import selectors

register = template.Library()


@register.inclusion_tag("notifications/_bell_poll.html", takes_context=True)
def notification_bell(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {"bell": None}
    return {"bell": selectors.bell_state(request.user), "poll_ms": settings.NOTIFICATION_POLL_INTERVAL_MS}


@register.inclusion_tag("notifications/_watch.html", takes_context=True)
def watch_button(context: dict[str, Any], story: Any) -> dict[str, Any]:
    user = context["request"].user
    return {
        "story": story,
        "project": context["project"],
        "watch": selectors.watch_state(story, user),
        "csrf_token": context.get("csrf_token"),
    }
