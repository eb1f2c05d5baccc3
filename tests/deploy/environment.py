"""The environment a subprocess of the image sees: this machine's, minus every
setting Sprintboard reads, plus what the test gives it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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
