"""The only writers of stakeholder requests. Each function is one transaction.

A request starts ``open`` in the triage queue. The product owner accepts it (a
story is created through ``apps.stories.services.story_create``, in the backlog
or a planned sprint, never the running one), merges it into another request,
or declines it with a reason. Only open requests can be triaged; the request
row is locked first, so two product owners cannot both accept one request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core import search
from apps.core.errors import Conflict, InvalidInput
from apps.intake import mail, mailbox, signals
from apps.intake.models import REQUEST_SEARCH_FIELDS, Channel, Request, RequestStatus
from apps.projects.models import Membership, Project
from apps.stories import services as story_services
from apps.stories.models import Sprint, SprintStatus

TITLE_MAX, DETAIL_MAX, REASON_MAX, NAME_MAX = 300, 10_000, 2_000, 200
# The most messages one read of the mailbox turns into requests: a run stays well inside the task's time
# limit, and a mailbox connected with a backlog of unread mail is worked through over several polls.
MAILBOX_BATCH = 100


def _text(value: Any, *, field: str, limit: int, required: bool) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text.", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(
            f"A request needs a {field}." if field != "reason" else "Say why the request is declined.", field=field
        )
    if len(value) > limit:
        raise InvalidInput(f"{field} is at most {limit} characters.", field=field)
    return value


@transaction.atomic
def request_submit(
    *,
    project: Project,
    requester: User | None,
    title: str,
    detail: str = "",
    channel: str = Channel.WEB,
    requester_name: str = "",
    at: datetime | None = None,
) -> Request:
    """A stakeholder's ask: it lands in the triage queue as ``open``. The requester is a member of the project,
    or, for an ask from outside (a Slack user with no linked account), None with ``requester_name`` saying who."""
    if channel not in Channel.values:
        raise InvalidInput(f"channel must be one of {', '.join(Channel.values)}.", field="channel")
    if requester is None:
        requester_name = _text(requester_name, field="requester_name", limit=NAME_MAX, required=True)
    elif not Membership.objects.filter(project=project, user=requester).exists():
        raise InvalidInput(f"{requester.get_username()} is not a member of {project.key}.", field="requester")
    else:
        requester_name = ""
    request = Request.objects.create(
        project=project,
        requester=requester,
        requester_name=requester_name,
        channel=channel,
        created_at=at or timezone.now(),
        title=_text(title, field="title", limit=TITLE_MAX, required=True),
        detail=_text(detail, field="detail", limit=DETAIL_MAX, required=False),
    )
    search.vectors_update(Request.objects.filter(pk=request.pk), REQUEST_SEARCH_FIELDS)
    signals.request_submitted.send(sender=Request, request=request)
    return request


def _locked_open(request: Request) -> Request:
    locked = Request.objects.select_for_update(of=("self",)).select_related("project", "requester").get(pk=request.pk)
    if locked.status != RequestStatus.OPEN:
        raise Conflict(
            f"Request #{locked.pk} is already {locked.status}: only open requests can be triaged.", code="not_open"
        )
    return locked


def _decided(request: Request, *, status: str, actor, at: datetime | None) -> None:
    request.status = status
    request.decided_at = at or timezone.now()
    request.decided_by = actor if getattr(actor, "pk", None) else None


def _story_description(request: Request) -> str:
    who = (
        request.requester.get_username()
        if request.requester
        else request.requester_name or request.requester_email or "a former member"
    )
    note = f"_Requested by {who} ({request.get_channel_display().lower()}) in request #{request.pk}._"
    return f"{request.detail}\n\n{note}" if request.detail else note


@transaction.atomic
def request_accept(
    *,
    request: Request,
    actor: User,
    placement: story_services.Placement = story_services.BOTTOM,
    sprint: Sprint | None = None,
    at: datetime | None = None,
) -> Request:
    """Create a story from an open request, in the backlog (default: at its bottom) or a planned sprint."""
    locked = _locked_open(request)
    if sprint is not None and Sprint.objects.filter(pk=sprint.pk, status=SprintStatus.ACTIVE).exists():
        raise InvalidInput(
            f"{sprint.name} is running: requests go to the backlog or a planned sprint, never the active sprint.",
            field="sprint",
            code="active_sprint",
        )
    story = story_services.story_create(
        project=locked.project,
        actor=actor,
        title=locked.title[:300],
        description=_story_description(locked),
        placement=placement,
        sprint=sprint,
        at=at,
    )
    locked.story = story
    _decided(locked, status=RequestStatus.ACCEPTED, actor=actor, at=at)
    locked.save()
    signals.request_triaged.send(sender=Request, request=locked, actor=actor)
    return locked


@transaction.atomic
def request_merge(*, request: Request, into: Request, actor: User, at: datetime | None = None) -> Request:
    """Fold an open request into another (open or accepted) one of the project; its own merged asks follow it."""
    if into.pk == request.pk:
        raise InvalidInput("A request cannot be merged into itself.", field="into", code="self_merge")
    first, second = sorted((request.pk, into.pk))
    rows = {r.pk: r for r in Request.objects.select_for_update().filter(pk__in=(first, second)).order_by("pk")}
    target = rows[into.pk]
    locked = _locked_open(rows[request.pk])
    if target.project_id != locked.project_id:
        raise InvalidInput(f"Request #{target.pk} belongs to another project.", field="into")
    if target.status not in (RequestStatus.OPEN, RequestStatus.ACCEPTED):
        raise InvalidInput(
            f"Request #{target.pk} is {target.status}: merge into an open or accepted request.", field="into"
        )
    Request.objects.filter(merged_into=locked).update(merged_into=target)
    locked.merged_into = target
    _decided(locked, status=RequestStatus.MERGED, actor=actor, at=at)
    locked.save()
    signals.request_triaged.send(sender=Request, request=locked, actor=actor)
    return locked


@transaction.atomic
def request_decline(*, request: Request, actor: User, reason: str, at: datetime | None = None) -> Request:
    """Decline an open request; the reason is shown to the requester."""
    reason = _text(reason, field="reason", limit=REASON_MAX, required=True)
    locked = _locked_open(request)
    locked.decline_reason = reason
    _decided(locked, status=RequestStatus.DECLINED, actor=actor, at=at)
    locked.save()
    signals.request_triaged.send(sender=Request, request=locked, actor=actor)
    return locked


def _group(project: Project, ids: Sequence[int], representative: int) -> tuple[Request, list[Request]]:
    if representative not in ids:
        raise InvalidInput("The representative must be one of the group's requests.", field="representative")
    rows = {r.pk: r for r in Request.objects.filter(project=project, pk__in=ids)}
    if len(rows) != len(set(ids)):
        raise InvalidInput("A request of the group is not in this project.", field="requests")
    return rows[representative], [rows[i] for i in sorted(set(ids)) if i != representative]


@transaction.atomic
def requests_accept_group(
    *,
    project: Project,
    ids: Sequence[int],
    representative: int,
    actor: User,
    placement: story_services.Placement = story_services.BOTTOM,
    at: datetime | None = None,
) -> Request:
    """Accept a group: one story from the representative, every other request merged into it."""
    head, others = _group(project, ids, representative)
    accepted = request_accept(request=head, actor=actor, placement=placement, at=at)
    for other in others:
        request_merge(request=other, into=accepted, actor=actor, at=at)
    return accepted


@transaction.atomic
def requests_merge_group(
    *, project: Project, ids: Sequence[int], representative: int, actor: User, at: datetime | None = None
) -> Request:
    """Merge every request of a group into its representative, which stays open."""
    head, others = _group(project, ids, representative)
    for other in others:
        request_merge(request=other, into=head, actor=actor, at=at)
    return head


# --- The e-mail channel -----------------------------------------------------------------


def _member_with_address(project: Project, address: str) -> Any:
    """The one active member of the project whose account has this e-mail address, or ``None``."""
    users = (
        get_user_model()
        .objects.filter(is_active=True, email__iexact=address, memberships__project=project)
        .distinct()[:2]
    )
    found = list(users)
    return found[0] if len(found) == 1 else None


def _mail_title(subject: str, body: str) -> str:
    first_line = next((line.strip() for line in body.splitlines() if line.strip()), "")
    return (subject or first_line or "(no subject)")[:TITLE_MAX]


@transaction.atomic
def request_submit_email(
    *,
    project: Project,
    sender: str,
    message_id: str,
    subject: str,
    body: str,
    answer: bool = True,
    at: datetime | None = None,
) -> Request | None:
    """A request e-mailed to the project's mailbox, or ``None`` when that message made one already.

    The subject is the title (else the body's first line); the body, cut at the detail's limit, the detail.
    The sender becomes the requester when exactly one member has that address; the address is kept either
    way. After the commit, the sender is answered with a link to follow the request (unless ``answer`` is
    off or there is no address).
    """
    if not message_id:
        raise InvalidInput("An e-mailed request needs its message's Message-ID.", field="message_id")
    if Request.objects.filter(project=project, message_id=message_id).exists():
        return None
    address = sender if len(sender) <= 254 else ""
    try:
        with transaction.atomic():
            request = Request.objects.create(
                project=project,
                requester=_member_with_address(project, address) if address else None,
                requester_email=address,
                message_id=message_id,
                channel=Channel.EMAIL,
                created_at=at or timezone.now(),
                title=_mail_title(subject, body),
                detail=body[:DETAIL_MAX],
            )
            search.vectors_update(Request.objects.filter(pk=request.pk), REQUEST_SEARCH_FIELDS)
    except IntegrityError:
        return None  # another reader of the mailbox made it a moment ago
    signals.request_submitted.send(sender=Request, request=request)
    if answer and address:
        transaction.on_commit(lambda: _queue_reply(request.pk), robust=True)
    return request


def _queue_reply(request_id: int) -> None:
    from apps.intake.tasks import request_reply_task

    request_reply_task.delay(request_id)


def request_reply_send(*, request_id: int) -> bool:
    """Answer an e-mailed request's sender unless that was done; raises when the SMTP server refuses (retry)."""
    with transaction.atomic():
        request = (
            Request.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("project")
            .filter(pk=request_id, replied_at__isnull=True)
            .exclude(requester_email="")
            .first()
        )
        if request is None:
            return False
        mail.reply(request).send()
        Request.objects.filter(pk=request.pk).update(replied_at=timezone.now())
    return True


def mailbox_poll() -> int:
    """Read the mailbox of ``SPRINTBOARD_IMAP_*`` once; how many requests its unread messages made.

    Each unread message becomes a request of ``SPRINTBOARD_IMAP_PROJECT`` (its own transaction) and is then
    marked read. A message read before but not marked (the worker died in between) is recognised by its
    Message-ID and only marked. Auto-replies and bounces are marked read and nothing else. At most
    ``MAILBOX_BATCH`` messages a run, oldest first; the next run takes the rest.
    """
    if not settings.IMAP_HOST:
        return 0
    project = Project.objects.filter(key=settings.IMAP_PROJECT).first()
    if project is None:
        raise mailbox.MailboxError(f"SPRINTBOARD_IMAP_PROJECT={settings.IMAP_PROJECT!r} names no project.")
    made = 0
    with mailbox.Mailbox() as box:
        for uid in box.unseen()[:MAILBOX_BATCH]:
            raw = box.fetch(uid)
            if raw is None:
                continue
            message = mailbox.parse(raw)
            if not message.automatic:
                request = request_submit_email(
                    project=project,
                    sender=message.sender,
                    message_id=message.message_id,
                    subject=message.subject,
                    body=message.body,
                    answer=not message.from_list,
                )
                made += request is not None
            box.mark_seen(uid)
    return made
