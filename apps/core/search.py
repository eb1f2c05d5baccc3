"""What every app's search selector shares: the query, the ranking, the excerpt and the SQLite fallback.

On PostgreSQL a kind is searched through a stored, GIN-indexed ``tsvector`` column, kept current by the
services that write its text in the same transaction (stories: ``story_search_update``; epics, deliverables
and requests: ``vectors_update``).
The query is ``websearch_to_tsquery`` (quoted phrases, ``or``, ``-word``), ranked by ``ts_rank`` and
excerpted by ``ts_headline``. The embedded SQLite has none of that: every word of the query must
appear (``icontains``) in one of the kind's fields, a hit in the title ranks higher, and the excerpt is
cut in Python (``sprintboard.search``).

A search runs in two steps: the matches' ids and ranks (and how many there are) are found without reading
their text, then each kind's selector reads the text and excerpt of the few shown. On PostgreSQL the first step
is one statement for every kind (``ranked_together``, from each kind's ``Source``): written as SQL text, it
costs no ORM compilation per query, which was most of a query's CPU time (bench_search). On SQLite each kind
answers through ``ranked``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Mapping, Sequence
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


def vectors_update(rows: QuerySet[Any], fields: Sequence[tuple[str, str]]) -> int:
    """Rewrite the stored ``search_vector`` of ``rows`` from their text ``fields`` (one UPDATE); how many rows.
    Every writer of those fields calls it in the transaction of its writes. Nothing on SQLite (no vectors)."""
    if not is_postgres():
        return 0
    return rows.update(search_vector=weighted_vector(*fields))


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


@dataclass(frozen=True)
class Source:
    """How PostgreSQL searches a kind in ``ranked_together``, as SQL on a row ``{t}`` of ``table``: its
    ``tsvector`` (its stored, GIN-indexed column), what every searched row meets besides being in a searched
    project (``alive``), the condition of each state of ``STATES`` (a state missing here: the kind has no rows
    in it), and the column an exact key is matched on."""

    kind: str
    table: str
    vector: str
    states: Mapping[str, str]
    alive: str = "TRUE"
    key: str | None = None


QUERY_SQL = f"websearch_to_tsquery('{CONFIG}'::regconfig, %(text)s)"
# How an excerpt is cut (``ts_headline``'s options): at most two fragments of 12 to 30 words.
MIN_WORDS, MAX_WORDS, MAX_FRAGMENTS, FRAGMENT_DELIMITER = 12, 30, 2, " … "
EXCERPT_OPTIONS = (
    f"StartSel={text_search.START}, StopSel={text_search.STOP}, MaxWords={MAX_WORDS}, MinWords={MIN_WORDS}, "
    f'MaxFragments={MAX_FRAGMENTS}, FragmentDelimiter="{FRAGMENT_DELIMITER}"'
)


def excerpt_sql(document: str) -> str:
    """SQL of the excerpt of ``document`` (SQL text) around the query's matches, as ``with_excerpts`` cuts it;
    its parameters are ``%(text)s`` (the query) and ``%(excerpt)s`` (``EXCERPT_OPTIONS``)."""
    return f"ts_headline('{CONFIG}'::regconfig, {document}, {QUERY_SQL}, %(excerpt)s)"


def _part(source: Source, state: str | None, *, exact: bool, one_project: bool) -> str:
    """One kind's best ``%(limit)s`` among its ``CANDIDATES`` newest matches (and an exact key), with how many.

    The SQL is made of the sources' constant text (tables, columns, conditions); what a user typed is a
    parameter (``%(text)s``, ``%(key)s``, ``%(projects)s``)."""
    # One project by equality: ``= ANY(array)``, even of one, keeps the planner off the (project, newest)
    # index, and it walked every newer project's rows backwards by id instead (190 against 16 ms).
    projects = "= %(project)s" if one_project else "= ANY(%(projects)s)"
    where = f"{{t}}.project_id {projects} AND {source.alive}"
    if state is not None:
        where += f" AND {source.states[state]}"
    keyed = exact and source.key is not None
    bonus = f" + CASE WHEN t.{source.key} = %(key)s THEN {EXACT_KEY_BONUS}::real ELSE 0 END" if keyed else ""
    pool = (
        f"(SELECT m.id FROM {source.table} AS m WHERE {where.format(t='m')} AND {source.vector.format(t='m')} @@ "  # noqa: S608
        f"{QUERY_SQL} ORDER BY m.id DESC LIMIT {CANDIDATES})"
    )
    if keyed:  # a union, not ``OR``: an ``OR`` beside the pool's subquery reads the whole table
        pool += f" UNION SELECT k.id FROM {source.table} AS k WHERE {where.format(t='k')} AND k.{source.key} = %(key)s"  # noqa: S608
    return (
        f"(SELECT '{source.kind}'::text AS kind, t.id, ts_rank({source.vector.format(t='t')}, {QUERY_SQL}){bonus} "  # noqa: S608
        f"AS rank, count(*) OVER () AS total FROM {source.table} AS t "
        f"WHERE {where.format(t='t')} AND t.id IN ({pool}) ORDER BY rank DESC, t.id DESC LIMIT %(limit)s)"
    )


def ranked_together(
    sources: Sequence[Source],
    *,
    project_ids: Collection[int],
    text: str,
    state: str | None = None,
    key: str | None = None,
    limit: int,
) -> dict[str, Ranked]:
    """Every source's ``Ranked`` in one statement (PostgreSQL only), as ``ranked`` answers each: the ``limit``
    best of its ``CANDIDATES`` newest matches, an exact ``key`` first, and how many (``limit`` 0: only how many)."""
    searched = [source for source in sources if state is None or state in source.states]
    if not searched or not project_ids:
        return {source.kind: Ranked(total=0, rows=()) for source in sources}
    projects = list(project_ids)
    sql = " UNION ALL ".join(
        _part(source, state, exact=key is not None, one_project=len(projects) == 1) for source in searched
    )
    params: dict[str, Any] = {
        "projects": projects,
        "project": projects[0],
        "text": text,
        "key": key,
        "limit": max(limit, 1),
    }
    totals: dict[str, int] = {}
    found: dict[str, list[tuple[int, float]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, pk, score, total in cursor.fetchall():
            totals[kind] = total
            found.setdefault(kind, []).append((pk, float(score)))
    return {
        source.kind: Ranked(
            total=totals.get(source.kind, 0), rows=tuple(found.get(source.kind, ())) if limit > 0 else ()
        )
        for source in sources
    }


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
            max_words=MAX_WORDS,
            min_words=MIN_WORDS,
            max_fragments=MAX_FRAGMENTS,
            fragment_delimiter=FRAGMENT_DELIMITER,
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
