"""Reads of requests shared by the Requests pages and the API."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Count, F, Q, QuerySet
from django.urls import reverse

from apps.core import search
from apps.intake.models import Request, RequestStatus
from apps.projects.models import Project
from sprintboard import intake


def project_requests(project: Project, *, status: str | None = None, channel: str | None = None) -> QuerySet[Request]:
    requests = Request.objects.filter(project=project).select_related(
        "requester", "story", "merged_into__story", "decided_by"
    )
    if status is not None:
        requests = requests.filter(status=status)
    if channel is not None:
        requests = requests.filter(channel=channel)
    return requests.order_by("-id")


def followed_request(request_id: int) -> Request | None:
    """One request with where it went, for the page its e-mailed sender follows it on."""
    return (
        Request.objects.select_related(
            "project", "story__state", "story__sprint", "merged_into__story__state", "merged_into__story__sprint"
        )
        .filter(pk=request_id)
        .first()
    )


def requests_of(project: Project, user: User) -> QuerySet[Request]:
    """A requester's own requests, newest first, with where each one went."""
    return (
        project_requests(project)
        .filter(requester=user)
        .select_related("story__state", "story__sprint", "merged_into__story__state", "merged_into__story__sprint")
    )


def status_counts(project: Project) -> dict[str, int]:
    counts = dict(Request.objects.filter(project=project).values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in RequestStatus.values}


@dataclass(frozen=True)
class Group:
    """A group of similar open requests, as the API and the page show it."""

    title: str
    representative: int
    count: int
    requesters: tuple[str, ...]
    requests: tuple[int, ...]
    asks: int
    channels: dict[str, int]


def _asker(username: str | None, address: str) -> set[str]:
    """Who asked: a member's username, else the address an e-mailed request came from."""
    return {username} if username else {address} if address else set()


def request_groups(project: Project) -> list[Group]:
    """Open requests grouped by text similarity (``sprintboard.intake``), largest group first.

    ``requesters`` counts everyone who asked: the open requests' requesters (members by username, e-mail
    senders who are not members by address) and those of the requests merged into them. ``asks`` counts the
    group's requests and those merged into them; ``channels`` splits them by the channel they came from,
    most first. Two queries, whatever the queue's size.
    """
    rows = list(
        Request.objects.filter(project=project, status=RequestStatus.OPEN).values_list(
            "id", "title", "detail", "requester__username", "requester_email", "channel"
        )
    )
    merged_names: dict[int, set[str]] = defaultdict(set)
    merged_channels: dict[int, list[str]] = defaultdict(list)
    folded = Request.objects.filter(
        project=project, status=RequestStatus.MERGED, merged_into__status=RequestStatus.OPEN
    )
    for into, username, address, channel in folded.values_list(
        "merged_into_id", "requester__username", "requester_email", "channel"
    ):
        merged_names[into] |= _asker(username, address)
        merged_channels[into].append(channel)
    items = [
        intake.RequestText(
            i,
            title,
            detail,
            requesters=tuple(sorted(_asker(name, address) | merged_names[i])),
            channels=(channel, *merged_channels[i]),
        )
        for i, title, detail, name, address, channel in rows
    ]
    return [
        Group(
            title=g.title,
            representative=g.representative,
            count=g.count,
            requesters=g.requesters,
            requests=g.requests,
            asks=sum(n for _, n in g.channels),
            channels=dict(g.channels),
        )
        for g in intake.group_requests(items)
    ]


# --- Search (apps.core.search): everyone in a project sees all its requests (as the Requests page shows) ---

REQUEST_FALLBACK = search.Fallback(fields=("title", "detail"), title="title")
REQUEST_SOURCE = search.Source(
    kind="request",
    table=Request._meta.db_table,
    vector="{t}.search_vector",
    states={
        search.CLOSED: f"{{t}}.status <> '{RequestStatus.OPEN}'",
        search.OPEN: f"{{t}}.status = '{RequestStatus.OPEN}'",
    },
)


def requests_search(*, project_ids: Collection[int], text: str, state: str | None = None, limit: int) -> search.Ranked:
    """The requests of ``project_ids`` that match ``text``; open: waiting for triage, closed: decided."""
    rows = Request.objects.filter(project_id__in=project_ids)
    rows = search.in_state(rows, state, closed=~Q(status=RequestStatus.OPEN))
    return search.ranked(rows, text, vector=F("search_vector"), fallback=REQUEST_FALLBACK, limit=limit)


def _request_shown(item: Request) -> search.Shown:
    url = reverse("project-requests", args=[item.project.key]) + f"?status={item.status}#request-{item.pk}"
    return search.Shown(title=item.title, url=url, state=item.get_status_display())


def request_hits(ids: Collection[int], text: str) -> dict[int, search.Hit]:
    rows = Request.objects.filter(pk__in=list(ids)).select_related("project")
    return search.hits(rows, text, kind="request", shown=_request_shown, fields=("title", "detail"))
