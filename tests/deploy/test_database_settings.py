"""The app's PostgreSQL sessions: statements it runs often are planned once, and nothing is JIT-compiled.

A generic plan's estimate grows with the tables: the board poll's (``apps.stories.selectors.board_version``)
on a 50,000-story project cost 206,000, past PostgreSQL's ``jit_above_cost`` (100,000), and the 0.5 ms
query was compiled for ~120 ms on every run (every poll of every open board).
"""

from __future__ import annotations

import json
import time

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def compiled(sql: str) -> bool:
    """Whether PostgreSQL JIT-compiled ``sql`` when it ran it (EXPLAIN ANALYZE's plan says so)."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return "JIT" in plan[0]


def test_the_apps_sessions_plan_prepared_statements_once_and_never_compile() -> None:
    assert setting("plan_cache_mode") == "force_generic_plan"
    assert setting("jit") == "off"


def test_a_statement_whose_estimate_passes_every_jit_threshold_is_not_compiled() -> None:
    query = "SELECT sum(x * 2 + 1) FROM generate_series(1, 1000) AS x"
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit_above_cost = 0")  # every estimate passes it, as the poll's does at 50,000
    assert not compiled(query)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = on")
        cursor.execute("SELECT pg_jit_available()")
        available = cursor.fetchone()[0]
    if available:  # a server built with LLVM (Debian's is): what the session's setting prevents
        assert compiled(query)


# --- The health check of a kept connection (apps/core/postgresql/base.py) -----------------------------------


def _other_connection():
    """A second connection to the same database, outside Django's handling (autocommit)."""
    raw = connection.get_new_connection(connection.get_connection_params())
    raw.autocommit = True
    return raw


def _last_statement(raw, pid: int) -> str:
    return raw.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


def _new_request() -> None:
    """What Django does between two requests on a kept connection (request_started's close_old_connections)."""
    connection.close_if_unusable_or_obsolete()


@pytest.mark.django_db(transaction=True)
def test_a_kept_idle_connection_is_checked_without_a_round_trip() -> None:
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    connection.connection.execute("SELECT 'the request before'")
    _new_request()
    other = _other_connection()
    try:
        with connection.cursor() as cursor:  # the request's first statement: the health check runs before it
            assert connection.health_check_done
            assert _last_statement(other, pid) == "SELECT 'the request before'"  # no SELECT 1 was sent
            cursor.execute("SELECT pg_backend_pid()")
            assert cursor.fetchone()[0] == pid  # the same connection, kept
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_closed_is_replaced_before_the_request_uses_it() -> None:
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    other = _other_connection()
    try:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        for _ in range(500):  # the backend says goodbye and exits
            if not other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                break
            time.sleep(0.01)
        _new_request()
        with connection.cursor() as cursor:  # would raise "terminating connection due to administrator command"
            cursor.execute("SELECT pg_backend_pid()")
            assert cursor.fetchone()[0] != pid
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_connection_with_a_transaction_open_is_asked_as_django_asks() -> None:
    connection.ensure_connection()
    connection.connection.execute("BEGIN")
    try:
        assert connection.is_usable()  # the server answers SELECT 1 inside the transaction
    finally:
        connection.connection.execute("ROLLBACK")
    connection.connection.close()
    assert not connection.is_usable()
    connection.connection = None  # closed behind Django's back: let it connect anew
