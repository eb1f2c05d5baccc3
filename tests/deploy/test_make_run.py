"""`make run` on a laptop: a port already taken is said, and the run stops, before any URL is printed.

The port is taken here by a listening socket of the test; the Makefile's own targets run in a subprocess, as a
person types them (without the app's settings: nothing reaches the test database).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.environment import REPO, app_environment


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 another server listens on."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # No MAKEFLAGS from an outer make (-j would start the set-up beside the check); a throw-away SQLite if the
    # check ever let the run through.
    env = app_environment(DJANGO_DEBUG="1", SPRINTBOARD_SQLITE_PATH=str(tmp_path / "db.sqlite3"))
    env.pop("MAKEFLAGS", None)
    env.pop("MFLAGS", None)
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_port_check_says_a_taken_port_is_taken_and_fails(taken_port: int, tmp_path: Path) -> None:
    result = make("port-check", f"PORT={taken_port}", "HOST=127.0.0.1", tmp_path=tmp_path)
    assert result.returncode != 0
    assert f"Port {taken_port} on 127.0.0.1 is taken" in result.stdout
    assert "make run PORT=8001" in result.stdout


def test_the_port_check_passes_a_free_port(tmp_path: Path) -> None:
    port = free_port()
    result = make("port-check", f"PORT={port}", "HOST=127.0.0.1", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "taken" not in result.stdout


def test_make_run_on_a_taken_port_says_so_and_stops_before_any_url(taken_port: int, tmp_path: Path) -> None:
    result = make("run", f"PORT={taken_port}", "HOST=127.0.0.1", tmp_path=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"Port {taken_port} on 127.0.0.1 is taken" in output
    assert "http://" not in output and "Sprintboard is at" not in output
    assert "migrate" not in output and "pip" not in output  # nothing else ran: the check is the first thing


def test_make_run_checks_the_port_before_it_installs_migrates_or_prints_a_url(tmp_path: Path) -> None:
    """The order of `make run`'s steps, as make would run them (-n prints them without running them)."""
    plan = make("-n", "-B", "run", "PORT=8123", "HOST=127.0.0.1", tmp_path=tmp_path).stdout
    check = plan.index("s.bind(('127.0.0.1', int('8123')))")
    for later in ("pip install", "npm ci", "manage.py migrate", "Sprintboard is at http://127.0.0.1:8123/"):
        assert check < plan.index(later), later
