"""The e-mail a notification becomes: one for an immediate one, a digest grouped by story for the others.

Every message has a plain-text and an HTML body, absolute links (``SPRINTBOARD_BASE_URL``) and, per kind it
carries, a signed one-click unsubscribe link (``django.core.signing``; the link turns that kind's e-mail off,
nothing else). Immediate mail also carries ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058), so
a mail client's own unsubscribe button works.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from apps.notifications.models import Kind, Notification

SALT = "sprintboard.notifications.unsubscribe"


def absolute(path: str) -> str:
    return f"{settings.SPRINTBOARD_BASE_URL}{path}" if path.startswith("/") else path


def unsubscribe_token(user_id: int, kind: str) -> str:
    return signing.dumps({"u": user_id, "k": kind}, salt=SALT, compress=True)


def unsubscribe_payload(token: str) -> tuple[int, str]:
    """The (user id, kind) a token names; raises ``signing.BadSignature`` for a forged or damaged one."""
    data = signing.loads(token, salt=SALT)
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("k"), str):
        raise signing.BadSignature("not an unsubscribe token")
    return data["u"], data["k"]


def unsubscribe_url(user_id: int, kind: str) -> str:
    return absolute(reverse("notifications-unsubscribe", kwargs={"token": unsubscribe_token(user_id, kind)}))


@dataclass(frozen=True)
class Item:
    text: str
    url: str
    at: Any


@dataclass(frozen=True)
class Group:
    title: str
    url: str | None
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Unsubscribe:
    label: str
    url: str


def _item(notification: Notification) -> Item:
    return Item(text=notification.text, url=absolute(notification.url), at=notification.created_at)


def grouped(notifications: Sequence[Notification]) -> list[Group]:
    """Notifications grouped by story (in order of first appearance), then those about no story."""
    by_story: dict[int | None, list[Notification]] = {}
    for notification in notifications:
        by_story.setdefault(notification.story_id, []).append(notification)
    groups = [
        Group(
            title=f"{story.key} {story.title}",
            url=absolute(reverse("story-detail", kwargs={"key": items[0].project.key, "story_key": story.key}))
            if items[0].project
            else None,
            items=tuple(_item(n) for n in items),
        )
        for items in by_story.values()
        if (story := items[0].story) is not None
    ]
    if None in by_story:
        groups.append(Group(title="Other", url=None, items=tuple(_item(n) for n in by_story[None])))
    return groups


def _message(user: Any, subject: str, template: str, context: dict[str, Any]) -> EmailMultiAlternatives:
    context = {
        **context,
        "user": user,
        "base_url": settings.SPRINTBOARD_BASE_URL,
        "settings_url": absolute(reverse("notification-settings")),
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"notifications/email/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )
    message.attach_alternative(render_to_string(f"notifications/email/{template}.html", context), "text/html")
    return message


def immediate(notification: Notification) -> EmailMultiAlternatives:
    user = notification.user
    unsubscribe = Unsubscribe(Kind(notification.kind).label, unsubscribe_url(user.pk, notification.kind))
    message = _message(
        user,
        f"[Sprintboard] {notification.text}"[:200],
        "immediate",
        {"item": _item(notification), "unsubscribes": [unsubscribe]},
    )
    message.extra_headers = {
        "List-Unsubscribe": f"<{unsubscribe.url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return message


def digest(user: Any, notifications: Sequence[Notification], *, delivery: str) -> EmailMultiAlternatives:
    kinds = list(dict.fromkeys(n.kind for n in notifications))
    count = len(notifications)
    return _message(
        user,
        f"[Sprintboard] Your {delivery} digest: {count} notification{'s' if count != 1 else ''}",
        "digest",
        {
            "groups": grouped(notifications),
            "delivery": delivery,
            "count": count,
            "unsubscribes": [Unsubscribe(Kind(k).label, unsubscribe_url(user.pk, k)) for k in kinds],
        },
    )
