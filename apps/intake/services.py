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

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.core.errors import Conflict, InvalidInput
from apps.intake import signals
from apps.intake.models import Channel, Request, RequestStatus
from apps.projects.models import Membership, Project
from apps.stories import services as story_services
from apps.stories.models import Sprint, SprintStatus

TITLE_MAX, DETAIL_MAX, REASON_MAX = 300, 10_000, 2_000


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
    requester: User,
    title: str,
    detail: str = "",
    channel: str = Channel.WEB,
    at: datetime | None = None,
) -> Request:
    """A stakeholder's ask: it lands in the triage queue as ``open``."""
    if channel not in Channel.values:
        raise InvalidInput(f"channel must be one of {', '.join(Channel.values)}.", field="channel")
    if not Membership.objects.filter(project=project, user=requester).exists():
        raise InvalidInput(f"{requester.get_username()} is not a member of {project.key}.", field="requester")
    request = Request.objects.create(
        project=project,
        requester=requester,
        channel=channel,
        created_at=at or timezone.now(),
        title=_text(title, field="title", limit=TITLE_MAX, required=True),
        detail=_text(detail, field="detail", limit=DETAIL_MAX, required=False),
    )
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
    who = request.requester.get_username() if request.requester else "a former member"
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
