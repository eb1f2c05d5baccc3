"""Benchmark of the metrics engine alone: 50,000 stories / ~500,000 events in memory.

Run ``python tests/benchmarks/bench_engine.py [--stories N] [--seed S]``; it prints
the wall time (an untraced run) and the peak memory (a second run under
tracemalloc) of the replay, the flow report, the
sprint and velocity reports, the waste report and 10,000-trial forecasts.
Not collected by pytest (bench_*.py).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sprintboard import flow, forecast, sprints, waste  # noqa: E402
from sprintboard.history import replay  # noqa: E402
from tests.sprintboard.generator import generate  # noqa: E402


def measure(label: str, work: Callable[[], object]) -> object:
    """Time one run untraced (tracemalloc slows Python down), then trace a second run for its peak memory."""
    gc.collect()
    began = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - began
    gc.collect()
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<46} {elapsed:7.2f} s   peak {peak / 2**20:7.1f} MiB", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    began = time.perf_counter()
    project = generate(seed=args.seed, stories=args.stories, sprints=26, steps=(8, 34), tz="Europe/Amsterdam")
    print(
        f"generated {len(project.stories):,} stories, {len(project.events):,} events, "
        f"{len(project.sprints)} sprints in {time.perf_counter() - began:.1f} s (not timed below)"
    )
    context = {"stories": project.stories, "workflow": project.workflow, "tz": project.tz, "as_of": project.as_of}
    history = measure("replay (one pass over the log)", lambda: replay(project.events, **context))
    end = history.as_of_day
    measure("flow report, events in (replay included)", lambda: flow.flow_report(project.events, **context))
    measure("flow report, 30-day window", lambda: flow.flow_report(history))
    measure("flow report, 90-day window", lambda: flow.flow_report(history, start=end - timedelta(days=89)))
    closed = [s for s in project.sprints if s.closed_at is not None]
    measure("sprint report (last closed sprint)", lambda: sprints.sprint_report(history, sprint=closed[-1]))
    measure(
        "velocity report (last 7 closed sprints)", lambda: sprints.velocity_report(history, sprints=project.sprints)
    )
    measure(
        "waste report, 30-day window",
        lambda: waste.waste_report(history, sprints=project.sprints, deliverables=project.deliverables),
    )
    many = measure(
        "forecast how many by +30 days (10,000 trials)",
        lambda: forecast.forecast_how_many(history, by=end + timedelta(days=30)),
    )
    when = measure("forecast when 500 done (10,000 trials)", lambda: forecast.forecast_when(history, items=500))
    print(f"  how many 85%: {many.likely['85']}   when 85%: {when.likely['85']}")


if __name__ == "__main__":
    main()
