"""Sprints: plan, edit, start, close (carrying unfinished stories over) and delete."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from apps.core.errors import Conflict, InvalidInput
from apps.projects.events import Change
from apps.projects.models import CLOSED_CATEGORIES, Project
from apps.stories import signals
from apps.stories.models import (
    EventKind,
    Sprint,
    SprintStatus,
    Story,
)
from apps.stories.selectors import BOTTOM, TOP, active_sprint, following_sprint, points_value
from apps.stories.services.events import _repoint, lock_project
from apps.stories.services.stories import stories_move


@transaction.atomic
def sprint_delete(*, sprint: Sprint, actor, at: datetime | None = None) -> None:
    """Delete a planned sprint; its stories go back to the backlog, one ``sprint`` event each."""
    project, at = lock_project(sprint.project_id, at)
    sprint = Sprint.objects.select_for_update().get(pk=sprint.pk)
    if sprint.status != SprintStatus.PLANNED:
        raise Conflict(
            f"{sprint.name} is {sprint.status}: only a planned sprint can be deleted.", code="bad_transition"
        )
    _repoint(project, "sprint", sprint, None, Change(EventKind.SPRINT, "", sprint.pk, None), actor=actor, at=at)
    sprint.delete()


def project_today(project: Project, at: datetime | None = None) -> date:
    """The day it is in the project's time zone."""
    return (at or timezone.now()).astimezone(project.tzinfo).date()


_project_today = project_today


def next_sprint_dates(project: Project, *, at: datetime | None = None) -> tuple[date, date]:
    """The cadence: the day after the latest sprint ends, or today for a project's first sprint."""
    last_end = Sprint.objects.filter(project=project).aggregate(m=Max("end"))["m"]
    today = _project_today(project, at)
    start = last_end + timedelta(days=1) if last_end and last_end < today + FURTHEST else today
    return start, start + timedelta(days=project.sprint_length_days - 1)


LONGEST_SPRINT = timedelta(weeks=12)
FURTHEST = timedelta(days=3653)  # about ten years either side of today


def _check_dates(start: Any, end: Any, *, today: date) -> None:
    """A sprint is 1 day to 12 weeks long and lies within about ten years of today (its reports stay bounded)."""
    for field, value in (("start", start), ("end", end)):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise InvalidInput(f"{field} must be a date (YYYY-MM-DD).", field=field)
        if not today - FURTHEST <= value <= today + FURTHEST:
            raise InvalidInput(f"{field} must be within ten years of today.", field=field, code="out_of_range")
    if end < start:
        raise InvalidInput("A sprint cannot end before it starts.", field="end")
    if end - start >= LONGEST_SPRINT:
        raise InvalidInput("A sprint lasts at most 12 weeks.", field="end", code="too_long")


def _check_sprint_text(name: Any, goal: Any) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise InvalidInput("A sprint needs a name of at most 100 characters.", field="name")
    if not isinstance(goal, str) or len(goal) > 2000:
        raise InvalidInput("goal must be text of at most 2000 characters.", field="goal")


@transaction.atomic
def sprint_create(
    *,
    project: Project,
    actor,
    name: str | None = None,
    goal: str = "",
    start: date | None = None,
    end: date | None = None,
    at: datetime | None = None,
) -> Sprint:
    project = Project.objects.select_for_update().get(pk=project.pk)
    default_start, _ = next_sprint_dates(project, at=at)
    start = start if start is not None else default_start
    if end is None and isinstance(start, date):
        end = start + timedelta(days=project.sprint_length_days - 1)
    name = name if name is not None else f"Sprint {Sprint.objects.filter(project=project).count() + 1}"
    _check_sprint_text(name, goal)
    _check_dates(start, end, today=_project_today(project, at))
    return Sprint.objects.create(project=project, name=name.strip(), goal=goal, start=start, end=end)


@transaction.atomic
def sprint_update(
    *,
    sprint: Sprint,
    name: str | None = None,
    goal: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Sprint:
    sprint = Sprint.objects.select_for_update().get(pk=sprint.pk)
    if sprint.status == SprintStatus.CLOSED:
        raise Conflict(f"{sprint.name} is closed: its history is not rewritten.", code="sprint_closed")
    sprint.name = name if name is not None else sprint.name
    sprint.goal = goal if goal is not None else sprint.goal
    if (start, end) != (None, None):  # an imported sprint of long ago keeps its dates until they are changed
        sprint.start = start if start is not None else sprint.start
        sprint.end = end if end is not None else sprint.end
        _check_dates(sprint.start, sprint.end, today=_project_today(sprint.project))
    _check_sprint_text(sprint.name, sprint.goal)
    sprint.save()
    return sprint


@transaction.atomic
def sprint_start(*, sprint: Sprint, actor, at: datetime | None = None) -> Sprint:
    """Start a planned sprint and record its commitment: its stories and their points at this moment."""
    project, at = lock_project(sprint.project_id, at)
    sprint = Sprint.objects.select_for_update().get(pk=sprint.pk)
    if sprint.status != SprintStatus.PLANNED:
        raise Conflict(
            f"{sprint.name} is {sprint.status}: only a planned sprint can be started.", code="bad_transition"
        )
    active = active_sprint(sprint.project_id)
    if active is not None:
        raise Conflict(f"{active.name} is still active: close it before starting another.", code="sprint_active")
    stories = Story.objects.alive().filter(sprint=sprint).order_by("rank")
    sprint.commitment = [{"story": s.pk, "key": s.key, "points": points_value(s.points)} for s in stories]
    sprint.status, sprint.started_at, sprint.start_seq = SprintStatus.ACTIVE, at, project.last_event_seq
    try:
        with transaction.atomic():
            sprint.save()
    except IntegrityError:
        raise Conflict("Another sprint was started at the same moment.", code="sprint_active") from None
    transaction.on_commit(lambda: signals.sprint_started.send(sender=Sprint, sprint=sprint, actor=actor), robust=True)
    return sprint


UNFINISHED_DESTINATIONS = ("next_sprint", "backlog")


CARRY_OVER_DELAY = timedelta(microseconds=1)


@transaction.atomic
def sprint_close(
    *,
    sprint: Sprint,
    actor,
    unfinished: str = "next_sprint",
    choices: Mapping[int, str] | None = None,
    at: datetime | None = None,
) -> Sprint:
    """Close the active sprint; unfinished stories go to the next sprint or the top of the backlog: ``unfinished``
    for all of them, or per story in ``choices`` (story id -> destination; the others follow ``unfinished``)."""
    choices = choices or {}
    for destination in (unfinished, *choices.values()):
        if destination not in UNFINISHED_DESTINATIONS:
            raise InvalidInput('unfinished must be "next_sprint" or "backlog".', field="unfinished")
    project, at = lock_project(sprint.project_id, at)
    sprint = Sprint.objects.select_for_update().get(pk=sprint.pk)
    if sprint.status != SprintStatus.ACTIVE:
        raise Conflict(
            f"{sprint.name} is {sprint.status}: only the active sprint can be closed.", code="bad_transition"
        )
    carried = list(
        Story.objects.alive().filter(sprint=sprint).exclude(state__category__in=CLOSED_CATEGORIES).order_by("rank")
    )
    # The carry-over follows the close: a report "as at the close" counts these stories as not completed
    # in this sprint, not as removed from it.
    carry_at = at + CARRY_OVER_DELAY
    to_next = [story for story in carried if choices.get(story.pk, unfinished) == "next_sprint"]
    to_backlog = [story for story in carried if choices.get(story.pk, unfinished) == "backlog"]
    if to_next:
        following = _next_sprint(project, sprint, actor=actor, at=carry_at)
        stories_move(project=project, stories=to_next, actor=actor, placement=BOTTOM, sprint=following, at=carry_at)
    if to_backlog:
        stories_move(project=project, stories=to_backlog, actor=actor, placement=TOP, sprint=None, at=carry_at)
    sprint.status, sprint.closed_at = SprintStatus.CLOSED, at
    sprint.save()
    # Listeners (the sprint report) act on the committed close; robust: a listener's error never undoes it.
    transaction.on_commit(lambda: signals.sprint_closed.send(sender=Sprint, sprint=sprint, actor=actor), robust=True)
    return sprint


def _next_sprint(project: Project, sprint: Sprint, *, actor, at: datetime) -> Sprint:
    following = following_sprint(sprint)
    if following is not None:
        return following
    start, end = sprint.next_dates()
    return sprint_create(project=project, actor=actor, start=start, end=end, at=at)
