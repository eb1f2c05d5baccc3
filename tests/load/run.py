"""`make load`: a bounded load test of one web pod at the chart's defaults, on 127.0.0.1 only.

Makes a fresh PostgreSQL database with the demo project and LOAD_MAX_USERS members, starts gunicorn
exactly as the image does (gunicorn.conf.py: WEB_CONCURRENCY=2 sync workers) and one Celery worker,
then runs tests/load/locustfile.py with locust (from .venv-load) in steps of users: first the team
(50 people), then more until any request kind's p95 passes 1 s (the knee) or LOAD_MAX_USERS is reached.
Every step prints, per request kind: count, failures, 409s, median, p95, p99 and the rate. It stops by
itself and removes its database.

A step measures its users at work: locust starts them (a fifth of the step's users per second, each
opening the board as it starts) and its statistics are reset once every user has opened its board
(locustfile.py), so the figures are those of the team working, not of the whole team opening the board
within a few seconds (nor of the requests queued behind those pages). Those first
seconds (50 board pages at 10 a second on two workers: board p95 130-190 ms at 50 users, 2026-12-04) are
a different question, answered by warm workers (apps/core/warmup.py) and a cheap page, not by this table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sprintboard REDIS_URL=redis://127.0.0.1:6379/15 make load

Settings (environment): LOAD_STEPS (users per step, default "50,100,150,200,300,400"), LOAD_STEP_SECONDS
(default 45), LOAD_FIRST_STEP_SECONDS (the team's step, default 180), LOAD_KNEE_MS (default 1000).
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
LOCUST = ROOT / ".venv-load" / "bin" / "locust"
STEPS = [int(n) for n in os.environ.get("LOAD_STEPS", "50,100,150,200,300,400").split(",")]
STEP_SECONDS = int(os.environ.get("LOAD_STEP_SECONDS", "45"))
# The first step is the team the 100 ms target is about: long enough for a p95 of each action (a 45 s step holds
# 20-50 of each, whose p95 is nearly their maximum; 180 s holds 100-250).
FIRST_STEP_SECONDS = int(os.environ.get("LOAD_FIRST_STEP_SECONDS", "180"))
KNEE_MS = float(os.environ.get("LOAD_KNEE_MS", "1000"))
PASSWORD = "load-test-password"
KINDS = ("poll", "board", "backlog", "story", "report", "move", "reorder", "comment")

CREATE_USERS = """
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from apps.projects.models import Membership, Project, Role
project = Project.objects.get(key="DATA")
password = make_password({password!r})
users = get_user_model().objects.bulk_create(
    get_user_model()(username=f"load{{n:03d}}", password=password, first_name="Load", last_name=str(n))
    for n in range(1, {count} + 1)
)
# One person in six is a product owner (they order the backlog); the others are members.
Membership.objects.bulk_create(
    Membership(project=project, user=user, role=Role.PRODUCT_OWNER if n % 6 == 1 else Role.MEMBER)
    for n, user in enumerate(users, start=1)
)
# Each person is already signed in, as a team at work is: a session each, no password hashing under load.
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from apps.web.sessions import SessionStore  # settings.SESSION_ENGINE's
sessions = []
for user in users:
    session = SessionStore()
    session.update({{SESSION_KEY: str(user.pk), HASH_SESSION_KEY: user.get_session_auth_hash(),
                    BACKEND_SESSION_KEY: "apps.web.backends.ModelBackend"}})
    session.create()
    sessions.append(session.session_key)
open({sessions_file!r}, "w").write("\\n".join(sessions))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database(url: str, name: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        sys.exit("make load needs DATABASE_URL=postgres://... (the load it measures is PostgreSQL's).")
    return urlunsplit(parts._replace(path=f"/{name}"))


def psql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(database(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (127.0.0.1, ours)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"{url} did not answer within {seconds:.0f} s")


def stats(prefix: Path) -> dict[str, dict[str, float]]:
    with open(f"{prefix}_stats.csv") as handle:
        return {row["Name"]: row for row in csv.DictReader(handle) if row["Type"] != ""}


def report(users: int, seconds: int, rows: dict, conflicts: dict[str, int]) -> float:
    """Print a step's table; return its worst p95 in milliseconds."""
    print(f"\n{users} users, {seconds} s")
    print(f"{'kind':<12}{'count':>8}{'fail':>6}{'409':>6}{'median ms':>11}{'p95 ms':>8}{'p99 ms':>8}{'req/s':>8}")
    worst = 0.0
    for kind in (*KINDS, "Aggregated"):
        row = rows.get(kind)
        if row is None:
            continue
        p95 = float(row["95%"] or 0)
        if kind != "Aggregated":
            worst = max(worst, p95)
        print(
            f"{kind:<12}{row['Request Count']:>8}{row['Failure Count']:>6}{conflicts.get(kind, 0):>6}"
            f"{float(row['Median Response Time'] or 0):>11.0f}{p95:>8.0f}{float(row['99%'] or 0):>8.0f}"
            f"{float(row['Requests/s'] or 0):>8.1f}"
        )
    return worst


def machine_speed() -> float:
    """Seconds of CPU for a fixed piece of Python: this machine's speed changes from day to day (0.6 s on a fast
    day, 1.0-1.2 s on a slow one, 2026-12), and runs are only comparable at a similar figure."""
    started = time.process_time()
    sum(i * i for i in range(10**7))
    return time.process_time() - started


def main() -> None:
    if not LOCUST.exists():
        sys.exit("locust is not installed: run `make load` (it installs requirements-load.txt into .venv-load).")
    speed = machine_speed()  # before anything of the test runs
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sprintboard")
    name = f"sprintboard_load_{secrets.token_hex(3)}"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database(base_url, name),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",  # plain http on 127.0.0.1: cookies without the Secure flag
        "SPRINTBOARD_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2"),
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="sprintboard-load-metrics-"),
    }
    psql(base_url, f'CREATE DATABASE "{name}"')
    processes: list[subprocess.Popen] = []
    try:
        manage = [PYTHON, "manage.py"]
        subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)  # as the image
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([*manage, "seed_demo", "--i-know-this-is-not-production"], cwd=ROOT, env=env, check=True)
        logs = Path(tempfile.mkdtemp(prefix="sprintboard-load-"))
        sessions = logs / "sessions.txt"
        script = CREATE_USERS.format(password=PASSWORD, count=max(STEPS), sessions_file=str(sessions))
        subprocess.run([*manage, "shell", "-c", script], cwd=ROOT, env=env, check=True)
        for command, log in (
            ([str(Path(PYTHON).parent / "gunicorn"), "config.wsgi:application"], "web.log"),
            ([str(Path(PYTHON).parent / "celery"), "-A", "config", "worker", "-c", "1", "-l", "WARNING"], "worker.log"),
        ):
            out = open(logs / log, "w")  # noqa: SIM115 (open while the process runs)
            processes.append(
                subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
        wait_for(f"http://127.0.0.1:{port}/healthz")
        print(f"Sprintboard at http://127.0.0.1:{port}/ ({env['WEB_CONCURRENCY']} gunicorn workers); logs in {logs}")
        print(f"This machine: {speed:.2f} s of CPU for sum(i * i for i in range(10**7)).")
        knee = None
        previous = None
        for step, users in enumerate(STEPS):
            seconds = STEP_SECONDS if step else FIRST_STEP_SECONDS
            prefix = logs / f"step{users}"
            conflicts_file = logs / f"conflicts{users}.json"
            subprocess.run(
                [str(LOCUST), "-f", str(ROOT / "tests/load/locustfile.py"), "--headless", "--only-summary",
                 "-u", str(users), "-r", str(max(10, users // 5)), "-t", f"{seconds}s",
                 "--reset-stats", "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--loglevel", "ERROR"],
                cwd=ROOT, env={**env, "LOAD_SESSIONS_FILE": str(sessions), "LOAD_CONFLICTS_FILE": str(conflicts_file)},
                check=False, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            conflicts = json.loads(conflicts_file.read_text()) if conflicts_file.exists() else {}
            worst = report(users, seconds, stats(prefix), conflicts)
            if worst > KNEE_MS:
                knee = (previous, users)
                break
            previous = users
        if knee:
            print(f"\nKnee: a p95 passed {KNEE_MS:.0f} ms between {knee[0] or 0} and {knee[1]} users.")
        else:
            print(f"\nNo knee: every p95 stayed under {KNEE_MS:.0f} ms up to {STEPS[-1]} users.")
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)
        psql(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
