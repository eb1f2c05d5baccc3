"""Real servers in subprocesses, for the tests that need one outside pytest-django's in-process live server:
a private ``redis-server`` on a free port (one a test may stop), and the web server (gunicorn, or
``manage.py runserver``) on this test's PostgreSQL database with the test settings and production's
``DJANGO_DEBUG=0``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.db import connection

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], *, timeout: float = 20.0, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def database_url() -> str:
    """The URL of this test's database (``DATABASE_URL`` for a server in a subprocess)."""
    database = connection.settings_dict
    auth = database["USER"] + (f":{database['PASSWORD']}" if database.get("PASSWORD") else "")
    return f"postgres://{auth}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"


class PrivateRedis:
    """A redis-server of the test's own, on a free port, with nothing saved to disk."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, what="the private redis-server")

    def answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
        assert not self.answers()


@contextmanager
def web_server(
    command: Sequence[str], *, port: int, redis_url: str, log_path: Path, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Runs ``command`` (a web server listening on ``port``) on this test's database, with ``redis_url`` as its
    cache and broker and ``env`` on top; yields its base URL once ``/healthz`` answers. A server that dies on
    start fails the test with the end of its log (written to ``log_path``)."""
    environment = {name: value for name, value in os.environ.items() if name != "PROMETHEUS_MULTIPROC_DIR"}
    environment |= {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }
    environment |= env or {}
    base = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT)

        def up() -> bool:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                return True
            except OSError:
                return server.poll() is not None  # stop waiting: it died (checked below)

        try:
            wait_until(up, timeout=60, what=f"the web server ({command[-1]})")
            assert server.poll() is None, log_path.read_text()[-3000:]
            yield base
        finally:
            server.terminate()
            server.wait(timeout=20)
