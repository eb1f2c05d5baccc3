"""The only writers of watchers, notifications and notification preferences, and the e-mail they send.

Notifications are written by the receivers (``apps.notifications.receivers``) when another app signals a
change: in the change's transaction where the signal is sent inside it (story events, request decisions),
just after the commit otherwise. Never for the person who made the change. E-mail leaves only after the
commit (``transaction.on_commit``) through Celery; a notification keeps ``emailed_at`` empty until its mail
was accepted by the SMTP server, so a server that is down delays mail and loses none (the sweeper and the
digests send what is due).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.core.errors import InvalidInput, NotFound
from apps.notifications import mail
from apps.notifications.models import DEFAULT_DELIVERY, Delivery, Kind, Notification, NotificationPreference, Watch
from apps.projects.models import Membership, Project, Role
from apps.stories.models import Comment, EventKind, Sprint, Story, StoryEvent
from sprintboard.mentions import mentioned

log = logging.getLogger(__name__)

# A change written with a time this far in the past (the demo seed, an importer replaying history) tells nobody.
HISTORIC = timedelta(minutes=10)
# Immediate mail not sent by its own task this long after the change is the sweeper's to send.
SWEEP_AFTER = timedelta(minutes=2)
TEXT_MAX = 500
SPRINT_ROLES = (Role.ADMIN, Role.PRODUCT_OWNER, Role.MEMBER)


# --- Watchers ----------------------------------------------------------------------------


def watchers_add(*, story: Story, users: Iterable[Any]) -> None:
    """Make ``users`` (None and duplicates ignored) watchers of ``story``; those watching already stay."""
    ids = {user.pk for user in users if getattr(user, "pk", None)}
    Watch.objects.bulk_create([Watch(story=story, user_id=pk) for pk in ids], ignore_conflicts=True)


def watch_add(*, story: Story, user: User) -> None:
    if story.deleted_at is not None:
        raise NotFound(f"{story.key} has been deleted.")
    watchers_add(story=story, users=[user])


def watch_remove(*, story: Story, user: User) -> None:
    Watch.objects.filter(story=story, user=user).delete()


# --- Writing notifications ---------------------------------------------------------------------


def _deliveries(user_ids: Sequence[int], kind: str) -> dict[int, tuple[str, bool]]:
    """Each user's (e-mail delivery, in-app) choice for ``kind``; the default for those who never chose."""
    chosen = {
        pref.user_id: (pref.delivery, pref.in_app)
        for pref in NotificationPreference.objects.filter(user_id__in=user_ids, kind=kind)
    }
    return {pk: chosen.get(pk, (DEFAULT_DELIVERY[Kind(kind)], True)) for pk in user_ids}


def notify(
    *,
    recipients: Iterable[Any],
    kind: str,
    actor: Any,
    text: str,
    url: str,
    project: Project | None = None,
    story: Story | None = None,
    at: datetime | None = None,
) -> list[Notification]:
    """One notification of ``kind`` for each recipient but the actor (and those who turned the kind off)."""
    actor_id = getattr(actor, "pk", None)
    ids = sorted({user.pk for user in recipients if getattr(user, "pk", None) and user.pk != actor_id})
    at = at or timezone.now()
    rows = [
        Notification(
            user_id=pk,
            kind=kind,
            actor_id=actor_id,
            project=project,
            story=story,
            text=text[:TEXT_MAX],
            url=url,
            created_at=at,
            read_at=None if in_app else at,  # e-mail only: it never rings the bell
            delivery=delivery,
        )
        for pk, (delivery, in_app) in _deliveries(ids, kind).items()
        if in_app or delivery != Delivery.OFF
    ]
    created = Notification.objects.bulk_create(rows)
    immediate = [n.pk for n in created if n.delivery == Delivery.IMMEDIATE]
    if immediate:
        transaction.on_commit(lambda: _queue_immediate(immediate), robust=True)
    return created


def _queue_immediate(ids: Sequence[int]) -> None:
    from apps.notifications.tasks import notification_email_task

    for pk in ids:
        notification_email_task.delay(pk)


def _story_url(story: Story) -> str:
    return reverse("story-detail", kwargs={"key": story.project.key, "story_key": story.key})


def _who(user: Any) -> str:
    return user.get_username() if getattr(user, "pk", None) else "Someone"


def _members_named(project_id: int, usernames: Sequence[str]) -> list[User]:
    """The project's members among ``usernames``: a mention of anyone else is plain text."""
    if not usernames:
        return []
    memberships = Membership.objects.filter(project_id=project_id, user__username__in=usernames)
    return [m.user for m in memberships.select_related("user")]


def _watchers(story: Story) -> list[User]:
    return [w.user for w in Watch.objects.filter(story=story).select_related("user")]


def _mention(story: Story, text: str, *, actor: Any, where: str, at: datetime) -> list[User]:
    """Notify the members ``text`` mentions, and make them watchers; who was mentioned."""
    people = _members_named(story.project_id, mentioned(text))
    if where == "description":
        # The log does not keep descriptions: a member named in one is told once per story.
        told = set(
            Notification.objects.filter(story=story, kind=Kind.MENTIONED, text__contains=" description ").values_list(
                "user_id", flat=True
            )
        )
        people = [p for p in people if p.pk not in told]
    watchers_add(story=story, users=people)
    notify(
        recipients=people,
        kind=Kind.MENTIONED,
        actor=actor,
        project=story.project,
        story=story,
        text=f"{_who(actor)} mentioned you in the {where} of {story.key} {story.title}",
        url=_story_url(story),
        at=at,
    )
    return people


# --- What each change means ---------------------------------------------------------------


CHANGE_KINDS = (EventKind.STATE, EventKind.SPRINT, EventKind.BLOCKED, EventKind.UNBLOCKED)
# The story event kinds that can notify anyone (``_story_event``): the others are never read for notifications.
NOTIFYING_KINDS = frozenset({*CHANGE_KINDS, EventKind.CREATED, EventKind.ASSIGNEE, EventKind.UPDATED})


def story_events_notify(
    *,
    project_id: int,
    first_seq: int,
    last_seq: int,
    stories: Mapping[int, Story] | None = None,
    actor: Any = None,
) -> int:
    """Read the story events ``first_seq..last_seq`` of a project and notify who they concern; how many events.

    Events are read alone; the stories, actors, watchers and sprint names of those that can notify anyone are
    read once for the batch (a sprint's close carries its unfinished stories over in one batch). Every notifying
    write pays for this: the events with their stories, projects, states and people in one ORM query cost ~5 ms
    of CPU, more than the write itself; a historic change (the demo seed, an import) reads nothing more. The
    writing service passes the stories it wrote and its actor (``events_appended``): those are not read again."""
    events = list(
        StoryEvent.objects.filter(project_id=project_id, seq__gte=first_seq, seq__lte=last_seq).order_by("seq")
    )
    cutoff = timezone.now() - HISTORIC
    recent = [event for event in events if event.at >= cutoff and event.kind in NOTIFYING_KINDS]
    if not recent:
        return len(events)
    written = {pk: story for pk, story in (stories or {}).items() if _relations_read(story)}
    found = {**written, **_stories({event.story_id for event in recent} - written.keys())}
    actors: dict[int | None, Any] = {None: None}  # a change made by nobody (a system task)
    if getattr(actor, "pk", None) is not None:
        actors[actor.pk] = actor
    unknown = {event.actor_id for event in recent} - actors.keys()
    actors.update(get_user_model().objects.in_bulk(unknown) if unknown else {})
    for event in recent:
        event.story, event.actor = found[event.story_id], actors.get(event.actor_id)
    changed = {event.story_id for event in recent if event.kind in CHANGE_KINDS}
    watching: dict[int, list[User]] = {}
    for watch in Watch.objects.filter(story_id__in=changed).select_related("user") if changed else ():
        watching.setdefault(watch.story_id, []).append(watch.user)
    sprint_ids = {event.to_value for event in recent if event.kind == EventKind.SPRINT and event.to_value}
    sprints = dict(Sprint.objects.filter(pk__in=sprint_ids).values_list("pk", "name")) if sprint_ids else {}
    for event in recent:
        _story_event(event, watching.get(event.story_id, []), sprints)
    return len(events)


# What a notification about a story names besides the story: read with it when the writer did not have them.
NOTIFIED_RELATIONS = ("project", "state", "assignee")


def _relations_read(story: Story) -> bool:
    """Whether a notification can name what ``story`` has in hand without another query."""
    return all(
        getattr(story, f"{name}_id") is None or getattr(Story, name).is_cached(story) for name in NOTIFIED_RELATIONS
    )


def _stories(ids: set[int]) -> dict[int, Story]:
    if not ids:
        return {}
    return {story.pk: story for story in Story.objects.filter(pk__in=ids).select_related(*NOTIFIED_RELATIONS)}


def _story_event(event: StoryEvent, watchers: list[User], sprints: dict[int, str]) -> None:
    story, actor = event.story, event.actor
    if event.kind == EventKind.CREATED:
        watchers_add(story=story, users=[actor, story.assignee])
        _assigned(story, story.assignee, actor=actor, at=event.at)
        _mention(story, story.description, actor=actor, where="description", at=event.at)
    elif event.kind == EventKind.ASSIGNEE:
        assignee = story.assignee if story.assignee and story.assignee.get_username() == event.to_value else None
        watchers_add(story=story, users=[assignee])
        _assigned(story, assignee, actor=actor, at=event.at)
    elif event.kind == EventKind.UPDATED and event.field == "description":
        _mention(story, story.description, actor=actor, where="description", at=event.at)
    elif event.kind in CHANGE_KINDS and watchers:
        notify(
            recipients=watchers,
            kind=Kind.STORY_CHANGED,
            actor=actor,
            project=story.project,
            story=story,
            text=f"{_who(actor)} {_change_text(event, sprints)}: {story.key} {story.title}",
            url=_story_url(story),
            at=event.at,
        )


def _assigned(story: Story, assignee: Any, *, actor: Any, at: datetime) -> None:
    if assignee is None:
        return
    notify(
        recipients=[assignee],
        kind=Kind.ASSIGNED,
        actor=actor,
        project=story.project,
        story=story,
        text=f"{_who(actor)} assigned you {story.key} {story.title}",
        url=_story_url(story),
        at=at,
    )


def _change_text(event: StoryEvent, sprints: dict[int, str]) -> str:
    if event.kind == EventKind.STATE:
        return f"moved it to {event.story.state.name}" if event.story.state_id == event.to_value else "moved it"
    if event.kind == EventKind.SPRINT:
        name = sprints.get(event.to_value) if event.to_value else None
        return f"put it in {name}" if name else "took it out of its sprint"
    if event.kind == EventKind.BLOCKED:
        reason = event.story.blocked_reason
        return f"flagged it blocked ({reason})" if reason else "flagged it blocked"
    return "unblocked it"


def comment_notify(*, comment: Comment) -> None:
    """A comment: its author watches the story, members it mentions are told, and so are the other watchers."""
    story, author = comment.story, comment.author
    watchers_add(story=story, users=[author])
    mentioned_people = _mention(story, comment.body, actor=author, where="comment", at=comment.created_at)
    told = {p.pk for p in mentioned_people}
    notify(
        recipients=[w for w in _watchers(story) if w.pk not in told],
        kind=Kind.COMMENTED,
        actor=author,
        project=story.project,
        story=story,
        text=f"{_who(author)} commented on {story.key} {story.title}: {comment.body[:200]}",
        url=_story_url(story),
        at=comment.created_at,
    )


def request_decided_notify(*, request: Any, actor: Any) -> None:
    """Tell the stakeholder who asked that their request was accepted, merged or declined (with the reason)."""
    if request.requester is None:
        return
    project = request.project
    title = f"your request #{request.pk} {request.title!r}"
    if request.status == "accepted" and request.story is not None:
        text = f"{_who(actor)} accepted {title}: it is {request.story.key}"
        url, story = _story_url(request.story), request.story
    elif request.status == "merged":
        text = f"{_who(actor)} merged {title} into request #{request.merged_into_id}"
        url, story = reverse("project-my-requests", kwargs={"key": project.key}), None
    else:
        text = f"{_who(actor)} declined {title}: {request.decline_reason}"
        url, story = reverse("project-my-requests", kwargs={"key": project.key}), None
    notify(
        recipients=[request.requester],
        kind=Kind.REQUEST_DECIDED,
        actor=actor,
        project=project,
        story=story,
        text=text,
        url=url,
    )


def deliverable_status_notify(*, deliverable: Any, actor: Any) -> None:
    """Tell a deliverable's consumers it was published or retired."""
    consumers = [link.user for link in deliverable.consumer_links.select_related("user")]
    notify(
        recipients=consumers,
        kind=Kind.DELIVERABLE_CHANGED,
        actor=actor,
        project=deliverable.project,
        text=f"{deliverable.name} is {deliverable.get_status_display().lower()}",
        url=reverse("deliverable-detail", kwargs={"key": deliverable.project.key, "deliverable_id": deliverable.pk}),
    )


def webhook_disabled_notify(*, webhook: Any, reason: str) -> None:
    """Tell a project's admins one of its webhooks was turned off (they are the ones who can fix it)."""
    project = webhook.project
    admins = [m.user for m in Membership.objects.filter(project=project, role=Role.ADMIN).select_related("user")]
    notify(
        recipients=admins,
        kind=Kind.WEBHOOK_DISABLED,
        actor=None,
        project=project,
        text=f"The webhook to {webhook.url} was turned off. {reason}",
        url=reverse("project-webhook", kwargs={"key": project.key, "webhook_id": webhook.pk}),
    )


def sprint_notify(*, sprint: Sprint, actor: Any, started: bool) -> None:
    """Tell the project's members, product owners and admins that a sprint started or closed."""
    project = sprint.project
    members = [m.user for m in Membership.objects.filter(project=project, role__in=SPRINT_ROLES).select_related("user")]
    verb = "started" if started else "closed"
    notify(
        recipients=members,
        kind=Kind.SPRINT_CHANGED,
        actor=actor,
        project=project,
        text=f"{_who(actor)} {verb} {sprint.name} in {project.key}",
        url=reverse("project-sprint", kwargs={"key": project.key, "sprint_id": sprint.pk}),
    )


# --- Reading state changes: mark read, preferences -----------------------------------------------


def notifications_mark_read(*, user: User, ids: Sequence[int] | None = None) -> int:
    """Mark the user's notifications ``ids`` (all of them when None) read; how many were unread."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def preference_set(*, user: User, kind: str, delivery: str, in_app: bool = True) -> NotificationPreference:
    if kind not in Kind.values:
        raise InvalidInput(f"kind must be one of {', '.join(Kind.values)}.", field="kind")
    if delivery not in Delivery.values:
        raise InvalidInput(f"delivery must be one of {', '.join(Delivery.values)}.", field="delivery")
    pref, _ = NotificationPreference.objects.update_or_create(
        user=user, kind=kind, defaults={"delivery": delivery, "in_app": in_app}
    )
    return pref


def unsubscribe(*, token: str) -> tuple[User, str]:
    """Turn off the e-mail of the kind a signed unsubscribe token names; the user and the kind."""
    try:
        user_id, kind = mail.unsubscribe_payload(token)
    except signing.BadSignature:
        raise InvalidInput("This unsubscribe link is not valid.", field="token", code="bad_token") from None
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or kind not in Kind.values:
        raise NotFound("This unsubscribe link's account no longer exists.")
    current = NotificationPreference.objects.filter(user=user, kind=kind).first()
    preference_set(user=user, kind=kind, delivery=Delivery.OFF, in_app=current.in_app if current else True)
    return user, kind


# --- E-mail ---------------------------------------------------------------------------------------


def _due(**lookup: Any):
    return (
        Notification.objects.filter(emailed_at__isnull=True, **lookup)
        .select_related("user", "actor", "story", "project")
        .order_by("created_at", "pk")
    )


def email_send_one(*, notification_id: int) -> bool:
    """Send one immediate notification's mail unless it went already; raises when the server refuses (retry)."""
    with transaction.atomic():
        notification = (
            _due(pk=notification_id, delivery=Delivery.IMMEDIATE)
            .select_for_update(of=("self",), skip_locked=True)
            .first()
        )
        if notification is None:
            return False
        if notification.user.email:
            mail.immediate(notification).send()
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
    return True


def email_send_pending(*, older_than: timedelta = SWEEP_AFTER) -> int:
    """The sweeper: send immediate mail still unsent ``older_than`` after its change; stops at the first
    refusal (the server is down: the next sweep tries again). How many were sent."""
    cutoff = timezone.now() - older_than
    sent = 0
    for pk in _due(delivery=Delivery.IMMEDIATE, created_at__lte=cutoff).values_list("pk", flat=True):
        sent += email_send_one(notification_id=pk)
    return sent


def email_send_digests(*, delivery: str) -> int:
    """One digest per person of their unsent ``hourly`` or ``daily`` notifications, grouped by story; how many
    digests went. A refusal stops the run with every unsent notification left for the next."""
    if delivery not in (Delivery.HOURLY, Delivery.DAILY):
        raise InvalidInput("delivery must be hourly or daily.", field="delivery")
    user_ids = _due(delivery=delivery).values_list("user_id", flat=True).distinct().order_by()
    sent = 0
    for user_id in sorted(set(user_ids)):
        with transaction.atomic():
            items = list(_due(delivery=delivery, user_id=user_id).select_for_update(of=("self",), skip_locked=True))
            if not items:
                continue
            if items[0].user.email:
                mail.digest(items[0].user, items, delivery=delivery).send()
                sent += 1
            Notification.objects.filter(pk__in=[n.pk for n in items]).update(emailed_at=timezone.now())
    return sent
