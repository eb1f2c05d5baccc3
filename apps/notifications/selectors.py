"""Reads shared by the notification pages, the bell and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from apps.notifications.models import DEFAULT_DELIVERY, Kind, Notification, NotificationPreference, Watch


@dataclass(frozen=True)
class WatchState:
    count: int
    watching: bool


@dataclass(frozen=True)
class BellState:
    unread: int
    latest: int  # the newest notification's id (0: none): with ``unread`` it makes the bell's ETag

    @property
    def etag(self) -> str:
        return f'"bell-{self.unread}-{self.latest}"'


@dataclass(frozen=True)
class StoryGroup:
    title: str
    url: str | None
    notifications: list[Notification]


@dataclass(frozen=True)
class KindChoice:
    kind: str
    label: str
    delivery: str
    in_app: bool


def notifications_for(user: Any, *, unread: bool = False) -> QuerySet[Notification]:
    rows = Notification.objects.filter(user=user).select_related("actor", "story", "project")
    if unread:
        rows = rows.filter(read_at__isnull=True)
    return rows.order_by("-created_at", "-pk")


def bell_state(user: Any) -> BellState:
    """One query: what the bell shows, and what its ETag is made of."""
    found = Notification.objects.filter(user=user).aggregate(
        unread=Count("pk", filter=Q(read_at__isnull=True)), latest=Max("pk")
    )
    return BellState(unread=found["unread"], latest=found["latest"] or 0)


def grouped_by_story(notifications: list[Notification]) -> list[StoryGroup]:
    """The notifications grouped by story, groups in order of their newest; those about no story last."""
    groups: dict[int | None, list[Notification]] = {}
    for notification in notifications:
        groups.setdefault(notification.story_id, []).append(notification)
    result = [
        StoryGroup(title=f"{story.key} {story.title}", url=items[0].url, notifications=items)
        for items in groups.values()
        if (story := items[0].story) is not None
    ]
    if None in groups:
        result.append(StoryGroup(title="Projects, requests and deliverables", url=None, notifications=groups[None]))
    return result


def watch_state(story: Any, user: Any) -> WatchState:
    watchers = list(Watch.objects.filter(story=story).values_list("user_id", flat=True))
    return WatchState(count=len(watchers), watching=getattr(user, "pk", None) in watchers)


def story_watchers(story: Any) -> QuerySet[Watch]:
    return Watch.objects.filter(story=story).select_related("user").order_by("user__username")


def preferences(user: Any) -> list[KindChoice]:
    chosen = {p.kind: p for p in NotificationPreference.objects.filter(user=user)}
    return [
        KindChoice(
            kind=kind.value,
            label=kind.label,
            delivery=chosen[kind].delivery if kind in chosen else DEFAULT_DELIVERY[kind],
            in_app=chosen[kind].in_app if kind in chosen else True,
        )
        for kind in Kind
    ]
