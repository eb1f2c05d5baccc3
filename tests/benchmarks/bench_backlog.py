"""Benchmark of backlog ranking on PostgreSQL with a 10,000-story backlog.

Run ``DATABASE_URL=postgres://... python tests/benchmarks/bench_backlog.py [--stories N] [--repeat R]``.
It creates its own database ``sprintboard_bench_backlog`` next to DATABASE_URL's (dropped and
re-created each run; ``--database-name NAME`` names another, so that two runs on one server don't collide),
migrates it, loads one project whose backlog holds N stories (written in bulk: keys from
``sprintboard.ranking.spread`` and one ``created`` event each), then measures, R times each:

- move the last story to the top      ``POST /api/v1/stories/{KEY}/move/ {"position": "top"}``
- move a story to the middle           ``POST /api/v1/stories/{KEY}/move/ {"before": <the 5,000th>}``
- list the first page of the backlog   ``GET /api/v1/projects/BENCH/backlog/`` (and the backlog page's first screen)

first in process with Django's test client (server time, SQL statements, rows written per request:
the sum of the row counts of every INSERT/UPDATE/DELETE; for the two reads also the CPU time of this process
and of the PostgreSQL backend serving it, which a busy machine inflates far less), then over HTTP against
gunicorn started on a free port (round-trip time from a keep-alive client on the same machine). Prints median
and p95.

In the same run it also times what a move cannot do without: the bare SQL ``UPDATE project ...
RETURNING seq; UPDATE story; INSERT event`` in one transaction (raw, on its own psycopg connection,
same database and tables, one story per iteration: the last backlog story to the top), interleaved
with the same move through the API and through the service (``services.story_move``), and prints the
ratios of the medians. Targets (issue 12): API move / bare <= 5x, service move / bare <= 3x.
Not collected by pytest (bench_*.py).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DB_NAME = "sprintboard_bench_backlog"


def bench_database_url(name: str = DB_NAME) -> str:
    from tests.benchmarks.databases import fresh_postgres_database

    return fresh_postgres_database(name, who="bench_backlog")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def report(
    label: str,
    times: list[float],
    statements: list[int] | None = None,
    rows: list[int] | None = None,
    cpu: list[float] | None = None,
    database_cpu: list[float] | None = None,
) -> None:
    line = (
        f"{label:<44} median {statistics.median(times):7.2f} ms   p95 {percentile(times, 95):7.2f} ms   n={len(times)}"
    )
    # CPU time, which a busy machine inflates far less than the time on the clock: this process's, and that of
    # the PostgreSQL backend serving it (where the server runs on this machine).
    if cpu is not None:
        line += f"   CPU median {statistics.median(cpu):.2f} ms"
    if database_cpu is not None:
        line += f" + PostgreSQL's {statistics.median(database_cpu):.2f} ms"
    if statements is not None:
        line += f"   SQL {statistics.median(statements):.0f} (max {max(statements)})"
    if rows is not None:
        line += f"   rows written {statistics.median(rows):.0f} (max {max(rows)})"
    print(line, flush=True)


def seed(stories: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from apps.projects import services as project_services
    from apps.projects.models import Project, Role
    from apps.stories.models import Story, StoryEvent
    from apps.web.services import token_issue
    from sprintboard import ranking

    owner = get_user_model().objects.create_user("owner", password="bench")
    project = project_services.project_create(creator=owner, key="BENCH", name="Bench")
    Project.objects.filter(pk=project.pk).update(last_story_number=stories, last_event_seq=stories)
    project_services.membership_add(
        project=project, user=get_user_model().objects.create_user("po"), role=Role.PRODUCT_OWNER
    )
    state = project.states.order_by("position").first()
    now = timezone.now()
    keys = ranking.spread(None, None, stories)

    def story(n: int) -> Story:
        row = Story(
            project=project,
            number=n,
            key=f"BENCH-{n}",
            title=f"Story {n}",
            state=state,
            rank=keys[n - 1],
            points=n % 8 or None,
            created_at=now,
            updated_at=now,
        )
        if hasattr(Story, "set_flow"):  # the per-story flow projection, as story_create sets it
            from sprintboard import projection

            row.set_flow(projection.advance(None, kind="created", at=now, category=state.category), zone=project.tzinfo)
        return row

    Story.objects.bulk_create((story(n) for n in range(1, stories + 1)), batch_size=2000)
    ids = dict(Story.objects.filter(project=project).values_list("number", "pk"))
    StoryEvent.objects.bulk_create(
        (
            StoryEvent(
                project=project,
                seq=n,
                story_id=ids[n],
                kind="created",
                to_value={"state": state.pk, "sprint": None, "points": n % 8 or None},
                at=now,
            )
            for n in range(1, stories + 1)
        ),
        batch_size=2000,
    )
    _, token = token_issue(user=owner, name="bench")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics, as autovacuum would gather on a live database
    return project, owner, token


@contextmanager
def counting():
    """Count SQL statements and the rows written by INSERT/UPDATE/DELETE statements."""
    from django.db import connection

    tally = {"statements": 0, "rows": 0}

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        tally["statements"] += 1
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            tally["rows"] += max(context["cursor"].rowcount, 0)
        elif sql.startswith("WITH w0 AS ("):  # the event writer's one round trip answers the rows of each part
            cursor = context["cursor"]  # (then, for a rank move, the story's label names: not a count)
            tally["rows"] += sum(value for value in cursor.fetchone() if isinstance(value, int))
            cursor.scroll(0, mode="absolute")  # the writer reads the same row
        return result

    with connection.execute_wrapper(wrapper):
        yield tally


def backlog_keys() -> list[str]:
    from apps.stories.models import Story
    from apps.stories.selectors import backlog_filter

    return list(
        Story.objects.filter(project__key="BENCH")
        .filter(backlog_filter())
        .order_by("rank")
        .values_list("key", flat=True)
    )


def move_cases(repeat: int, rng: random.Random):
    """(label, [(story, body), ...]) built lazily: each move depends on the order the previous one left."""

    def last_to_top():
        keys = backlog_keys()
        return keys[-1], {"position": "top"}

    def to_middle():
        keys = backlog_keys()
        middle = keys[len(keys) // 2]
        story = rng.choice([k for k in keys[:200] + keys[-200:] if k != middle])
        return story, {"before": middle}

    return [("move the last story to the top", last_to_top), ("move a story to the middle", to_middle)]


def in_process(owner, repeat: int, rng: random.Random) -> None:
    from django.test import Client

    client = Client()
    client.force_login(owner)
    print("\nIn process (Django test client):", flush=True)
    for label, next_move in move_cases(repeat, rng):
        times, statements, rows = [], [], []
        for _ in range(repeat):
            story, body = next_move()
            with counting() as tally:
                began = time.perf_counter()
                response = client.post(
                    f"/api/v1/stories/{story}/move/", json.dumps(body), content_type="application/json"
                )
                times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.content
            statements.append(tally["statements"])
            rows.append(tally["rows"])
        report(label, times, statements, rows)
    for label, path in (
        ("list the first page of the backlog (API)", "/api/v1/projects/BENCH/backlog/"),
        ("the backlog page's first screen (HTML)", "/p/BENCH/backlog/"),
    ):
        times, statements, cpu, database_cpu = [], [], [], []
        for _ in range(repeat):
            backend = backend_cpu_ms()
            with counting() as tally:
                began, began_cpu, began_backend = time.perf_counter(), time.process_time(), backend()
                response = client.get(path)
                times.append((time.perf_counter() - began) * 1000)
                cpu.append((time.process_time() - began_cpu) * 1000)
                database_cpu.append(backend() - began_backend)
            assert response.status_code == 200
            statements.append(tally["statements"])
        report(label, times, statements, cpu=cpu, database_cpu=database_cpu if any(database_cpu) else None)


def backend_cpu_ms():
    """A reader of the CPU time (ms) of the PostgreSQL backend serving this process's connection, from
    /proc/PID/schedstat: readable when the server runs on this machine; else the reader answers 0."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        path = Path(f"/proc/{cursor.fetchone()[0]}/schedstat")

    def read() -> float:
        try:
            return int(path.read_text().split()[0]) / 1e6
        except OSError:
            return 0.0

    return read


API_TARGET, SERVICE_TARGET = 5.0, 3.0


def backlog_ends() -> tuple[str, tuple[int, str, str]]:
    """The backlog's first rank key, and its last story (pk, key, rank): where a "to the top" move starts and lands."""
    from apps.stories.models import Story
    from apps.stories.selectors import backlog_filter

    backlog = Story.objects.filter(project__key="BENCH").filter(backlog_filter())
    return backlog.order_by("rank").values_list("rank", flat=True).first(), backlog.order_by("-rank").values_list(
        "pk", "key", "rank"
    ).first()


def versus_bare(owner, database_url: str, repeat: int) -> None:
    """API move, service move and the bare SQL of a move, interleaved (so load on the machine weighs on all three).

    Each iteration moves the backlog's last story to the top once each way; the bare way writes what a move
    must write and nothing else: the project's event counter (RETURNING the seq), the story's rank and
    version, one ``rank`` event. Reading where the story goes is not timed for the bare way (it is for the others).
    """
    import psycopg
    from django.test import Client
    from django.utils import timezone
    from psycopg.types.json import Jsonb

    from apps.projects.models import Project
    from apps.stories import services
    from apps.stories.models import Story, StoryEvent
    from sprintboard import ranking

    client = Client()
    client.force_login(owner)
    project = Project.objects.get(key="BENCH")
    keeps_time = any(
        f.name == "last_event_at" for f in Project._meta.concrete_fields
    )  # the log's last time, where kept
    counter = (
        f"UPDATE {Project._meta.db_table} SET last_event_seq = last_event_seq + 1"
        + (", last_event_at = %(at)s" if keeps_time else "")
        + " WHERE id = %(project)s RETURNING last_event_seq"
    )
    story_sql = f"UPDATE {Story._meta.db_table} SET rank = %(rank)s, version = version + 1, updated_at = %(at)s WHERE id = %(story)s"
    event_sql = (
        f"INSERT INTO {StoryEvent._meta.db_table} "
        "(project_id, seq, story_id, kind, field, from_value, to_value, actor_id, actor_name, to_name, at) "
        "VALUES (%(project)s, %(seq)s, %(story)s, 'rank', '', %(old)s, %(new)s, %(actor)s, '', '', %(at)s)"
    )

    def api() -> float:
        _, (_, key, _) = backlog_ends()
        began = time.perf_counter()
        response = client.post(
            f"/api/v1/stories/{key}/move/", json.dumps({"position": "top"}), content_type="application/json"
        )
        elapsed = (time.perf_counter() - began) * 1000
        assert response.status_code == 200, response.content
        return elapsed

    def service() -> float:
        _, (pk, _, _) = backlog_ends()
        story = Story.objects.get(pk=pk)
        began = time.perf_counter()
        services.story_move(story=story, actor=owner, placement=services.TOP)
        return (time.perf_counter() - began) * 1000

    with psycopg.connect(database_url, autocommit=True) as bare_connection:
        bare_connection.execute("SELECT 1")

        def bare() -> float:
            top, (pk, _, rank) = backlog_ends()
            values = {"project": project.pk, "story": pk, "rank": ranking.key_between(None, top), "actor": owner.pk}
            values.update(old=Jsonb(rank), new=Jsonb(values["rank"]))
            began = time.perf_counter()
            with bare_connection.transaction(), bare_connection.cursor() as cursor:
                values["at"] = timezone.now()
                values["seq"] = cursor.execute(counter, values).fetchone()[0]
                cursor.execute(story_sql, values)
                cursor.execute(event_sql, values)
            return (time.perf_counter() - began) * 1000

        ways = {
            "move via the API (POST, test client)": api,
            "move via the service (story_move)": service,
            "bare SQL: UPDATE project, story; INSERT": bare,
        }
        times: dict[str, list[float]] = {label: [] for label in ways}
        for way in ways.values():  # once each, untimed: connections and code paths warm
            way()
        labels = list(ways)
        for index in range(repeat):
            for label in labels[index % 3 :] + labels[: index % 3]:  # rotate the order, too
                times[label].append(ways[label]())
    print(
        f"\nA move vs the bare SQL it needs (last backlog story to the top, {repeat} of each, interleaved, same database):",
        flush=True,
    )
    for label, values in times.items():
        report(label, values)
    api_ms, service_ms, bare_ms = (statistics.median(values) for values in times.values())
    for name, ms, target in (("API move", api_ms, API_TARGET), ("service move", service_ms, SERVICE_TARGET)):
        ratio = ms / bare_ms
        print(
            f"{name} / bare = {ms:.2f} / {bare_ms:.2f} ms = {ratio:.1f}x (medians; target <= {target:.0f}x): "
            f"{'met' if ratio <= target else 'NOT MET'}",
            flush=True,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def over_http(database_url: str, token: str, repeat: int, rng: random.Random) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-" + "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Host": "127.0.0.1"}
        for _ in range(100):
            try:
                conn.request("GET", "/healthz", headers=headers)
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        print(
            f"\nOver HTTP (gunicorn, 2 sync workers, 127.0.0.1:{port}; round trip from a keep-alive client):",
            flush=True,
        )

        def call(method: str, path: str, body: dict | None = None) -> float:
            began = time.perf_counter()
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            elapsed = (time.perf_counter() - began) * 1000
            assert response.status < 300, payload[:300]
            return elapsed

        for label, next_move in move_cases(repeat, rng):
            times = []
            for _ in range(repeat):
                story, body = next_move()
                times.append(call("POST", f"/api/v1/stories/{story}/move/", body))
            report(label, times)
        report(
            "list the first page of the backlog (API)",
            [call("GET", "/api/v1/projects/BENCH/backlog/") for _ in range(repeat)],
        )
        conn.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument(
        "--database-name", default=DB_NAME, help=f"the database to create and measure in (default {DB_NAME})"
    )
    args = parser.parse_args()
    database_url = bench_database_url(args.database_name)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "x" * 50)
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    os.environ.pop("REDIS_URL", None)  # in-memory cache: the numbers are the database's and Django's
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # No collectstatic here: pages name static files as they are (the manifest needs a build).
    settings.STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    _, owner, token = seed(args.stories)
    print(f"load average before the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(
        f"{args.stories:,} backlog stories loaded into {args.database_name} in {time.perf_counter() - began:.1f} s (not timed below)"
    )
    rng = random.Random(1)
    in_process(owner, args.repeat, rng)
    versus_bare(owner, database_url, args.repeat)
    from django.db import connections

    connections.close_all()
    over_http(database_url, token, args.repeat, rng)
    keys = backlog_keys()
    from apps.stories.models import Story

    longest = max(len(r) for r in Story.objects.filter(project__key="BENCH").values_list("rank", flat=True))
    print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\nafter the runs: {len(keys):,} stories in the backlog, longest rank key {longest} characters")


if __name__ == "__main__":
    main()
