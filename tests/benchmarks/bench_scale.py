"""Benchmark of the board at scale on PostgreSQL: projects of 1,000 / 5,000 / 50,000 stories.

What it measures (issue 12, "Reads that cost what changed"):

1. The first board render right after a card move, at each size: a move through the board's own
   move endpoint (``POST /p/<KEY>/board/move/``: the service, one ``state`` event, the project's event
   seq incremented, so every cache keyed on it is stale), then ``GET /p/<KEY>/board/``, both with
   Django's test client in this process, logged in as a member (as bench_board does). p95 over
   ``--runs`` repetitions (fewer when a size exceeds ``--budget`` seconds: the count is printed).
   Targets: p95 <= 100 ms at every size, and the 50,000-story p95 within 1.5x of the 1,000-story one.
2. 30 concurrent polls of the board's fragment (``GET /p/<KEY>/board/live/`` without If-None-Match:
   what every open board fetches after a change, asked as a browser asks, gzip accepted) right after a
   change, against a real server: gunicorn started from the repository root (so it reads the project's
   gunicorn.conf.py) with the project's settings (DJANGO_DEBUG=0, this PostgreSQL, the cache of
   REDIS_URL). First with the chart's web pod, 2 sync workers, where a deployment's polls queue: the
   target is judged there. Then with one sync worker per poll, so that all of them are in service at
   once: shown, not judged, since 30 processes taking turns on 2 cores each pay for the others in their
   own CPU time (a poll costs about three times what it costs on the pod). ``--workers N`` runs N only.
   Server time is CPU time, measured per request inside
   each worker (the request's thread CPU time, reported back in a response header) plus the CPU time
   of the PostgreSQL backends serving the benchmark's database (from /proc): wall-clock sums would
   count 30 processes waiting for 2 cores. The total of the 30 polls is compared with one render (a
   single poll right after a change, measured the same way; median of 3); the burst is measured ``--bursts``
   times (5), each right after a change of its own, and judged by its median. Target: total <= 3x one render. A size's
   burst is not run when ``--polls`` x one render would exceed ``--poll-budget`` seconds of CPU (the
   code before the flow projection, at 50,000 stories: 30 replays, ~170 s of CPU, ~14 GB of memory).

The projects: each is the seeded history of ``tests/sprintboard/generator.py`` (the generator
bench_reports uses; 26 sprints, 8-34 steps per story, Europe/Amsterdam) for ``size - cards`` stories,
moved forward in time so that it ends three days ago; its open sprint is then closed (unfinished
stories go to the backlog, one ``sprint`` event each) and a new sprint of ``--cards`` new stories is
created and started, whose cards move through the columns over the last three days. The board shows
the same cards (same states, points, assignees, blocks) at every size: only the history differs.
Everything is written in bulk (COPY), not through the services, but as the services write it: one
event per change, in time order, ``created`` with the whole row, ``version`` = the number of the
story's saves, and every row equal to what its events say (title, labels and rank too; state, sprint,
points, assignee, block and deletion are checked against the engine's replay before loading). If the
``Story`` model has the per-story flow projection (``flow_*`` columns), they are filled from that
replay (``sprintboard.projection.of_timeline``, the projection's definition), and ``manage.py
verify_events`` checks every project when the command exists.

Run ``DATABASE_URL=postgres://user@host:5432/any REDIS_URL=redis://host:6379/0
python tests/benchmarks/bench_scale.py [--sizes 1000,5000,50000] [--cards 200] [--runs 20] [--polls 30]``.
It creates (and drops at the start of each run) its own database, ``sprintboard_bench_scale`` (``--database-name``
names another: two people measuring on one server must not drop each other's).
Without REDIS_URL the concurrent-poll part is skipped (the workers of a server share no cache).
Not collected by pytest (bench_*.py).
"""

from __future__ import annotations

import argparse
import gc
import gzip
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DB_NAME = "sprintboard_bench_scale"
TZ = "Europe/Amsterdam"
LABELS = ("dbt", "pii", "airflow", "ml")
REASONS = ("data access", "upstream pipeline", "review", "stakeholder")
SECRET = "bench-scale-only-not-a-secret-" + "x" * 40
RENDER_TARGET_MS = 100.0
SCALE_TARGET = 1.5
POLL_TARGET = 3.0
POD_WORKERS = 2  # the chart's web pod: web.concurrency in values.yaml, WEB_CONCURRENCY's default in gunicorn.conf.py
ACCEPT_ENCODING = "gzip, deflate, br, zstd"  # what Chromium and Firefox send with a fetch


# --- Database and Django ---------------------------------------------------------------------


def bench_database_url(name: str) -> str:
    from tests.benchmarks.databases import fresh_postgres_database

    return fresh_postgres_database(name, who="bench_scale")


def server_env(database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def static_storage_as_is() -> None:
    """Pages name static files as they are: no collectstatic (the manifest needs a build), as bench_backlog."""
    import warnings

    from django.conf import settings

    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)  # whitenoise: no STATIC_ROOT

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# --- The server's entry point (part 2): the project's WSGI application, timed per request -------

_wsgi = None


def application(environ, start_response):  # noqa: ANN001, ANN201 - a WSGI callable for gunicorn
    """``config.wsgi.application``, answering with the request's thread CPU and wall time in headers.

    A sync worker serves one request at a time in one thread, so the thread's CPU time is the request's.
    The response is produced (and closed: Django's request_finished) before the clock stops.
    """
    global _wsgi
    if _wsgi is None:
        static_storage_as_is()  # before the middleware is built
        from config.wsgi import application as project_application

        _wsgi = project_application
    cpu, wall = time.thread_time(), time.perf_counter()
    answer: dict[str, Any] = {}

    def capture(status, headers, exc_info=None):  # noqa: ANN001, ANN202
        answer["start"] = (status, list(headers), exc_info)
        return lambda data: None

    result = _wsgi(environ, capture)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    status, headers, exc_info = answer["start"]
    headers += [
        ("X-Bench-Cpu-Ms", f"{(time.thread_time() - cpu) * 1000:.3f}"),
        ("X-Bench-Wall-Ms", f"{(time.perf_counter() - wall) * 1000:.3f}"),
        ("X-Bench-Pid", str(os.getpid())),
    ]
    start_response(status, headers, exc_info)
    return [body]


# --- Statistics --------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


# --- Loading a project -------------------------------------------------------------------------


@dataclass
class Row:
    """One story as the log says it is, kept while the events are folded."""

    pk: int
    number: int
    kind: str
    title: str
    created_at: datetime
    created_by: int | None
    state: int = 0
    sprint: int | None = None
    points: float | int | None = None
    assignee: str | None = None
    blocked: str | None = None
    deleted_at: datetime | None = None
    labels: tuple[str, ...] = ()
    rank: str = ""
    version: int = 0
    updated_at: datetime | None = None
    revisions: int = 0


@dataclass
class Loaded:
    key: str
    size: int
    events: int
    pk: int
    cards: int
    seconds: float


class Log:
    """The events being written, in seq order, and the rows they leave."""

    def __init__(self, users: dict[str, Any]) -> None:
        self.users = {name: user.pk for name, user in users.items()}
        self.rows: dict[int, Row] = {}
        self.events: list[tuple] = []  # (seq, story pk, kind, field, from, to, actor pk, at)

    def emit(
        self, row: Row, kind: str, at: datetime, actor: str | None, field: str = "", old: Any = None, new: Any = None
    ) -> None:
        self.events.append((len(self.events) + 1, row.pk, kind, field, old, new, self.users.get(actor), at))
        row.version += 1  # story_create saves version 1; every later save of the story adds one
        row.updated_at = at


def load_project(size: int, *, key: str, cards: int, seed: int, now: datetime, users: dict[str, Any]) -> Loaded:
    """One project of ``size`` stories (see the module docs), written with COPY; returns what was loaded."""
    from django.db import connection, transaction

    from apps.projects import services as project_services
    from apps.projects.models import Project, Role
    from apps.projects.selectors import workflow
    from apps.stories import services
    from apps.stories.models import Sprint, SprintStatus, Story, StoryEvent
    from sprintboard import ranking
    from tests.sprintboard.generator import PEOPLE, generate

    began = time.perf_counter()
    generated = generate(seed=seed, stories=size - cards, sprints=26, steps=(8, 34), tz=TZ)
    shift = timedelta(days=(now - timedelta(days=3) - generated.as_of).days)  # whole days: sprint dates stay dates
    history_end = generated.as_of + shift
    rng = random.Random(seed)

    project = project_services.project_create(creator=users[PEOPLE[0]], key=key, name=f"Scale {size:,}", timezone=TZ)
    for name in PEOPLE[1:]:
        project_services.membership_add(project=project, user=users[name], role=Role.MEMBER)
    states = {s.name: s for s in workflow(project)}
    state_of = {s.id: states[s.name].pk for s in generated.workflow}
    category = {s.pk: s.category for s in states.values()}
    for name in LABELS:
        services.label_save(project=project, name=name)

    # Sprints: the generated ones (the open one closed a minute after the history ends), and a new active one.
    closed_at = history_end + timedelta(minutes=1)
    cards_from = closed_at + timedelta(minutes=1)
    started_at = cards_from + timedelta(seconds=2 * cards + 60)
    sprint_rows = [
        Sprint(
            project=project,
            name=s.name,
            start=s.start + shift,
            end=s.end + shift,
            started_at=s.started_at + shift,
            closed_at=(s.closed_at + shift) if s.closed_at else closed_at,
            status=SprintStatus.CLOSED,
        )
        for s in generated.sprints
    ]
    start_day = started_at.astimezone(project.tzinfo).date()
    active = Sprint(
        project=project,
        name=f"Sprint {len(sprint_rows) + 1}",
        start=start_day,
        end=start_day + timedelta(days=13),
        status=SprintStatus.ACTIVE,
        started_at=started_at,
    )
    Sprint.objects.bulk_create([*sprint_rows, active])
    sprint_of = {s.id: row.pk for s, row in zip(generated.sprints, sprint_rows, strict=True)}
    open_sprint = sprint_of[next(s.id for s in generated.sprints if s.closed_at is None)]

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('stories_story', 'id')) FROM generate_series(1, %s)", [size]
        )
        pks = [pk for (pk,) in cursor.fetchall()]
    # Every key a story ever holds is distinct (created, each rank event, the cards): unique at every moment.
    ranks = ranking.spread(None, None, size + sum(1 for e in generated.events if e.kind == "rank"))
    rng.shuffle(ranks)
    fresh_rank = iter(ranks)

    log = Log(users)
    rows = log.rows
    for number, story in enumerate(generated.stories, start=1):
        rows[story.id] = Row(
            pks[number - 1],
            number,
            story.kind,
            f"Story {number}: the {number % 17}th dataset",
            story.created_at + shift,
            None,
        )
    for event in generated.events:
        row, at, actor = rows[event.story_id], event.at + shift, event.actor
        kind, new = event.kind, event.to_value
        if kind == "created":
            row.created_by, row.state, row.sprint = (
                log.users[actor],
                state_of[new["state"]],
                sprint_of.get(new["sprint"]),
            )
            row.points, row.assignee, row.rank = new["points"], new["assignee"], next(fresh_rank)
            log.emit(row, "created", at, actor, new=created_snapshot(row))
            row.version = 1
        elif kind == "state":
            old, row.state = row.state, state_of[new]
            log.emit(row, "state", at, actor, old=old, new=row.state)
        elif kind == "sprint":
            old, row.sprint = row.sprint, sprint_of.get(new)
            log.emit(row, "sprint", at, actor, old=old, new=row.sprint)
        elif kind == "points":
            old, row.points = row.points, new
            log.emit(row, "points", at, actor, old=old, new=new)
        elif kind == "assignee":
            old, row.assignee = row.assignee, new
            log.emit(row, "assignee", at, actor, old=old, new=new)
        elif kind == "blocked":
            if row.blocked == new:
                continue  # the services log a block only when it is new or its reason changes
            row.blocked = new
            log.emit(row, "blocked", at, actor, new=new)
        elif kind == "unblocked":
            row.blocked = None
            log.emit(row, "unblocked", at, actor)
        elif kind == "rank":
            old, row.rank = row.rank, next(fresh_rank)
            log.emit(row, "rank", at, actor, old=old, new=row.rank)
        elif kind == "updated":
            _update(log, row, event.field, at, actor, rng)
        elif kind == "deleted":
            row.deleted_at = at
            log.emit(row, "deleted", at, actor)
        elif kind == "restored":
            row.deleted_at = None
            log.emit(row, "restored", at, actor)
        else:
            raise SystemExit(f"bench_scale: the generator wrote an event kind it does not know: {kind!r}")

    # The open sprint closes; its unfinished live stories go to the backlog (sprint_close's carry-over).
    carried = sorted(
        (
            r
            for r in rows.values()
            if r.sprint == open_sprint and r.deleted_at is None and category[r.state] not in ("done", "cancelled")
        ),
        key=lambda r: r.rank,
    )
    for row in carried:
        row.sprint = None
        log.emit(row, "sprint", closed_at + timedelta(seconds=1), PEOPLE[0], old=open_sprint, new=None)
    _sprint_cards(
        log,
        cards,
        first_number=len(generated.stories) + 1,
        pks=pks[len(generated.stories) :],
        ranks=fresh_rank,
        sprint=active.pk,
        states=states,
        created=cards_from,
        started=started_at,
        until=now - timedelta(minutes=30),
    )
    Sprint.objects.filter(pk=active.pk).update(
        commitment=[
            {"story": r.pk, "key": f"{key}-{r.number}", "points": r.points}
            for r in sorted(rows.values(), key=lambda r: r.rank)
            if r.sprint == active.pk
        ]
    )

    flows = check_against_replay(log, key=key, states=states, now=now)
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.connection
        copy_rows(
            raw,
            Story,
            (
                {
                    "id": r.pk,
                    "project_id": project.pk,
                    "number": r.number,
                    "key": f"{key}-{r.number}",
                    "title": r.title,
                    "kind": r.kind,
                    "points": None if r.points is None else Decimal(str(r.points)),
                    "state_id": r.state,
                    "rank": r.rank,
                    "assignee_id": log.users.get(r.assignee),
                    "sprint_id": r.sprint,
                    "blocked": r.blocked is not None,
                    "blocked_reason": r.blocked or "",
                    "version": r.version,
                    "created_at": r.created_at,
                    "updated_at": r.updated_at,
                    "created_by_id": r.created_by,
                    "deleted_at": r.deleted_at,
                    **flows.get(r.pk, {}),
                }
                for r in rows.values()
            ),
        )
        label_pks = dict(project.labels.values_list("name", "pk"))
        with raw.cursor().copy(f"COPY {Story.labels.through._meta.db_table} (story_id, label_id) FROM STDIN") as copy:
            for r in rows.values():
                for name in r.labels:
                    copy.write_row((r.pk, label_pks[name]))
        columns = "project_id, seq, story_id, kind, field, from_value, to_value, actor_id, actor_name, to_name, at"
        with raw.cursor().copy(f"COPY {StoryEvent._meta.db_table} ({columns}) FROM STDIN") as copy:
            for seq, story, kind, field, old, new, actor, at in log.events:
                copy.write_row((project.pk, seq, story, kind, field, _json(old), _json(new), actor, "", "", at))
        # flow_seq: the last event that can move a WIP count or the SLE; the log's last one bounds it
        counters = {"last_event_seq": len(log.events), "flow_seq": len(log.events), "last_story_number": size}
        if any(
            f.name == "last_event_at" for f in Project._meta.concrete_fields
        ):  # the log's last time, where it is kept
            counters["last_event_at"] = log.events[-1][-1]
        Project.objects.filter(pk=project.pk).update(**counters)
    return Loaded(key, size, len(log.events), project.pk, cards, time.perf_counter() - began)


def created_snapshot(row: Row) -> dict[str, Any]:
    """A ``created`` event's to_value as story_create writes it (the engine reads state, sprint, points, assignee)."""
    return {
        "state": row.state,
        "sprint": row.sprint,
        "points": row.points,
        "assignee": row.assignee,
        "title": row.title,
        "kind": row.kind,
        "epic": None,
        "labels": [],
        "deliverable": None,
        "rank": row.rank,
    }


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)  # None is SQL NULL, as Django's JSONField writes it


def _update(log: Log, row: Row, field: str | None, at: datetime, actor: str | None, rng: random.Random) -> None:
    """A generated ``updated`` event, written as the services write one: the field and its values."""
    if field == "title":
        row.revisions += 1
        old, row.title = row.title, f"Story {row.number}: the {row.number % 17}th dataset, take {row.revisions + 1}"
        log.emit(row, "updated", at, actor, field="title", old=old, new=row.title)
    elif field == "labels":
        choices = [tuple(sorted(rng.sample(LABELS, k))) for k in range(len(LABELS) + 1) for _ in range(2)]
        new = next(c for c in rng.sample(choices, len(choices)) if c != row.labels)
        old, row.labels = row.labels, new
        log.emit(row, "updated", at, actor, field="labels", old=list(old), new=list(new))
    else:  # description and other long text: the log says which field changed, not its value
        log.emit(row, "updated", at, actor, field=field or "description")


def _sprint_cards(
    log: Log,
    cards: int,
    *,
    first_number: int,
    pks: list[int],
    ranks,
    sprint: int,
    states: dict,
    created: datetime,
    started: datetime,
    until: datetime,
) -> None:
    """The active sprint's cards: the same plan at every size (its own seed), moved over the sprint's days."""
    from tests.sprintboard.generator import PEOPLE

    rng = random.Random(20240219)
    paths = {
        "Ready": (),
        "In progress": ("In progress",),
        "Waiting": ("In progress", "Waiting"),
        "Validating": ("In progress", "Validating"),
        "Done": ("In progress", "Validating", "Done"),
    }
    weights = {"Ready": 30, "In progress": 30, "Waiting": 10, "Validating": 12, "Done": 18}
    lo, hi = (started + timedelta(minutes=10)).timestamp(), until.timestamp()

    def moment() -> datetime:
        return datetime.fromtimestamp(int(rng.uniform(lo, hi)), tz=started.tzinfo)

    plan: list[tuple[datetime, int, int, str, Any]] = []
    for index in range(cards):
        number = first_number + index
        row = Row(
            pks[index],
            number,
            rng.choice(("story", "story", "bug", "chore", "spike")),
            f"Card {number}: build the {index % 23}th dataset",
            created + timedelta(seconds=2 * index),
            log.users[PEOPLE[0]],
        )
        row.state, row.sprint, row.rank = states["Ready"].pk, sprint, next(ranks)
        row.points, row.assignee = rng.choice((None, 1, 2, 3, 5, 8)), rng.choice((None, *PEOPLE))
        log.rows[-index - 1] = row
        log.emit(row, "created", row.created_at, PEOPLE[0], new=created_snapshot(row))
        row.version = 1
        target = rng.choices(list(weights), weights=list(weights.values()))[0]
        for order, (at, name) in enumerate(zip(sorted(moment() for _ in paths[target]), paths[target], strict=True)):
            plan.append((at, index, order, "state", states[name].pk))
        if rng.random() < 0.12:
            blocked = sorted((moment(), moment()))
            plan.append((blocked[0], index, 10, "blocked", rng.choice(REASONS)))
            if rng.random() < 0.4:
                plan.append((blocked[1], index, 11, "unblocked", None))
        if rng.random() < 0.3:
            plan.append((moment(), index, 20, "labels", tuple(sorted(rng.sample(LABELS, rng.randint(1, 2))))))
    for at, index, _, kind, value in sorted(plan, key=lambda p: p[:3]):
        row, actor = log.rows[-index - 1], rng.choice(PEOPLE)
        if kind == "state":
            old, row.state = row.state, value
            log.emit(row, "state", at, actor, old=old, new=value)
        elif kind == "blocked":
            row.blocked = value
            log.emit(row, "blocked", at, actor, new=value)
        elif kind == "unblocked" and row.blocked is not None:
            row.blocked = None
            log.emit(row, "unblocked", at, actor)
        elif kind == "labels" and value != row.labels:
            old, row.labels = row.labels, value
            log.emit(row, "updated", at, actor, field="labels", old=list(old), new=list(value))


def check_against_replay(log: Log, *, key: str, states: dict, now: datetime) -> dict[int, dict[str, Any]]:
    """Replay the log with the engine and require every row to be what it says; return the flow projection
    (``flow_*`` columns, when the Story model has them) as the engine defines it."""
    from apps.stories.models import Story
    from sprintboard import records
    from sprintboard.history import replay

    workflow = [records.State(s.pk, s.name, s.category, s.position) for s in states.values()]
    stories = [records.Story(r.pk, f"{key}-{r.number}", r.kind, r.created_at) for r in log.rows.values()]
    events = [records.Event(seq, story, kind, at, to_value=new) for seq, story, kind, _, _, new, _, at in log.events]
    history = replay(events, stories=stories, workflow=workflow, tz=TZ, as_of=now)
    for row in log.rows.values():
        line = history.timelines[row.pk]
        block = line.blocks[-1][2] if line.blocks and line.blocks[-1][1] is None else None
        deleted = bool(line.deletions) and line.deletions[-1][1] is None
        replayed = (line.state, line.sprints[-1][1], line.points[-1][1], line.assignees[-1][1], block, deleted)
        written = (row.state, row.sprint, row.points, row.assignee, row.blocked, row.deleted_at is not None)
        if replayed != written:
            raise SystemExit(
                f"bench_scale: {key}-{row.number} would be written as {written}, its events say {replayed}"
            )
    if history.n_events != len(log.events):
        raise SystemExit(f"bench_scale: the engine replayed {history.n_events} of {len(log.events)} events")
    columns = [f.name for f in Story._meta.concrete_fields if f.name.startswith("flow_")]
    if not columns:
        return {}
    from sprintboard.projection import of_timeline

    flows = {}
    for row in log.rows.values():
        story = Story()
        story.set_flow(of_timeline(history.timelines[row.pk], history.workflow), zone=history.zone)
        flows[row.pk] = {name: getattr(story, name) for name in columns}
    return flows


def copy_rows(raw, model, rows) -> None:  # noqa: ANN001 - a psycopg connection, a model class, dicts by attname
    """COPY rows into a model's table; a column a row does not give gets the field's default."""
    fields = list(model._meta.concrete_fields)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    defaults = {f.attname: f.get_default() for f in fields}
    with raw.cursor().copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[f.attname] if f.attname in row else defaults[f.attname] for f in fields])


def verify(keys: list[str]) -> None:
    """``manage.py verify_events --project KEY`` for each project, when the command exists."""
    from io import StringIO

    from django.core.management import call_command, get_commands

    if "verify_events" not in get_commands():
        print(
            "verify_events: no such command yet (the loader's own check against the engine's replay passed)", flush=True
        )
        return
    for key in keys:
        out, began = StringIO(), time.perf_counter()
        try:
            call_command("verify_events", project=key, stdout=out, stderr=out)
            status = "clean"
        except SystemExit as exc:
            status = f"exit {exc.code}"
        except Exception as exc:  # noqa: BLE001 - reported, the benchmark goes on
            status = f"failed: {exc}"
        last = [line for line in out.getvalue().splitlines() if line.strip()][-1:] or [""]
        print(
            f"verify_events --project {key}: {status} in {time.perf_counter() - began:.1f} s   {last[0][:200]}",
            flush=True,
        )


# --- Part 1: the first board render after a card move ----------------------------------------


@dataclass
class Part1:
    loaded: Loaded
    renders: list[float]
    moves: list[float]


def first_renders(loaded: Loaded, client, *, runs: int, budget: float) -> Part1:  # noqa: ANN001
    from django.urls import reverse

    from apps.stories.models import SprintStatus, Story

    board = reverse("project-board", kwargs={"key": loaded.key})
    move = reverse("project-board-move", kwargs={"key": loaded.key})
    cards = list(
        Story.objects.filter(
            project_id=loaded.pk, sprint__status=SprintStatus.ACTIVE, state__name__in=("Ready", "In progress")
        )
        .order_by("rank")
        .values_list("pk", flat=True)
    )
    states = dict(Story.objects.get(pk=cards[0]).project.states.values_list("name", "pk"))
    ready, doing = states["Ready"], states["In progress"]
    renders, moves, began = [], [], time.perf_counter()
    for index in range(runs):
        story = Story.objects.only("key", "version", "state_id").get(pk=cards[index % len(cards)])
        target = doing if story.state_id == ready else ready
        t0 = time.perf_counter()
        response = client.post(
            move, {"story": story.key, "state": target, "version": story.version}, HTTP_ACCEPT="application/json"
        )
        moves.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.content[:300]
        t0 = time.perf_counter()
        response = client.get(board)
        renders.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200 and response.content.count(b'class="story-card') == loaded.cards, (
            response.status_code
        )
        if index + 1 >= 3 and time.perf_counter() - began > budget:
            break
    return Part1(loaded, renders, moves)


# --- Part 2: concurrent polls against a real server ------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BackendCpu:
    """CPU time of the PostgreSQL backends (and their parallel workers) serving one database, from /proc.

    Sampled every 50 ms while a measurement runs, so a backend that exits meanwhile (a connection past
    CONN_MAX_AGE) still counts up to its last sample. /proc/<pid>/schedstat gives nanoseconds.
    """

    def __init__(self, database: str, exclude: set[int]) -> None:
        self.pattern = re.compile(rf"^postgres: .*?: \S+ {re.escape(database)} \S+")
        self.parallel = re.compile(r"^postgres: .*parallel worker for PID (\d+)")
        self.exclude = exclude

    def read(self) -> dict[int, int]:
        found, parallel = {}, {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    title = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                if not title.startswith("postgres:"):
                    continue
                pid = int(entry.name)
                if self.pattern.match(title) and pid not in self.exclude:
                    found[pid] = self._cpu(pid)
                elif (match := self.parallel.match(title)) is not None:
                    parallel[pid] = (int(match.group(1)), self._cpu(pid))
            except (OSError, ValueError):
                continue
        for pid, (leader, cpu) in parallel.items():
            if leader in found:
                found[pid] = cpu
        return found

    @staticmethod
    def _cpu(pid: int) -> int:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0])

    def __enter__(self) -> BackendCpu:
        self.start = self.read()
        self.last = dict(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.last.update(self.read())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.last.update(self.read())
        self.ms = sum(cpu - self.start.get(pid, 0) for pid, cpu in self.last.items()) / 1e6


@dataclass
class Poll:
    status: int
    cpu_ms: float
    wall_ms: float
    client_ms: float
    pid: str
    cards: int


def poll(port: int, path: str, cookie: str, barrier: threading.Barrier | None = None) -> Poll:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
    conn.connect()
    if barrier is not None:
        barrier.wait()
    began = time.perf_counter()
    conn.request("GET", path, headers={"Host": "127.0.0.1", "Cookie": cookie, "Accept-Encoding": ACCEPT_ENCODING})
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - began) * 1000
    conn.close()
    if response.getheader("Content-Encoding") == "gzip":
        body = gzip.decompress(body)  # as the browser does
    return Poll(
        response.status,
        float(response.getheader("X-Bench-Cpu-Ms", "nan")),
        float(response.getheader("X-Bench-Wall-Ms", "nan")),
        elapsed,
        response.getheader("X-Bench-Pid", "?"),
        body.count(b'class="story-card'),
    )


def burst(port: int, paths: list[str], cookie: str) -> tuple[list[Poll], float]:
    """One poll of each path, all at once."""
    n = len(paths)
    barrier = threading.Barrier(n)
    results: list[Poll | BaseException] = [None] * n  # type: ignore[list-item]

    def one(i: int) -> None:
        try:
            results[i] = poll(port, paths[i], cookie, barrier)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            results[i] = exc
            barrier.abort()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    makespan = (time.perf_counter() - began) * 1000
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results, makespan  # type: ignore[return-value]


WARM_ROUNDS = 10
RENDER_WARM_ROUNDS = 3


class Server:
    """gunicorn from the repository root (it reads gunicorn.conf.py) with ``workers`` sync workers."""

    def __init__(self, database_url: str, workers: int) -> None:
        self.port, self.workers = free_port(), workers
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "tests.benchmarks.bench_scale:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--timeout",
                "1800",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=server_env(database_url),
        )
        for _ in range(600):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise SystemExit("bench_scale: gunicorn exited at start")
            time.sleep(0.2)
        raise SystemExit("bench_scale: gunicorn did not answer /healthz")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Part2:
    loaded: Loaded
    one_app: float
    one_db: float
    one_wall: float
    polls: list[Poll]
    burst_db: float
    makespan: float
    burst_totals: list[float]  # every burst's server CPU (ms); the one above is their median


def concurrent_polls(
    loaded: Loaded,
    server: Server,
    cookie: str,
    user,  # noqa: ANN001
    *,
    database: str,
    polls: int,
    budget: float,
    singles: int = 3,
    bursts: int = 5,  # --bursts's default
) -> Part2:
    """One render (median of ``singles``), then ``polls`` at once, ``bursts`` times (each right after a change of
    its own; the median burst is returned); the burst is not run when ``polls`` times one render exceeds
    ``budget`` seconds of CPU (``polls`` is then empty)."""
    from django.db import connection

    from apps.stories import services
    from apps.stories.models import SprintStatus, Story

    path = f"/p/{loaded.key}/board/live/"
    cards = list(
        Story.objects.filter(
            project_id=loaded.pk, sprint__status=SprintStatus.ACTIVE, state__name__in=("Ready", "In progress")
        ).order_by("-rank")
    )
    states = dict(cards[0].project.states.values_list("name", "pk"))
    moves = iter(cards * 10)

    def change() -> None:  # a card move through the service: one state event, the event seq + 1
        story = next(moves)
        story.refresh_from_db(fields=["version", "state"])
        target = states["In progress"] if story.state_id == states["Ready"] else states["Ready"]
        services.story_change_state(story=story, state=story.project.states.get(pk=target), actor=user)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        mine = {cursor.fetchone()[0]}

    def check(result: Poll) -> None:
        assert result.status == 200 and result.cards == loaded.cards, (
            f"poll answered {result.status} with {result.cards} cards"
        )

    # Warm every worker (templates, connection, Django's and psycopg's per-process caches) while the fragment
    # is cached: one poll fills it, then rounds of n. A worker's first few requests cost several times its
    # steady state (measured: a cached poll takes ~5 ms of CPU from the 5th request of a sync worker on,
    # 12-16 ms on its 2nd or 3rd), and a server's workers live for thousands of requests.
    check(poll(server.port, path, cookie))
    for _ in range(WARM_ROUNDS):
        for result in burst(server.port, [path] * polls, cookie)[0]:
            check(result)
    # Their render path too: rounds in which each poll asks for a fragment of its own (a query parameter the
    # board ignores makes another fragment key), so every worker renders the board. A worker's first render
    # costs nearly twice its later ones (measured at 5,000 stories: 95 against 45-60 ms of CPU), and "one
    # render" and the burst's renderer are whichever workers the server hands them to.
    for round_ in range(RENDER_WARM_ROUNDS):
        for result in burst(server.port, [f"{path}?warm={round_}-{i}" for i in range(polls)], cookie)[0]:
            check(result)
    apps, dbs, walls = [], [], []
    for _ in range(singles):
        change()
        with BackendCpu(database, mine) as db:
            result = poll(server.port, path, cookie)
        check(result)
        apps.append(result.cpu_ms)
        dbs.append(db.ms)
        walls.append(result.wall_ms)
    order = sorted(range(singles), key=lambda i: apps[i] + dbs[i])
    middle = order[len(order) // 2]
    if budget and polls * (apps[middle] + dbs[middle]) > budget * 1000:
        return Part2(loaded, apps[middle], dbs[middle], walls[middle], [], 0.0, 0.0, [])
    measured = []
    for _ in range(bursts):
        change()
        with BackendCpu(database, mine) as db:
            results, makespan = burst(server.port, [path] * polls, cookie)
        for result in results:
            check(result)
        measured.append((sum(p.cpu_ms for p in results) + db.ms, results, db.ms, makespan))
    measured.sort(key=lambda m: m[0])
    _, results, burst_db, makespan = measured[len(measured) // 2]
    totals = [m[0] for m in measured]
    return Part2(loaded, apps[middle], dbs[middle], walls[middle], results, burst_db, makespan, totals)


# --- Main ----------------------------------------------------------------------------------------


def report_polls(
    project: Loaded, server: Server, cookie: str, member, args: argparse.Namespace, *, judged: bool
) -> None:  # noqa: ANN001
    """Part 2 for one project on one server, printed."""
    result = concurrent_polls(
        project,
        server,
        cookie,
        member,
        database=args.database_name,
        polls=args.polls,
        budget=args.poll_budget,
        bursts=args.bursts,
    )
    one = result.one_app + result.one_db
    print(
        f"{project.size:>8,} stories: one render {one:8.1f} ms CPU (app {result.one_app:.1f} + db {result.one_db:.1f}; "
        f"wall {result.one_wall:.1f} ms)",
        flush=True,
    )
    if not result.polls:
        print(
            f"{'':>18}{args.polls} polls not run: {args.polls} x one render = {args.polls * one / 1000:.0f} s of CPU, "
            f"over --poll-budget {args.poll_budget:.0f} s (and as many replays in memory at once): not measured; "
            "--poll-budget 0 runs it",
            flush=True,
        )
        return
    app = sum(p.cpu_ms for p in result.polls)
    total = app + result.burst_db
    cpu = sorted(p.cpu_ms for p in result.polls)
    judgement = f"(target <= {POLL_TARGET:.0f}x): {verdict(total <= POLL_TARGET * one)}" if judged else "(not judged)"
    print(
        f"{'':>18}{args.polls} polls {total:9.1f} ms CPU (app {app:.1f} + db {result.burst_db:.1f}) = "
        f"{total / one:.1f}x one render {judgement}; the median of {len(result.burst_totals)} bursts "
        f"({result.burst_totals[0]:.1f}-{result.burst_totals[-1]:.1f} ms: "
        f"{result.burst_totals[0] / one:.1f}-{result.burst_totals[-1] / one:.1f}x)",
        flush=True,
    )
    print(
        f"{'':>18}per poll app CPU min {cpu[0]:.1f} / median {statistics.median(cpu):.1f} / max {cpu[-1]:.1f} ms; "
        f"{len({p.pid for p in result.polls})} worker processes; makespan {result.makespan / 1000:.2f} s, "
        f"sum of the workers' wall times {sum(p.wall_ms for p in result.polls) / 1000:.2f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,50000", help="project sizes in stories, comma-separated")
    parser.add_argument(
        "--cards", type=int, default=200, help="cards on the board (the active sprint), the same at every size"
    )
    parser.add_argument("--runs", type=int, default=20, help="card moves and first renders per size")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per size for the renders (at least 3 runs)")
    parser.add_argument("--polls", type=int, default=30, help="concurrent polls after a change")
    parser.add_argument("--bursts", type=int, default=5, help="bursts of polls per size, each after a change (median)")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help=f"gunicorn sync workers for the polls (default: the chart's web pod, {POD_WORKERS}, judged, then one per "
        "poll, shown)",
    )
    parser.add_argument(
        "--poll-budget",
        type=float,
        default=60.0,
        help="seconds of server CPU: skip a size's burst when polls x one render would exceed it (0: no limit)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-name", default=DB_NAME, help="the database it creates (dropped first): one per person measuring"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if any(size <= args.cards for size in sizes):
        sys.exit("bench_scale: every size must exceed --cards")
    started = time.perf_counter()

    database_url = bench_database_url(args.database_name)
    os.environ.update(DATABASE_URL=database_url, DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or SECRET)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    import django

    django.setup()
    static_storage_as_is()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test import Client
    from django.utils import timezone

    from tests.sprintboard.generator import PEOPLE

    call_command("migrate", verbosity=0)
    cache_backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs; cache: {cache_backend}; "
        f"database {args.database_name}",
        flush=True,
    )
    users = {name: get_user_model().objects.create_user(username=name, password="bench") for name in PEOPLE}
    now = timezone.now()
    loaded: list[Loaded] = []
    for index, size in enumerate(sizes):
        key = "SCALE" + "ABCDEFGHIJ"[index]
        project = load_project(size, key=key, cards=args.cards, seed=args.seed, now=now, users=users)
        loaded.append(project)
        print(
            f"loaded {key}: {size:,} stories, {project.events:,} events, {project.cards} cards on the board, "
            f"in {project.seconds:.1f} s (COPY; not timed below)",
            flush=True,
        )
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # planner statistics and visibility maps, as autovacuum would leave them
    print(f"VACUUM ANALYZE in {time.perf_counter() - began:.1f} s", flush=True)
    verify([p.key for p in loaded])

    member = users[PEOPLE[1]]  # a member, not an admin
    client = Client()
    client.force_login(member)
    for project in loaded:  # warm the templates and the connection, and each board's card markup (every size alike:
        first_renders(project, client, runs=1, budget=0)  # a board's first render in a process renders every card)
    # This process serves the renders below as a web worker would, and a worker freezes what it loaded at start
    # out of the garbage collector's full passes (gunicorn.conf.py post_worker_init): so does this one.
    gc.collect()
    gc.freeze()
    print(
        f"\n1. First board render after a card move: GET /p/<KEY>/board/ right after POST /p/<KEY>/board/move/ "
        f"(test client in process, logged in as a member; {args.cards} cards)",
        flush=True,
    )
    print(
        f"{'stories':>8} {'events':>8} {'move median':>12} {'render median':>14} {'render p95':>11} {'n':>3}",
        flush=True,
    )
    part1 = []
    for project in loaded:
        result = first_renders(project, client, runs=args.runs, budget=args.budget)
        part1.append(result)
        note = "" if len(result.renders) == args.runs else f"   (time budget of {args.budget:.0f} s reached)"
        print(
            f"{project.size:>8,} {project.events:>8,} {statistics.median(result.moves):9.1f} ms {statistics.median(result.renders):11.1f} ms "
            f"{percentile(result.renders, 95):8.1f} ms {len(result.renders):>3}{note}",
            flush=True,
        )
    p95 = {r.loaded.size: percentile(r.renders, 95) for r in part1}
    print(
        f"target: p95 <= {RENDER_TARGET_MS:.0f} ms at every size: "
        + ", ".join(f"{size:,}: {value:.1f} ms {verdict(value <= RENDER_TARGET_MS)}" for size, value in p95.items()),
        flush=True,
    )
    smallest, largest = min(p95), max(p95)
    if smallest != largest:
        ratio = p95[largest] / p95[smallest]
        print(
            f"target: the {largest:,}-story p95 within {SCALE_TARGET}x of the {smallest:,}-story one: {ratio:.2f}x "
            f"{verdict(ratio <= SCALE_TARGET)}",
            flush=True,
        )

    print(
        f"\n2. {args.polls} concurrent polls of GET /p/<KEY>/board/live/ (no If-None-Match) right after a change",
        flush=True,
    )
    if cache_backend == "LocMemCache":
        print(
            "skipped: needs REDIS_URL (the workers of a server share a cache in every deployment; a per-process "
            "cache would make each worker replay on its own)",
            flush=True,
        )
    else:
        print(
            "server: gunicorn from the repository root (gunicorn.conf.py), DJANGO_DEBUG=0, "
            f"PostgreSQL {args.database_name}, cache {cache_backend}, 127.0.0.1; change: a card move through the service; "
            f"the polls ask as a browser does (Accept-Encoding: {ACCEPT_ENCODING}).\n"
            "server time = CPU time: each request's thread CPU in its worker (sent back in a header) + the CPU of the "
            "PostgreSQL backends of the database (/proc); one render = a single poll after a change, measured the same "
            "way (median of 3). Wall times are shown, not judged: the workers share the machine's cores.",
            flush=True,
        )
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        connections.close_all()
        servers = [(args.workers, True)] if args.workers else [(POD_WORKERS, True), (args.polls, False)]
        for workers, judged in servers:
            if judged:
                print(
                    f"{workers} sync workers (the chart's web pod: where the polls of a deployment queue)", flush=True
                )
            else:
                print(
                    f"{workers} sync workers, one per poll (shown, not judged: {workers} processes taking turns on "
                    f"{os.cpu_count()} cores, each request's CPU time inflated by the others')",
                    flush=True,
                )
            server = Server(database_url, workers)
            try:
                for project in loaded:
                    report_polls(project, server, cookie, member, args, judged=judged)
            finally:
                server.close()
    print(
        f"\nbench_scale ran in {time.perf_counter() - started:.0f} s; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )


if __name__ == "__main__":
    main()
