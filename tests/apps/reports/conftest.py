"""Fixtures of the report tests: a small project with a closed and an active sprint, and real Celery workers.

``start_worker`` runs ``celery -A config worker`` as a subprocess against the test PostgreSQL database
(pytest-django's ``test_<name>``) and the Redis of REDIS_URL. Tests using it need ``transactional_db``
(the fixture asks for it) so the worker sees committed rows; workers are stopped before the database
is flushed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection

from apps.stories import services

ROOT = Path(__file__).resolve().parents[3]
LOGS = ROOT / "test-results"
T0 = datetime(2024, 3, 4, 9, tzinfo=UTC)  # a Monday


def at(days: float, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def compute_queued() -> None:
    """Run the task body for every queued report, as a worker would."""
    from apps.reports import services as report_services
    from apps.reports.models import Report, ReportStatus

    for report in Report.objects.filter(status=ReportStatus.PENDING):
        report_services.report_compute(report_id=report.pk)


def get_done(client, url: str):
    """GET a report; if it is being computed (202), compute the queue and GET it again."""
    first = client.get(url)
    if first.status_code == 202:
        compute_queued()
        return client.get(url)
    return first


def build_history(project, people, states) -> dict:
    """Sprint 1 (4-15 March 2024, closed) and sprint 2 (active): stories committed, added, finished, carried over."""
    owner, member = people["owner"], people["member"]
    ready, doing, done, cancelled = states["Ready"], states["In progress"], states["Done"], states["Won't do"]
    s1 = services.sprint_create(project=project, actor=owner, start=T0.date(), end=at(11).date(), at=at(-3))
    stories = [
        services.story_create(
            project=project, actor=owner, title=f"Story {i}", points=points, state=ready, sprint=s1, at=at(-2)
        )
        for i, points in enumerate((3, 5, 2, 8, 1), start=1)
    ]
    services.sprint_start(sprint=s1, actor=owner, at=at(0))
    for story in stories[:4]:
        services.story_update(story=story, actor=member, state=doing, at=at(1))
    late = services.story_create(
        project=project, actor=owner, title="Added late", points=2, state=ready, sprint=s1, at=at(2)
    )
    services.story_update(story=stories[0], actor=member, state=done, at=at(3))
    services.story_update(story=stories[1], actor=member, points=3, at=at(4))
    services.story_update(story=stories[1], actor=member, state=done, at=at(5))
    services.story_update(story=stories[2], actor=member, state=cancelled, at=at(6))
    services.story_update(story=late, actor=member, state=done, at=at(8))
    services.sprint_close(sprint=s1, actor=owner, unfinished="next_sprint", at=at(11, 8))
    s1.refresh_from_db()
    s2 = s1.project.sprints.exclude(pk=s1.pk).get()
    s2 = services.sprint_start(sprint=s2, actor=owner, at=at(11, 9))
    services.story_update(story=stories[3], actor=member, state=done, at=at(13))
    return {"closed": s1, "active": s2, "stories": stories}


@pytest.fixture
def history(project, people, states):
    return build_history(project, people, states)


# --- Real Celery workers ---------------------------------------------------------------------------


def wait_for(
    predicate: Callable[[], object], *, timeout: float, interval: float = 0.2, what: str = "a condition"
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _database_url() -> str:
    db = connection.settings_dict  # pytest-django has renamed it to the test database
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _clear_broker() -> None:
    """Forget messages of earlier runs: the queues and kombu's unacknowledged set."""
    from django.conf import settings

    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.client.delete(
            "celery", settings.REPORTS_QUEUE, settings.NIGHTLY_QUEUE, "unacked", "unacked_index", "unacked_mutex"
        )


@pytest.fixture
def broker(transactional_db):
    """The real broker's Redis client, its queues emptied before and after (transactional: on_commit sends)."""
    from config.celery import app

    _clear_broker()
    with app.connection_for_write() as conn:
        yield conn.default_channel.client
    _clear_broker()


class Worker:
    def __init__(self, name: str, process: subprocess.Popen, log: Path) -> None:
        self.name, self.process, self.log = name, process, log

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as when a node dies."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_worker(transactional_db, request):
    workers: list[Worker] = []
    _clear_broker()

    def start(
        *, name: str = "w1", step_delay: float = 0.0, queues: str | None = None, env: dict[str, str] | None = None
    ) -> Worker:
        """A worker taking every queue (or ``queues``, as ``-Q``), with ``env`` added to its environment."""
        LOGS.mkdir(exist_ok=True)
        log = LOGS / f"celery-{request.node.name}-{name}.log"
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DJANGO_SETTINGS_MODULE": "tests.apps.reports.worker_settings",
            "DJANGO_SECRET_KEY": "worker-test-key-" + "x" * 40,
            "DJANGO_DEBUG": "0",
            "SPRINTBOARD_TEST_REPORT_STEP_DELAY": str(step_delay),
            **(env or {}),
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "--hostname",
            f"{name}-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            *(["--queues", queues] if queues else []),
        ]
        with log.open("w") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        worker = Worker(name, process, log)
        workers.append(worker)
        wait_for(
            lambda: "ready." in worker.output() or process.poll() is not None,
            timeout=60,
            what=f"worker {name} to start",
        )
        assert process.poll() is None, worker.output()[-3000:]
        return worker

    yield start
    for worker in workers:
        worker.stop()
