"""Reads of requests shared by the Requests pages and the API."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Count, QuerySet

from apps.intake.models import Request, RequestStatus
from apps.projects.models import Project
from sprintboard import intake


def project_requests(project: Project, *, status: str | None = None) -> QuerySet[Request]:
    requests = Request.objects.filter(project=project).select_related(
        "requester", "story", "merged_into__story", "decided_by"
    )
    if status is not None:
        requests = requests.filter(status=status)
    return requests.order_by("-id")


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


def request_groups(project: Project) -> list[Group]:
    """Open requests grouped by text similarity (``sprintboard.intake``), largest group first.

    ``requesters`` counts everyone who asked: the open requests' requesters and those of the requests
    merged into them. Two queries, whatever the queue's size.
    """
    rows = list(
        Request.objects.filter(project=project, status=RequestStatus.OPEN).values_list(
            "id", "title", "detail", "requester__username"
        )
    )
    merged: dict[int, set[str]] = defaultdict(set)
    folded = Request.objects.filter(
        project=project, status=RequestStatus.MERGED, merged_into__status=RequestStatus.OPEN
    )
    for into, username in folded.values_list("merged_into_id", "requester__username"):
        if username:
            merged[into].add(username)
    items = [
        intake.RequestText(i, title, detail, tuple(sorted({name} - {None} | merged[i])))
        for i, title, detail, name in rows
    ]
    return [Group(g.title, g.representative, g.count, g.requesters, g.requests) for g in intake.group_requests(items)]
