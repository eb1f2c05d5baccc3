"""Search across the apps: stories, epics, deliverables and requests of the projects a person is in.

Each app searches its own kind (its selectors' ``*_search`` and ``*_hits``, built on apps.core.search);
this module picks the projects, merges the kinds by rank and reads the text of the results shown. Every
kind's best ``offset + limit`` ids and ranks are found without reading their text, in one statement on
PostgreSQL (``search.ranked_together`` over each app's ``Source``), one query per kind on SQLite; then a page
of results costs one query per kind that has results on it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User

from apps.core import search
from apps.deliverables import selectors as deliverable_selectors
from apps.intake import selectors as intake_selectors
from apps.projects.selectors import project_for_user, projects_for
from apps.stories import selectors as story_selectors
from apps.stories.models import Story
from sprintboard import search as text_search

Find = Callable[..., search.Ranked]
Read = Callable[[Collection[int], str], dict[int, search.Hit]]

KINDS: dict[str, tuple[Find, Read]] = {
    "story": (story_selectors.stories_search, story_selectors.story_hits),
    "epic": (story_selectors.epics_search, story_selectors.epic_hits),
    "deliverable": (deliverable_selectors.deliverables_search, deliverable_selectors.deliverable_hits),
    "request": (intake_selectors.requests_search, intake_selectors.request_hits),
}
SOURCES: dict[str, search.Source] = {
    "story": story_selectors.STORY_SOURCE,
    "epic": story_selectors.EPIC_SOURCE,
    "deliverable": deliverable_selectors.DELIVERABLE_SOURCE,
    "request": intake_selectors.REQUEST_SOURCE,
}
KIND_NAMES = {"story": "Stories", "epic": "Epics", "deliverable": "Deliverables", "request": "Requests"}


@dataclass(frozen=True)
class Results:
    """One page of results, best first, and how many matched: in all and per kind."""

    total: int
    counts: dict[str, int]
    hits: tuple[search.Hit, ...]


def searched_projects(user: User, key: str | None = None) -> list[int]:
    """The ids of the projects ``user`` may search: the one of ``key`` (a 404 unless they are in it), or all
    of theirs."""
    if key:
        project, _ = project_for_user(user=user, key=key)
        return [project.pk]
    return list(projects_for(user).values_list("pk", flat=True))


def story_for_key(user: User, text: str) -> Story | None:
    """The live story whose key ``text`` is (any case), when ``user`` is in its project."""
    key = text_search.story_key(text)
    if key is None:
        return None
    return Story.objects.alive().filter(key=key, project__memberships__user=user).select_related("project").first()


def search_all(
    *,
    project_ids: Collection[int],
    text: str,
    state: str | None = None,
    kinds: Sequence[str] = search.KINDS,
    offset: int = 0,
    limit: int = 20,
) -> Results:
    """Results ``offset`` to ``offset + limit`` of every kind in ``kinds``, merged by rank."""
    ranked = _ranked(project_ids=project_ids, text=text, state=state, kinds=kinds, limit=offset + limit)
    order = {kind: position for position, kind in enumerate(search.KINDS)}
    merged = sorted(
        ((score, kind, pk) for kind, found in ranked.items() for pk, score in found.rows),
        key=lambda row: (-row[0], order[row[1]], -row[2]),
    )[offset : offset + limit]
    wanted: dict[str, list[int]] = {}
    for _, kind, pk in merged:
        wanted.setdefault(kind, []).append(pk)
    read = {kind: KINDS[kind][1](ids, text) for kind, ids in wanted.items()}
    return Results(
        total=sum(found.total for found in ranked.values()),
        counts={kind: found.total for kind, found in ranked.items()},
        hits=tuple(read[kind][pk] for _, kind, pk in merged if pk in read[kind]),
    )


def search_by_kind(
    *, project_ids: Collection[int], text: str, state: str | None = None, per_kind: int = 10
) -> dict[str, tuple[int, tuple[search.Hit, ...]]]:
    """The best ``per_kind`` results of each kind, and how many matched, by kind (the search page's groups)."""
    out: dict[str, tuple[int, tuple[search.Hit, ...]]] = {}
    ranked = _ranked(project_ids=project_ids, text=text, state=state, kinds=search.KINDS, limit=per_kind)
    for kind, (_, read) in KINDS.items():
        found = ranked[kind]
        hits = read([pk for pk, _ in found.rows], text) if found.rows else {}
        out[kind] = (found.total, tuple(hits[pk] for pk, _ in found.rows if pk in hits))
    return out


def _ranked(
    *, project_ids: Collection[int], text: str, state: str | None, kinds: Sequence[str], limit: int
) -> dict[str, search.Ranked]:
    """The best ``limit`` ids and ranks of each kind in ``kinds``, and how many matched."""
    if search.is_postgres():
        return search.ranked_together(
            [SOURCES[kind] for kind in kinds],
            project_ids=project_ids,
            text=text,
            state=state,
            key=text_search.story_key(text),
            limit=limit,
        )
    return {kind: KINDS[kind][0](project_ids=project_ids, text=text, state=state, limit=limit) for kind in kinds}
