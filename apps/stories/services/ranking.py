"""Where a story goes in a ranked list: a placement (top, bottom, before or after a story), the spot
it names, and the rank key between its neighbours (rebalancing when keys grow too long)."""

from __future__ import annotations

from typing import NamedTuple

from django.db import DatabaseError

from apps.core.errors import InvalidInput
from apps.core.rows import prepared_cursor
from apps.projects.events import Change
from apps.projects.models import CLOSED_CATEGORIES, Project, WorkflowState
from apps.stories.models import (
    EventKind,
    Sprint,
    Story,
)
from apps.stories.selectors import Placement, list_filter
from apps.stories.services.events import _update_each_sql, _write
from sprintboard import ranking


class Spot(NamedTuple):
    """Where a story goes: the keys just below and above the spot among all the project's stories (keys are
    unique per project), and for a top or bottom placement the list's edge among the others (None: empty)."""

    lower: str | None
    upper: str | None
    edge: str | None = None


def _spot(project: Project, placement: Placement, sprint: Sprint | None, moving: int | None) -> Spot:
    """The spot of ``placement`` in ``sprint``'s list (the backlog for None), ``moving`` left out: one query."""
    if placement.position is not None:
        return _edge_spot(project, placement.position == "top", sprint, moving)
    everyone = Story.objects.filter(project=project).exclude(pk=moving)  # pk=None excludes no row
    if placement.before is not None:
        below = everyone.filter(rank__lt=placement.before.rank).order_by("-rank").values_list("rank", flat=True).first()
        return Spot(below, placement.before.rank)
    after = _after(placement)
    above = everyone.filter(rank__gt=after.rank).order_by("rank").values_list("rank", flat=True).first()
    return Spot(after.rank, above)


def _after(placement: Placement) -> Story:
    """The story a placement that is neither at an edge nor before a story goes after."""
    if placement.after is None:
        raise ValueError("a Placement names exactly one of before, after or position")
    return placement.after


STORY_TABLE = Story._meta.db_table
STATE_TABLE = WorkflowState._meta.db_table


def _edge_spot(project: Project, top: bool, sprint: Sprint | None, moving: int | None) -> Spot:
    """The list's first (or last) key and the project's next key beyond it, in one statement (two for an empty list).

    Written out in SQL (and prepared: planned once per connection) because moving a story to the top of the
    backlog is the hottest write there is and building this query with the ORM cost more than running it. The
    list is ``selectors.list_filter``'s (tests/apps/stories/test_ranking_sql.py holds the two equal).
    """
    params: dict[str, str | int | None] = {
        "project": project.pk,
        "moving": moving or 0,
        "sprint": sprint.pk if sprint else None,
    }
    if sprint is not None:
        in_list = "e.sprint_id = %(sprint)s AND e.deleted_at IS NULL"
    else:
        params.update(zip(("closed0", "closed1"), CLOSED_CATEGORIES, strict=True))
        in_list = "e.sprint_id IS NULL AND e.deleted_at IS NULL AND st.category NOT IN (%(closed0)s, %(closed1)s)"
    near, far = ("<=", "DESC") if top else (">=", "ASC")
    sql = f"""
        SELECT s.rank FROM {STORY_TABLE} s
        WHERE s.project_id = %(project)s AND s.id <> %(moving)s AND s.rank {near} (
            SELECT e.rank FROM {STORY_TABLE} e JOIN {STATE_TABLE} st ON st.id = e.state_id
            WHERE e.project_id = %(project)s AND e.id <> %(moving)s AND {in_list}
            ORDER BY e.rank {"ASC" if top else "DESC"} LIMIT 1)
        ORDER BY s.rank {far} LIMIT 2"""  # noqa: S608
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        keys = [rank for (rank,) in cursor.fetchall()]
        if not keys:  # an empty list: below every key there is
            cursor.execute(
                f"SELECT MAX(s.rank) FROM {STORY_TABLE} s WHERE s.project_id = %(project)s AND s.id <> %(moving)s",  # noqa: S608
                params,
            )
            return Spot(cursor.fetchone()[0], None)
    beyond = keys[1] if len(keys) > 1 else None
    return Spot(beyond, keys[0], keys[0]) if top else Spot(keys[0], beyond, keys[0])


def _new_rank(project: Project, spot: Spot, moving: int | None) -> tuple[str, dict[str, str]]:
    """The rank key for the spot, and the keys a rebalance rewrote to make room ({story key: rank})."""
    key = ranking.key_between(spot.lower, spot.upper)
    if len(key) <= ranking.MAX_KEY_LENGTH:
        return key, {}
    return _rebalance_around(project, spot.lower, moving)


ROW = ("pk", "key", "rank")
REACH = 64  # keys read on each side of a rebalance's spot before the window is known to fit


def _rebalance_around(project: Project, lower: str | None, moving: int | None) -> tuple[str, dict[str, str]]:
    """The gap is exhausted: give a neighbourhood fresh, short keys (order unchanged; one event lists them).

    Reads the keys near the spot, not the project's: ``reach`` on each side, more only when the window the
    engine needs runs past what was read (a backlog packed far beyond its size).
    """
    everyone = Story.objects.filter(project=project).exclude(pk=moving)  # pk=None excludes no row
    reach = REACH
    while True:
        below = (
            [] if lower is None else list(everyone.filter(rank__lte=lower).order_by("-rank").values_list(*ROW)[:reach])
        )
        after = everyone if lower is None else everyone.filter(rank__gt=lower)
        above = list(after.order_by("rank").values_list(*ROW)[:reach])
        rows = below[::-1] + above
        start, fresh = ranking.rebalance_window([rank for _, _, rank in rows], len(below))
        stop = start + len(fresh) - 1
        if (start > 0 or len(below) < reach) and (stop < len(rows) or len(above) < reach):
            break
        reach *= 4
    index = len(below)
    window = rows[start:stop]
    new_keys = fresh[: index - start] + fresh[index - start + 1 :]
    keys = [(pk, key) for (pk, _, _), key in zip(window, new_keys, strict=True)]
    if keys and sum(_write(_update_each_sql(Story, "rank", keys))) != len(keys):
        raise DatabaseError("A rebalance did not rewrite every key it read.")
    return fresh[index - start], {story_key: key for (_, story_key, _), key in zip(window, new_keys, strict=True)}


def _rebalance_changes(rebalanced: dict[str, str]) -> list[Change]:
    """One event for a whole rebalance (on the story whose placement caused it), naming every key rewritten."""
    return [Change(EventKind.REBALANCED, to_value=rebalanced)] if rebalanced else []


def _reread_anchor(placement: Placement) -> Placement:
    """The anchor as it is now, read under the project's lock: the caller's copy may predate another writer's move."""
    anchor = placement.before or placement.after
    if anchor is None or anchor.pk is None:
        return placement
    fresh = Story.objects.filter(pk=anchor.pk).first() or anchor
    return Placement(before=fresh) if placement.before is not None else Placement(after=fresh)


def _check_anchor(
    project: Project, story: Story | None, anchor: Story | None, sprint: Sprint | None, field: str
) -> None:
    if anchor is None:
        return
    if anchor.project_id != project.pk or anchor.deleted_at is not None:
        raise InvalidInput(f"{anchor.key} is not a story of {project.key}.", field=field, code="bad_anchor")
    if story is not None and anchor.pk == story.pk:
        raise InvalidInput("A story cannot be placed relative to itself.", field=field, code="bad_anchor")
    if not Story.objects.filter(pk=anchor.pk).filter(list_filter(sprint)).exists():
        where = sprint.name if sprint is not None else "the backlog"
        raise InvalidInput(f"{anchor.key} is not in {where}.", field=field, code="bad_anchor")


def _already_there(project: Project, story: Story, placement: Placement, sprint: Sprint | None, spot: Spot) -> bool:
    """True when the story already sits where it is asked to go, so a repeated move writes nothing.

    ``story`` is the row as locked and read by ``_lock`` (unchanged): whether it is in the list is known
    from it (what ``list_filter`` asks), without a query; for the top or bottom, so is the answer, from the
    list's edge among the other stories.
    """
    if story.deleted_at is not None:
        return False
    if sprint is not None:
        if story.sprint_id != sprint.pk:
            return False
    elif story.sprint_id is not None or story.state.category in CLOSED_CATEGORIES:
        return False
    if placement.position == "top":
        return spot.edge is None or story.rank < spot.edge
    if placement.position == "bottom":
        return spot.edge is None or story.rank > spot.edge
    in_list = Story.objects.filter(project=project).filter(list_filter(sprint))
    if placement.before is not None:
        next_key = in_list.filter(rank__gt=story.rank).order_by("rank").values_list("pk", flat=True).first()
        return next_key == placement.before.pk
    previous = in_list.filter(rank__lt=story.rank).order_by("-rank").values_list("pk", flat=True).first()
    return previous == _after(placement).pk
