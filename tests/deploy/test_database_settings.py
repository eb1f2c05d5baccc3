"""The app's PostgreSQL sessions: statements it runs often are planned once, and nothing is JIT-compiled.

A generic plan's estimate grows with the tables: the board poll's (``apps.stories.selectors.board_version``)
on a 50,000-story project cost 206,000, past PostgreSQL's ``jit_above_cost`` (100,000), and the 0.5 ms
query was compiled for ~120 ms on every run (every poll of every open board).
"""

from __future__ import annotations

import json

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
