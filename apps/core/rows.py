"""One row by a unique column, read by a SELECT built once, made into model instances as the ORM makes them.

A rank move is the hottest write there is, and Django's ORM builds every query anew: on the move's path that
cost more Python time per statement (0.5-2 ms) than PostgreSQL took to run it. A ``RowQuery`` writes its
SELECT once per process — the model's row, the rows of some of its foreign keys (``select_related``'s LEFT
JOINs), extra columns, optionally ``FOR UPDATE`` of the row — and turns the answer into instances with each
field's own converters (``Model.from_db``), so what comes back is what the ORM would have given.
tests/apps/core/test_rows.py holds the two equal. Use it where a profile shows the ORM's cost, nowhere else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Field, ForeignKey, Model
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]


def _column(field: Any) -> str:
    """A concrete field's column, quoted."""
    assert field.column is not None  # concrete fields have one
    return connection.ops.quote_name(field.column)


def _deferred(model: type[Model]) -> frozenset[str]:
    """The fields the model's default manager defers (Story's search vector): left unread, as the ORM leaves
    them, so that a ``save()`` does not write them back."""
    names, deferring = model._default_manager.get_queryset().query.deferred_loading
    return frozenset(names) if deferring else frozenset()


def prepared_cursor() -> CursorWrapper:
    """On PostgreSQL, a cursor that binds its parameters on the server, so psycopg prepares a statement it runs
    often (``prepare_threshold`` in settings) and PostgreSQL plans it once per connection (``plan_cache_mode``):
    for the board poll's version query, planning cost more than running it (0.6 of 0.9 ms of the database's
    CPU). Django's own cursors bind on the client and never prepare. Wrapped as Django's are: logged, counted,
    errors translated. Elsewhere, Django's cursor.

    It works on the request's connection itself, not through ``django.db.connection`` (a proxy that looks the
    connection up again at every attribute: 8 lookups a statement, a fifth of a session read's CPU)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return db.cursor()
    db.ensure_connection()
    cursor = psycopg.Cursor(db.connection)
    return (CursorDebugWrapper if db.queries_logged else CursorWrapper)(cursor, db)


class _Part:
    """One table of the SELECT: a model, its alias, the columns read and their converters."""

    def __init__(self, model: type[Model], alias: str, via: ForeignKey | None) -> None:
        self.model, self.alias, self.via = model, alias, via
        deferred = _deferred(model) if via is None else frozenset()  # select_related reads related rows whole
        self.fields: list[Field] = [field for field in model._meta.concrete_fields if field.name not in deferred]
        self.attnames = [field.attname for field in self.fields]

    def columns(self) -> list[str]:
        return [f"{self.alias}.{_column(field)}" for field in self.fields]

    def converters(self) -> list[tuple[list[Converter], Any]]:
        """Per column, the converters the ORM would apply (the backend's, then the field's) and their expression."""
        found = []
        for field in self.fields:
            column = field.get_col(self.alias)
            found.append(([*connection.ops.get_db_converters(column), *field.get_db_converters(connection)], column))
        return found


class RowQuery(Generic[M]):
    """``model``'s row whose ``by`` column equals a value, with ``related`` foreign keys' rows, ``extra`` columns
    (SQL over the alias ``t0``, with ``%s`` parameters given at each call, in order) and, with ``lock``, the row
    locked ``FOR UPDATE`` (only that row; the database's own features decide, as for ``select_for_update``).

    ``lock_first`` names related rows (non-null foreign keys, some of ``related``) locked in the same statement,
    before the row and in the order given: ``FOR UPDATE OF t1, t0``. PostgreSQL locks a statement's rows in the
    order of its ``OF`` list (its planner keeps that list's order; tests/apps/stories/test_story_lock.py holds the
    order against a writer that locks the same rows one statement at a time), so a writer that must lock a parent
    before its child does both in one round trip.

    ``prepared`` runs it through ``prepared_cursor``: planned once per connection, which suits every statement
    here (one row by a unique column: its plan is the same for every value). Planning was most of the database's
    CPU for them: the API's story with the caller's role 0.18 ms unprepared, 0.04 prepared; preparing the
    session's, the story's, the locks and a move's writes took a move through the service from 3.3 to 2.3 ms and
    through the API from 6.7 to 5.3 (medians, interleaved, bench_backlog's database)."""

    def __init__(
        self,
        model: type[M],
        *,
        by: str = "pk",
        related: Sequence[str] = (),
        extra: Mapping[str, str] | None = None,
        lock: bool = False,
        lock_first: Sequence[str] = (),
        prepared: bool = False,
    ) -> None:
        self.model, self.by, self.related, self.lock = model, by, tuple(related), lock or bool(lock_first)
        self.prepared = prepared
        self.extra = dict(extra or {})
        self.lock_first = tuple(lock_first)
        if not set(self.lock_first) <= set(self.related):
            raise TypeError(f"lock_first {self.lock_first} names foreign keys not in related {self.related}")

    @functools.cached_property
    def _parts(self) -> list[_Part]:
        parts = [_Part(self.model, "t0", None)]
        for index, name in enumerate(self.related, start=1):
            field = self.model._meta.get_field(name)
            if not isinstance(field, ForeignKey):
                raise TypeError(f"{self.model.__name__}.{name} is not a foreign key")
            if name in self.lock_first and field.null:
                raise TypeError(f"{self.model.__name__}.{name} can be null: only a row that is always there is locked")
            parts.append(_Part(field.related_model, f"t{index}", field))
        return parts

    @functools.cached_property
    def _sql(self) -> str:
        """The statement; built on first use, when the database (and so its SQL dialect) is known."""
        quote = connection.ops.quote_name
        meta = self.model._meta
        columns = [column for part in self._parts for column in part.columns()]
        columns += [f"{sql} AS {quote(name)}" for name, sql in self.extra.items()]
        locked = {part.via.name: part.alias for part in self._parts[1:] if part.via.name in self.lock_first}  # type: ignore[union-attr]
        joins = [
            # A locked row cannot be on the nullable side of an outer join (PostgreSQL refuses it); it is never null.
            f"{'INNER' if part.alias in locked.values() else 'LEFT OUTER'} JOIN {quote(part.model._meta.db_table)} "
            f"{part.alias} ON {part.alias}.{_column(part.model._meta.pk)} = t0.{_column(part.via)}"
            for part in self._parts[1:]
        ]
        by = _column(meta.pk if self.by == "pk" else meta.get_field(self.by))
        sql = f"SELECT {', '.join(columns)} FROM {quote(meta.db_table)} t0 {' '.join(joins)} WHERE t0.{by} = %s"  # noqa: S608
        if self.lock and connection.features.has_select_for_update:
            if connection.features.has_select_for_update_of:
                sql += " FOR UPDATE OF " + ", ".join([*(locked[name] for name in self.lock_first), "t0"])
            else:
                sql += " FOR UPDATE"
        return sql

    @functools.cached_property
    def _converters(self) -> list[list[tuple[list[Converter], Any]]]:
        return [part.converters() for part in self._parts]

    def get(self, value: Any, *params: Any) -> M:
        """The row, with its related rows cached on it (None where a foreign key is null) and each ``extra``
        column as an attribute; ``params`` fill the extra columns' ``%s``. No row: ``model.DoesNotExist``."""
        found = self.first(value, *params)
        if found is None:
            missing: type[Exception] = self.model.DoesNotExist  # type: ignore[attr-defined]  # every model has one
            raise missing(f"no {self.model.__name__} with {self.by} = {value!r}")
        return found

    def first(self, value: Any, *params: Any) -> M | None:
        """As ``get``, None when there is no such row."""
        if self.lock and not connection.in_atomic_block:
            raise TransactionManagementError("a locking RowQuery runs inside a transaction")
        found = self._read(value, params)
        if found is not None and self.lock and self._joined_stale(found):
            # The row changed while this statement waited for its lock: PostgreSQL rechecked the locked rows
            # against its first reading of the joined ones (EvalPlanQual), so a changed foreign key found no
            # row. Read again: the locks are held now, nothing is rechecked (tests/apps/stories/test_story_lock.py).
            found = self._read(value, params)
        return found

    def select(self, parameter: str) -> str:
        """The SELECT with its value as the named parameter ``parameter`` (``%(name)s``), to read the row inside a
        larger statement (``from_row`` makes its first ``width`` columns into the instance). Without ``extra``."""
        if self.extra or self.lock:
            raise TypeError("select() is for a plain read: no extra columns, no lock")
        return self._sql.replace("%s", f"%({parameter})s")

    @functools.cached_property
    def width(self) -> int:
        """How many columns the SELECT answers."""
        return sum(len(part.fields) for part in self._parts) + len(self.extra)

    def _read(self, value: Any, params: tuple[Any, ...]) -> M | None:
        db = connections[DEFAULT_DB_ALIAS]
        with prepared_cursor() if self.prepared else db.cursor() as cursor:
            cursor.execute(self._sql, [*params, value])
            row = cursor.fetchone()
        return None if row is None else self.from_row(row)

    def from_row(self, row: Sequence[Any]) -> M:
        """The instance (with its related rows and extra columns) from the first ``width`` values of ``row``."""
        db = connections[DEFAULT_DB_ALIAS]
        instances, start = [], 0
        for part, converters in zip(self._parts, self._converters, strict=True):
            values = list(row[start : start + len(part.fields)])
            start += len(part.fields)
            for index, (chain, column) in enumerate(converters):
                for convert in chain:
                    values[index] = convert(values[index], column, db)
            instances.append(part.model.from_db(DEFAULT_DB_ALIAS, part.attnames, values))
        found = instances[0]
        for part, instance in zip(self._parts[1:], instances[1:], strict=True):
            part.via.set_cached_value(found, instance if instance.pk is not None else None)  # type: ignore[union-attr]
        for name, value in zip(self.extra, row[start : self.width], strict=True):
            setattr(found, name, value)
        return found  # type: ignore[return-value]

    def _joined_stale(self, found: M) -> bool:
        """A foreign key set on the row whose related row did not come back (or came back another)."""
        for part in self._parts[1:]:
            via: Any = part.via
            key, related = getattr(found, via.attname), via.get_cached_value(found)
            if key is not None and (related is None or related.pk != key):
                return True
        return False
