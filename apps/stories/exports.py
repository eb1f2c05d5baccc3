"""Stories as a CSV a spreadsheet user can work with: the backlog, a sprint, or any filtered list.

One row per story, in the order given (rank order from the lists). Dates and times are ISO 8601 in the
project's time zone; the flow figures (started, finished, cycle days, times reopened) are the flow
projection the services keep on each row (``Story.flow``), the numbers the board shows, not a recount.
Text that a spreadsheet would run as a formula is neutralised by ``apps.core.downloads``.

The pages (apps.transfer) and the API (``?format=csv`` on the story lists) call :func:`stories_csv` with
the queryset their own filter built; the read costs two queries however many stories it holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, tzinfo
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone

from apps.core.downloads import csv_download
from apps.projects.models import Project
from apps.stories.models import Story
from apps.stories.selectors import points_value

COLUMNS = (
    "key", "title", "kind", "state", "category", "points", "assignee", "assignee_username", "epic", "labels",
    "sprint", "deliverable", "blocked", "blocked_reason", "created", "updated", "started", "finished",
    "cycle_days", "in_state_since", "times_reopened", "deleted",
)  # fmt: skip
LABEL_SEPARATOR = "; "


def export_stories(stories: QuerySet[Story]) -> QuerySet[Story]:
    """``stories`` with everything a row shows, read in two queries (the rows, then their labels)."""
    return stories.select_related("state", "assignee", "epic", "sprint", "deliverable").prefetch_related("labels")


def _when(value: datetime | date | None, zone: tzinfo) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value, zone).isoformat(timespec="seconds")
    return value.isoformat()


def _person(user: Any) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


def story_row(story: Story, zone: tzinfo) -> list[Any]:
    labels = sorted(label.name for label in story.labels.all())
    return [
        story.key,
        story.title,
        story.get_kind_display(),
        story.state.name,
        story.state.category,
        points_value(story.points),
        _person(story.assignee),
        story.assignee.get_username() if story.assignee else None,
        story.epic.name if story.epic else None,
        LABEL_SEPARATOR.join(labels),
        story.sprint.name if story.sprint else None,
        story.deliverable.name if story.deliverable else None,
        "yes" if story.blocked else "no",
        story.blocked_reason,
        _when(story.created_at, zone),
        _when(story.updated_at, zone),
        _when(story.flow_started_at, zone),
        _when(story.flow_finished_at, zone),
        story.flow_cycle_days,
        _when(story.flow_state_since, zone),
        story.flow_reopened,
        _when(story.deleted_at, zone),
    ]


def story_rows(project: Project, stories: QuerySet[Story]) -> Iterator[list[Any]]:
    zone = project.tzinfo
    return (story_row(story, zone) for story in export_stories(stories))


def stories_csv(project: Project, stories: QuerySet[Story], *, name: str) -> HttpResponse:
    """The download of ``stories`` (already filtered and ordered), as ``KEY-name-YYYY-MM-DD.csv``."""
    today = timezone.localtime(timezone.now(), project.tzinfo).date().isoformat()
    return csv_download((COLUMNS, story_rows(project, stories)), filename=f"{project.key}-{name}-{today}.csv")
