"""The database a benchmark measures in: its own, on the PostgreSQL server DATABASE_URL names."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit, urlunsplit


def fresh_postgres_database(name: str, *, who: str) -> str:
    """The URL of a new, empty database ``name`` on DATABASE_URL's server (one left by an earlier run is
    dropped first); exits with a message when DATABASE_URL is not PostgreSQL."""
    parts = urlsplit(os.environ.get("DATABASE_URL", ""))
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        sys.exit(f"{who} needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/any (it creates {name}).")
    import psycopg

    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))
