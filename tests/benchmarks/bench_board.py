"""Benchmark of the board on PostgreSQL: a sprint of 500 cards (every seventh blocked by a link to another).

Prints the board's server render time (after a cache clear: the page renders its cards, whose ages and service
level come from the stories' flow projection; and again, unchanged: the page's cards are then the fragment its
polls share, read from the cache) and the render's query count, a card move's p95 (the whole request: auth, the service, its event) and an
unchanged board's poll (a 304). Targets (issue 5): render < 150 ms, move < 20 ms p95, poll < 5 ms.

Run ``python tests/benchmarks/bench_board.py [--cards N] [--runs R]`` with ``DATABASE_URL`` naming a
PostgreSQL server: it creates (and drops at the start of each run) its own database,
``sprintboard_bench_board``, and migrates it. Not collected by pytest (bench_*.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

BENCH_DB = "sprintboard_bench_board"


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        sys.exit(
            "bench_board needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name (its server is used, "
            f"in a database of its own, {BENCH_DB})."
        )
    return urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def recreate_database(url: str) -> None:
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{BENCH_DB}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-board-only-not-a-secret-" + "x" * 40)
    import django

    django.setup()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1)]


def timed(work, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append((time.perf_counter() - began) * 1000)
    return times


class QueryCounter:
    """Counts the queries run inside it (CaptureQueriesContext loses them when a request resets the log)."""

    def __init__(self, connection) -> None:
        self.connection, self.count = connection, 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        self._wrapper = self.connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._wrapper.__exit__(*exc)

    def __len__(self) -> int:
        return self.count


def report(label: str, times: list[float], queries: int | None = None, target: str = "") -> None:
    extra = f"   {queries} queries" if queries is not None else ""
    print(
        f"{label:<44} median {statistics.median(times):7.1f} ms   p95 {percentile(times, 95):7.1f} ms{extra}   {target}",
        flush=True,
    )


def build(cards: int):
    """A project with history (for the SLE and ages) and an active sprint of ``cards`` stories."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from apps.projects import services as project_services
    from apps.projects.models import Role
    from apps.projects.selectors import workflow
    from apps.stories import services

    users = [get_user_model().objects.create_user(username=f"user{i}", password="bench") for i in range(8)]
    project = project_services.project_create(creator=users[0], key="BENCH", name="Bench team")
    for user in users[1:]:
        project_services.membership_add(project=project, user=user, role=Role.MEMBER)
    states = {s.name: s for s in workflow(project)}
    labels = [services.label_save(project=project, name=name) for name in ("dbt", "pii", "airflow", "ml")]
    epics = [services.epic_save(project=project, name=f"Epic {i}") for i in range(6)]
    now = timezone.now()
    # 200 stories finished over the last 60 days: the SLE has history. Events are written in time order.
    began = now - timedelta(days=90)
    history = [
        services.story_create(
            project=project,
            actor=users[0],
            title=f"Done {i}",
            points=i % 5 + 1,
            state=states["Ready"],
            at=began + timedelta(minutes=i),
        )
        for i in range(200)
    ]
    for i, story in enumerate(history):
        services.story_change_state(
            story=story, state=states["In progress"], actor=users[1], at=began + timedelta(days=20, hours=i)
        )
    for i, story in enumerate(history):
        services.story_change_state(
            story=story, state=states["Done"], actor=users[1], at=began + timedelta(days=30, hours=i * 2, minutes=i % 7)
        )
    sprint = services.sprint_create(project=project, actor=users[0], name="Sprint 1", at=now - timedelta(days=3))
    spread = ["Ready", "Ready", "In progress", "Waiting", "Validating", "Done"]
    t0 = now - timedelta(days=2)
    previous = None
    for i in range(cards):
        story = services.story_create(
            project=project,
            actor=users[0],
            title=f"Card {i}: build the {i % 17}th dataset",
            points=i % 8,
            kind=("story", "bug", "chore", "spike")[i % 4],
            state=states[spread[i % len(spread)]],
            sprint=sprint,
            assignee=users[i % len(users)],
            epic=epics[i % len(epics)],
            labels=labels[: i % 3],
            at=t0 + timedelta(seconds=i),
        )
        if i % 10 == 0:
            services.story_block(
                story=story, reason="Waiting for warehouse access", actor=users[1], at=t0 + timedelta(seconds=i)
            )
        if i % 7 == 1 and previous is not None:  # blocked by the card before it: the "Blocked by" badge's subquery
            services.link_add(
                source=previous, target=story, kind="blocks", actor=users[1], at=t0 + timedelta(seconds=i)
            )
        previous = story
    services.sprint_start(sprint=sprint, actor=users[0], at=now - timedelta(days=1))
    return project, users, states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=500)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    url = bench_database_url()
    recreate_database(url)
    setup_django(url)

    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse

    from apps.stories.models import Story

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    project, users, states = build(args.cards)
    project.refresh_from_db()
    print(
        f"built {args.cards} cards, {Story.objects.count()} stories, {project.last_event_seq} events "
        f"in {time.perf_counter() - began:.1f} s; "
        f"cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}",
        flush=True,
    )

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(ALLOWED_HOSTS=["testserver"], STORAGES=storages):
        client = Client()
        client.force_login(users[1])
        board = reverse("project-board", kwargs={"key": "BENCH"})
        live = reverse("project-board-live", kwargs={"key": "BENCH"})
        move = reverse("project-board-move", kwargs={"key": "BENCH"})

        def render() -> None:
            response = client.get(board)
            assert response.status_code == 200 and response.content.count(b'class="story-card') == args.cards

        def cold() -> None:
            cache.clear()
            render()

        render()  # warm the template loader and connection
        with QueryCounter(connection) as queries:
            cold()
        report(
            f"board render of {args.cards} cards after a cache clear",
            timed(cold, max(5, args.runs // 3)),
            len(queries),
            "(target < 150 ms)",
        )
        report("board page again, unchanged (cards: the polls' shared fragment)", timed(render, args.runs))
        swimlanes = reverse("project-board", kwargs={"key": "BENCH"}) + "?lanes=assignee"

        def lanes() -> None:
            cache.clear()
            client.get(swimlanes)

        report("board render, swimlanes by assignee, after a cache clear", timed(lanes, max(5, args.runs // 3)))

        etag = client.get(live)["ETag"]

        def poll() -> None:
            assert client.get(live, HTTP_IF_NONE_MATCH=etag).status_code == 304

        with QueryCounter(connection) as queries:
            poll()
        report(
            "unchanged board poll (304)",
            timed(poll, args.runs * 10),
            len(queries),
            "(target < 5 ms; 2 of the queries are the session and user)",
        )

        cards = list(
            Story.objects.filter(sprint__isnull=False, state=states["Ready"]).order_by("rank")[: args.runs * 2]
        )
        targets = [states["In progress"], states["Ready"]]
        times = []
        for story in cards * 2:
            story.refresh_from_db(fields=["version", "state"])
            target = targets[0] if story.state_id == targets[1].pk else targets[1]
            began = time.perf_counter()
            response = client.post(
                move, {"story": story.key, "state": target.pk, "version": story.version}, HTTP_ACCEPT="application/json"
            )
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.content
        with QueryCounter(connection) as queries:
            story = cards[0]
            story.refresh_from_db(fields=["version", "state"])
            client.post(
                move,
                {
                    "story": story.key,
                    "state": targets[0].pk if story.state_id == targets[1].pk else targets[1].pk,
                    "version": story.version,
                },
                HTTP_ACCEPT="application/json",
            )
        report("card move (POST, one state event)", times, len(queries), "(target < 20 ms p95)")


if __name__ == "__main__":
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        cProfile.run("main()", os.environ["BENCH_PROFILE"])
    else:
        main()
