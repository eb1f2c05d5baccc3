"""Benchmark of reports against PostgreSQL: reading the event log vs computing from it.

Loads a generated 50,000-story / ~500,000-event history (tests/sprintboard/generator.py) into its
own database ``sprintboard_bench_reports`` on the server of DATABASE_URL (bulk inserts: COPY), then
times reading it back through ``engine_input`` (the indexed range read every report task does)
against computing the flow report from it, and a sprint report of a sprint of about 300 stories.
Targets: reading < 2x the flow computation and < 5 s; the 300-story sprint report < 200 ms.

Run ``python tests/benchmarks/bench_reports.py [--stories N]``. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DB_NAME = "sprintboard_bench_reports"


def bench_database_url() -> str:
    from tests.benchmarks.databases import fresh_postgres_database

    return fresh_postgres_database(DB_NAME, who="bench_reports")


def timed(label: str, work: Callable[[], object], *, repeat: int = 1) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        began = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - began)
    print(f"{label:<58} {best:8.3f} s", flush=True)
    return best, result


def load(generated, *, key: str):  # noqa: ANN001, ANN201 - a generator Project in, a Django Project out
    from django.db import connection

    from tests.generated import load_generated

    project = load_generated(generated, key=key)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE stories_storyevent")
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.pop("REDIS_URL", None)  # tasks run in process
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-" + "k" * 40)  # make bench runs with DJANGO_DEBUG=0
    import django

    django.setup()
    from django.core.management import call_command

    from apps.reports import services
    from apps.reports.models import ReportKind
    from apps.stories.selectors import engine_input
    from sprintboard import flow, sprints
    from sprintboard.history import replay
    from tests.sprintboard.generator import generate

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    generated = generate(seed=args.seed, stories=args.stories, sprints=26, steps=(8, 34), tz="Europe/Amsterdam")
    print(
        f"generated {len(generated.stories):,} stories, {len(generated.events):,} events in {time.perf_counter() - began:.1f} s"
    )
    timed("load into PostgreSQL (bulk_create + COPY; not a target)", lambda: load(generated, key="BIG"))
    from apps.projects.models import Project

    project = Project.objects.get(key="BIG")
    read, data = timed("read: engine_input (whole log by indexed range)", lambda: engine_input(project), repeat=3)

    def compute_flow():  # noqa: ANN202
        history = replay(
            data.events, stories=data.stories, workflow=data.workflow, tz=data.timezone, as_of=generated.as_of
        )
        end = history.as_of_day
        return flow.flow_report(history, start=end - timedelta(days=89), end=end)

    compute, _ = timed("compute: replay + flow report (90 days)", compute_flow, repeat=3)
    report = read + compute
    print(
        f"  report (read + compute) = {report:.2f} s (target < 5 s); report / read = {report / read:.2f}x (target < 2x)"
    )

    def raw_read() -> int:  # what the read costs below the ORM: the same rows, one server-side cursor
        from django.db import connection, transaction

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT seq, story_id, kind, at, field, from_value, to_value, actor_id FROM stories_storyevent "
                "WHERE project_id = %s ORDER BY seq",
                [project.pk],
            )
            return len(cursor.fetchall())

    timed("  for comparison: the same rows through a plain cursor", raw_read)
    # Without a broker the request runs the task in process: this is the whole task, read to store.
    timed(
        "report task end to end (flow: read + compute + store)",
        lambda: services.report_request(project=project, kind=ReportKind.FLOW, parameters={"from": None, "to": None}),
    )

    small = generate(seed=args.seed + 1, stories=2_400, sprints=8, steps=(8, 34), tz="Europe/Amsterdam")
    loaded = load(small, key="SPRINT")
    small_data = engine_input(loaded)
    history = replay(
        small_data.events,
        stories=small_data.stories,
        workflow=small_data.workflow,
        tz=small_data.timezone,
        as_of=small.as_of,
    )
    closed = [s for s in small_data.sprints if s.closed_at is not None]
    sprint = max(closed, key=lambda s: len(history.sprint_members.get(s.id, ())))
    members = len(history.sprint_members.get(sprint.id, ()))
    result = sprints.sprint_report(history, sprint=sprint)
    print(f"sprint {sprint.name}: {members} stories ever in it, {result.n} in the report")
    timed(
        f"sprint report, {result.n}-story sprint (engine, history replayed)",
        lambda: sprints.sprint_report(history, sprint=sprint),
        repeat=5,
    )
    from apps.stories.models import Sprint

    row = Sprint.objects.get(pk=sprint.id)
    timed(
        f"sprint report task end to end ({len(small.events):,} events: read + replay + compute + store)",
        lambda: services.report_request(project=loaded, kind=ReportKind.SPRINT, parameters={}, sprint=row),
    )


if __name__ == "__main__":
    main()
