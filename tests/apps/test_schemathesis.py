"""Schemathesis checks the API against its OpenAPI schema on a live server, for every role: zero failures.

The server is gunicorn (the production entry point, 2 sync workers, the test settings) on this test's
PostgreSQL database, with a private ``redis-server`` as its cache and Celery broker: report computations
and webhook deliveries the run asks for are queued there and never leave the machine. Each role runs on a
fresh copy of the API test world (a project with one of everything; ``tests/apps/conftest.py``) with its
own token: anonymous, an outsider (a user of no project), stakeholder, member, product owner and admin.

``st run`` generates a bounded number of examples per operation (``EXAMPLES``) from a fixed seed (``SEED``;
the ``SCHEMATHESIS_SEED`` environment variable sets another), with
every default check; ``schemathesis.toml`` at the repository root holds the few exceptions the schema
cannot express, each with its reason. A failure prints schemathesis's report, with a curl line for each
failing request. After each run the event log must still verify (the suite's own check).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.intake import services as intake_services
from apps.web import services as web_services
from apps.webhooks import services as webhook_services
from tests.servers import REPO, PrivateRedis, free_port, web_server

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROLES = ["anonymous", "outsider", "stakeholder", "member", "owner", "admin"]
EXAMPLES = 5  # per operation and phase
# The coverage phase sends each operation its systematic cases (every boundary, every wrong type, every enum
# value): they test the schema's shape and the input's validation, which only a role allowed to do everything
# reaches, so the admin's run has it. Every role's run fuzzes each operation and follows its links (stateful).
PHASES = {"admin": "examples,coverage,fuzzing,stateful"}
DEFAULT_PHASES = "examples,fuzzing,stateful"
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261203"))  # another seed shakes out other cases
WORKERS = 2


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def live_api(django_db_setup, django_db_blocker, private_redis: str, tmp_path_factory) -> Iterator[str]:
    """gunicorn on the test database; each test commits its own world (the test is transactional)."""
    port = free_port()
    env = {
        "SPRINTBOARD_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        # Caps of report computations in flight (a 429 past them): none of them is ever computed here.
        "SPRINTBOARD_REPORTS_MAX_PENDING_PER_USER": "100000",
        "SPRINTBOARD_REPORTS_MAX_PENDING_PER_PROJECT": "100000",
    }
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--access-logfile", "-"]
    log_path = tmp_path_factory.mktemp("gunicorn") / "server.log"
    with web_server(command, port=port, redis_url=private_redis, log_path=log_path, env=env) as base:
        yield base


@pytest.fixture
def tokens(world, people, project, make_user, settings) -> dict[str, str | None]:
    """A token per role, on the API test world plus a request and a webhook (to a closed local port: the
    server's deliveries are queued in the private Redis, and no worker sends them)."""
    intake_services.request_submit(project=project, requester=people["stakeholder"], title="Churn by region")
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook_services.webhook_create(
        project=project, actor=people["admin"], url="http://127.0.0.1:9/sprintboard", events=["story.created"]
    )
    users = {role: people[role] for role in ("stakeholder", "member", "owner", "admin")}
    users["outsider"] = make_user("nobody")  # no project at all
    return {"anonymous": None} | {role: web_services.token_issue(user=user)[1] for role, user in users.items()}


CPYTHON_AST_BUG = "AST constructor recursion depth mismatch"


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_nothing(live_api: str, tokens: dict[str, str | None], role: str, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(REPO / "schemathesis.toml"),
        "run",
        f"{live_api}/api/schema/",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        str(WORKERS),
        "--phases",
        PHASES.get(role, DEFAULT_PHASES),
        "--report",
        "junit,ndjson",
        "--report-dir",
        str(tmp_path),
    ]
    if tokens[role] is not None:
        command += ["--header", f"Authorization: Token {tokens[role]}"]
    command += shlex.split(os.environ.get("SCHEMATHESIS_EXTRA_ARGS", ""))  # e.g. --include-path-regex stories
    started = time.monotonic()
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    report = result.stdout + result.stderr
    for retry in (1, 2):
        if result.returncode == 0 or CPYTHON_AST_BUG not in report or "Schema-" in report:
            break
        # CPython 3.11 (before 3.11.8, gh-106905) can raise this SystemError inside Hypothesis while it describes
        # a strategy: an error of the tool, not a finding about the API. The AST constructor's recursion depth is
        # kept per interpreter, not per thread (the bug's report reproduced it only in a threaded program), and
        # schemathesis's workers are threads: with 2 it once failed three seeds in a row. So the retries run with
        # one worker: the same seed, then the next; a third failure fails the test.
        print(
            f"schemathesis as {role}: {CPYTHON_AST_BUG!r} inside Hypothesis; again with 1 worker, seed {SEED + retry - 1}"
        )
        command[command.index("--workers") + 1] = "1"
        command[command.index("--seed") + 1] = str(SEED + retry - 1)
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        report = result.stdout + result.stderr
    print(f"schemathesis as {role}: exit {result.returncode} in {time.monotonic() - started:.0f} s")
    assert result.returncode == 0, f"schemathesis as {role} failed:\n{report}"
