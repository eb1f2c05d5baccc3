"""Benchmark of the project backup on PostgreSQL: export, JSON, import (with its check) at several sizes.

Each project is bench_scale's (``load_project``: the seeded generator's history, written with COPY, plus an
active sprint of ``--cards`` stories). For each size it times ``project_export`` (one repeatable-read
snapshot), ``json.dumps`` of the document and its size, ``document_load`` + ``project_import`` under a new
key (every row and event written in one transaction, then the copy checked against its log as
``verify_events`` checks it, before the commit), and the process's peak resident memory after each step.

Run ``DATABASE_URL=postgres://user@host:5432/any python tests/benchmarks/bench_transfer.py [--sizes 1000,5000]``.
It creates (and drops at the start of each run) its own database, ``sprintboard_bench_transfer``.
Not collected by pytest (bench_*.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DB_NAME = "sprintboard_bench_transfer"
SECRET = "bench-transfer-only-not-a-secret-" + "x" * 40


def bench_database_url() -> str:
    from tests.benchmarks.databases import fresh_postgres_database

    return fresh_postgres_database(DB_NAME, who="bench_transfer")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000", help="project sizes in stories, comma-separated")
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    database_url = bench_database_url()
    os.environ.update(DATABASE_URL=database_url, DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or SECRET)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.pop("REDIS_URL", None)  # nothing here uses the cache or a broker
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from apps.projects.models import Project
    from apps.transfer import services
    from tests.benchmarks.bench_scale import load_project
    from tests.sprintboard.generator import PEOPLE

    call_command("migrate", verbosity=0)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs", flush=True)
    users = {name: get_user_model().objects.create_user(username=name, password="bench") for name in PEOPLE}
    now = timezone.now()
    print(
        f"{'stories':>8} {'events':>8} {'export':>8} {'dumps':>7} {'size':>9} {'import+check':>13} {'peak RSS':>9}",
        flush=True,
    )
    for index, size in enumerate(int(s) for s in args.sizes.split(",") if s.strip()):
        loaded = load_project(
            size, key="TRAN" + "ABCDEFGHIJ"[index], cards=args.cards, seed=args.seed, now=now, users=users
        )
        project = Project.objects.get(pk=loaded.pk)
        began = time.perf_counter()
        document = services.project_export(project)
        exported = time.perf_counter() - began
        began = time.perf_counter()
        text = json.dumps(document)
        dumped = time.perf_counter() - began
        del document
        began = time.perf_counter()
        copy = services.project_import(
            document=services.document_load(text), key="COPY" + "ABCDEFGHIJ"[index], actor=None
        )
        imported = time.perf_counter() - began
        assert copy.last_event_seq == loaded.events
        print(
            f"{size:>8,} {loaded.events:>8,} {exported:>6.2f} s {dumped:>5.2f} s {len(text) / 2**20:>5.1f} MiB "
            f"{imported:>11.2f} s {peak_mib():>5.0f} MiB",
            flush=True,
        )


if __name__ == "__main__":
    main()
