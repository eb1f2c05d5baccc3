"""The environment a subprocess of the image sees: this machine's, minus every
setting Sprintboard reads, plus what the test gives it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
APP_PREFIXES = ("DJANGO_", "CELERY_", "PROMETHEUS_", "SPRINTBOARD_", "DATABASE_URL", "REDIS_URL", "WEB_CONCURRENCY")
# Long enough and varied enough for check --deploy (W009); never used outside the tests.
PRODUCTION_SECRET_KEY = "deploy-test-key-" + "kR7#vQ2!xW9$mZ4@pL6%nB8^tY3&hJ5*" * 2


def app_environment(**settings: str) -> dict[str, str]:
    """os.environ without the app's settings, the venv first on PATH (as /opt/venv is in the image)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(APP_PREFIXES)}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.update(settings)
    return env


def production_environment(**settings: str) -> dict[str, str]:
    """What the chart gives every pod, for a production install."""
    production = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": PRODUCTION_SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "sprintboard.example.com",
        "DJANGO_SECURE_SSL_REDIRECT": "1",
        "DJANGO_LOG_FORMAT": "json",
        "DATABASE_URL": "postgres://sprintboard:pw@db.example.internal:5432/sprintboard",
        "REDIS_URL": "redis://redis.example.internal:6379/0",
    }
    return app_environment(**(production | settings))


def on_sqlite(tmp_path: Path, script: str) -> Any:
    """Run ``script`` in ``manage.py shell`` on a fresh embedded SQLite database (``make run``'s kind), migrated
    first; what the script's last printed line says, as JSON."""
    env = app_environment(DJANGO_DEBUG="1", SPRINTBOARD_SQLITE_PATH=str(tmp_path / "db.sqlite3"))
    env["DJANGO_LOG_LEVEL"] = "WARNING"
    for command in (["migrate", "--noinput"], ["shell", "-c", script]):
        run = subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])
