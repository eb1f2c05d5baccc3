"""What every app's search selector shares: the query, the ranking, the excerpt and the SQLite fallback.

On PostgreSQL a kind is searched through a ``tsvector``: stored and GIN-indexed on stories (kept current
by the stories services), an expression GIN index on the smaller tables (epics, deliverables, requests).
The query is ``websearch_to_tsquery`` (quoted phrases, ``or``, ``-word``), ranked by ``ts_rank`` and
excerpted by ``ts_headline``. The embedded SQLite has none of that: every word of the query must
appear (``icontains``) in one of the kind's fields, a hit in the title ranks higher, and the excerpt is
cut in Python (``sprintboard.search``).

A search runs in two steps per kind: ``ranked`` finds the matches' ids and ranks (and how many there are)
without reading their text, then the selector reads the text and excerpt of the few shown.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import connection, migrations, models
from django.db.models import Case, Count, Exists, F, FloatField, OuterRef, Q, QuerySet, Value, When, Window
from django.db.models.expressions import Combinable

from apps.core.errors import InvalidInput
from sprintboard import search as text_search

CONFIG = "english"
MAX_QUERY_LENGTH = 200
KINDS = ("story", "epic", "deliverable", "request")
OPEN, CLOSED = "open", "closed"
STATES = (OPEN, CLOSED)
# An exact story key ranks above any text match (``ts_rank`` stays below 1).
EXACT_KEY_BONUS = 10.0
# How many of a kind's newest matches a query ranks (and counts, at most): see ``ranked``.
CANDIDATES = 500


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def clean_query(text: Any) -> str:
    """The query text, stripped; a 400 naming ``q`` when it is missing, blank, too long or not text."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("Type something to search for.", field="q", code="required")
    text = text.strip()
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"q is at most {MAX_QUERY_LENGTH} characters.", field="q", code="max_length")
    if "\x00" in text:
        raise InvalidInput("q may not contain NUL characters.", field="q")
    return text


def weighted_vector(*fields: tuple[str, str]) -> Combinable:
    """The ``tsvector`` of some text columns, each with its weight (``A`` counts most): ``("title", "A")``."""
    vectors = [SearchVector(name, weight=weight, config=CONFIG) for name, weight in fields]
    return reduce(operator.add, vectors)


def web_query(text: str) -> SearchQuery:
    return SearchQuery(text, search_type="websearch", config=CONFIG)


@dataclass(frozen=True)
class Ranked:
    """The best matches of one kind, best first, as ``(id, rank)``, and how many matched in all."""

    total: int
    rows: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class Hit:
    """One search result as pages and the API show it. ``highlight`` is safe HTML: escaped text, matches in
    ``<mark>``."""

    type: str
    id: int
    project: str
    key: str | None
    title: str
    url: str
    state: str
    highlight: str


@dataclass(frozen=True)
class Fallback:
    """How SQLite searches a kind: the columns every query word may appear in, the title (a hit there ranks
    higher), and other rows whose text counts as the kind's (a story's comments): ``(model, foreign key,
    column)``."""

    fields: Sequence[str]
    title: str
    related: Sequence[tuple[type[models.Model], str, str]] = ()


def ranked(
    rows: QuerySet[Any],
    text: str,
    *,
    vector: Combinable,
    fallback: Fallback,
    limit: int,
    exact: Q | None = None,
) -> Ranked:
    """The ``limit`` best of ``rows`` matching ``text``, and how many match (up to ``CANDIDATES``); ``exact`` rows
    first.

    The ranking reads every match's text, so a query that matches more than ``CANDIDATES`` rows is ranked among
    its newest ``CANDIDATES`` matches and counted as that many: a broad query's best results are in its newest
    few hundred, and ranking all 50,000 matches of a two-word query costs a second (bench_search).
    """
    matches = _matching(rows, text, vector, fallback)
    pool = rows.filter(pk__in=matches.order_by("-pk").values("pk")[:CANDIDATES])
    if exact is not None:
        pool = rows.filter(Q(pk__in=pool.values("pk")) | exact)
    if limit <= 0:
        return Ranked(total=pool.count(), rows=())
    rank = _rank(text, vector, fallback)
    if exact is not None:
        rank = Case(When(exact, then=rank + Value(EXACT_KEY_BONUS)), default=rank, output_field=FloatField())
    found = list(
        pool.annotate(search_rank=rank, search_total=Window(Count("*")))
        .order_by("-search_rank", "-pk")
        .values_list("pk", "search_rank", "search_total")[:limit]
    )
    if not found:
        return Ranked(total=0, rows=())
    return Ranked(total=found[0][2], rows=tuple((pk, float(score)) for pk, score, _ in found))


def _matching(rows: QuerySet[Any], text: str, vector: Combinable, fallback: Fallback) -> QuerySet[Any]:
    if is_postgres():
        return rows.alias(search_match=vector).filter(search_match=web_query(text))
    words = text_search.words(text)
    if not words:
        return rows.none()
    return rows.filter(reduce(operator.and_, (_anywhere(word, fallback) for word in words)))


def _anywhere(word: str, fallback: Fallback) -> Q:
    found = [Q(**{f"{name}__icontains": word}) for name in fallback.fields]
    for model, key, column in fallback.related:
        found.append(Q(Exists(model._default_manager.filter(**{key: OuterRef("pk"), f"{column}__icontains": word}))))
    return reduce(operator.or_, found)


def _rank(text: str, vector: Combinable, fallback: Fallback) -> Any:
    if is_postgres():
        return SearchRank(vector, web_query(text))
    title_hits = [
        Case(When(**{f"{fallback.title}__icontains": word}, then=Value(1.0)), default=Value(0.0))
        for word in text_search.words(text)
    ]
    return reduce(operator.add, title_hits, Value(0.1, output_field=FloatField()))


def with_excerpts(
    rows: QuerySet[Any], text: str, *, document: Any, plain: Callable[[Any], str]
) -> list[tuple[Any, str]]:
    """Each of ``rows`` with its excerpt around ``text``'s matches, as safe HTML. ``document`` is the text the
    excerpt is cut from (an expression, for PostgreSQL's ``ts_headline``); ``plain(row)`` the same text in Python
    (SQLite)."""
    if is_postgres():
        headline = SearchHeadline(
            document,
            web_query(text),
            config=CONFIG,
            start_sel=text_search.START,
            stop_sel=text_search.STOP,
            max_words=30,
            min_words=12,
            max_fragments=2,
            fragment_delimiter=" … ",
        )
        return [(row, text_search.marked(row.search_excerpt or "")) for row in rows.annotate(search_excerpt=headline)]
    words = text_search.words(text)
    return [(row, text_search.snippet(plain(row), words)) for row in rows]


@dataclass(frozen=True)
class Shown:
    """How one row of a kind shows as a result (what ``Hit`` has beyond the kind, id, project and excerpt)."""

    title: str
    url: str
    state: str = ""
    key: str | None = None


def in_state(rows: QuerySet[Any], state: str | None, *, closed: Q) -> QuerySet[Any]:
    """``rows`` in ``state``: ``CLOSED`` ones match ``closed``, ``OPEN`` ones do not; all of them for None."""
    if state == CLOSED:
        return rows.filter(closed)
    if state == OPEN:
        return rows.exclude(closed)
    return rows


def hits(
    rows: QuerySet[Any],
    text: str,
    *,
    kind: str,
    shown: Callable[[Any], Shown],
    fields: Sequence[str] = (),
    document: Any = None,
    plain: Callable[[Any], str] | None = None,
) -> dict[int, Hit]:
    """Each of ``rows`` (with its ``project`` selected) as a ``kind`` result, by id, with its excerpt around
    ``text``: cut from the text ``fields``, or from ``document`` and ``plain`` as for ``with_excerpts``."""
    if plain is None:
        document = joined(*fields)
        plain = lambda row: " ".join(str(getattr(row, name) or "") for name in fields)  # noqa: E731
    found = {}
    for row, excerpt in with_excerpts(rows, text, document=document, plain=plain):
        show = shown(row)
        found[row.pk] = Hit(
            type=kind,
            id=row.pk,
            project=row.project.key,
            key=show.key,
            title=show.title,
            url=show.url,
            state=show.state,
            highlight=excerpt,
        )
    return found


def joined(*parts: Any) -> Any:
    """Text columns and expressions joined by a space, nulls as empty text, for an excerpt's document."""
    from django.db.models.functions import Coalesce, Concat

    pieces: list[Any] = []
    for part in parts:
        if pieces:
            pieces.append(Value(" "))
        expression = F(part) if isinstance(part, str) else part
        pieces.append(Coalesce(expression, Value(""), output_field=models.TextField()))
    return Concat(*pieces, output_field=models.TextField())


class AddSearchIndex(migrations.AddIndex):
    """``AddIndex`` for a GIN search index: created on PostgreSQL, skipped on the embedded SQLite (which has no
    GIN), so the same migrations run on both.

    The index stays out of the migration state, and so out of the models' ``Meta.indexes``: SQLite rebuilds a
    table to add most fields, and would then try to create every index the state holds, GIN included.
    """

    def state_forwards(self, app_label: str, state: Any) -> None:
        return None

    def state_backwards(self, app_label: str, state: Any) -> None:
        return None

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
