"""Search across the apps: stories, epics, deliverables and requests of the projects a person is in.

Each app searches its own kind (its selectors' ``*_search`` and ``*_hits``, built on apps.core.search);
this module picks the projects, merges the kinds by rank and reads the text of the results shown. A
kind's search answers its best ``offset + limit`` ids and ranks without reading their text, so a page of
results costs one ranked query per kind and one query per kind that has results on the page.
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
    ranked = {
        kind: KINDS[kind][0](project_ids=project_ids, text=text, state=state, limit=offset + limit) for kind in kinds
    }
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
    for kind, (find, read) in KINDS.items():
        found = find(project_ids=project_ids, text=text, state=state, limit=per_kind)
        hits = read([pk for pk, _ in found.rows], text) if found.rows else {}
        out[kind] = (found.total, tuple(hits[pk] for pk, _ in found.rows if pk in hits))
    return out
