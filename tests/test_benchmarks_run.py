"""Every benchmark of `make bench` still runs, at a small size: a benchmark is code too, and one that no longer
loads its data (a column made NOT NULL, a renamed field) is found here, not on the day its figures are wanted.

The figures at these sizes mean nothing; only that each script runs to its end.
Each script makes (and drops) its own database next to DATABASE_URL's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.deploy.environment import app_environment

ROOT = Path(__file__).resolve().parents[1]

SMALL = {
    "bench_backlog.py": ["--stories", "200", "--repeat", "3"],
    "bench_board.py": ["--cards", "20", "--runs", "3"],
    "bench_engine.py": ["--stories", "300"],
    "bench_import.py": ["--issues", "200"],  # 10 changelog items each: every status the mapping names occurs
    "bench_reports.py": ["--stories", "300"],
    "bench_scale.py": ["--sizes", "100,200", "--cards", "20", "--runs", "3", "--polls", "3"],
    "bench_search.py": ["--stories", "300", "--projects", "2", "--queries", "5"],
    "bench_transfer.py": ["--sizes", "100", "--cards", "20"],
}


def test_every_benchmark_is_listed_here():
    assert sorted(SMALL) == sorted(path.name for path in (ROOT / "tests" / "benchmarks").glob("bench_*.py"))


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("script", sorted(SMALL))
def test_the_benchmark_runs_to_its_end_at_a_small_size(script):
    database = settings.DATABASES["default"]
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    if database.get("PASSWORD"):
        url = url.replace("@", f":{database['PASSWORD']}@", 1)
    env = app_environment(DATABASE_URL=url, DJANGO_DEBUG="0", REDIS_URL=settings.REDIS_URL)  # the app's settings
    run = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "benchmarks" / script), *SMALL[script]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, (run.stdout[-2000:], run.stderr[-3000:])
