"""SPRINTBOARD_IMAP_*: a mailbox half configured stops the start with a message saying what to set; a
complete one puts the poll on the beat's schedule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
COMPLETE = {
    "SPRINTBOARD_IMAP_HOST": "imap.example.com",
    "SPRINTBOARD_IMAP_USER": "requests@example.com",
    "SPRINTBOARD_IMAP_PASSWORD": "secret",
    "SPRINTBOARD_IMAP_PROJECT": "DATA",
}
PRINT = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps([s.IMAP_PORT, s.IMAP_PASSWORD, s.CELERY_BEAT_SCHEDULE.get('intake-mailbox-poll')]))"
)


def start(extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPRINTBOARD_IMAP_")}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "1", **extra}
    code = f"import django; django.setup(); {PRINT}"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_a_complete_mailbox_is_polled_on_the_beat(tmp_path):
    secret = tmp_path / "imap-password"
    secret.write_text("from-a-file\n")
    env = {**COMPLETE, "SPRINTBOARD_IMAP_PASSWORD": "", "SPRINTBOARD_IMAP_PASSWORD_FILE": str(secret)}
    result = start({**env, "SPRINTBOARD_IMAP_POLL_SECONDS": "120"})
    assert result.returncode == 0, result.stderr
    port, password, entry = json.loads(result.stdout.strip().splitlines()[-1])
    assert (port, password) == (993, "from-a-file")
    assert entry["task"] == "apps.intake.tasks.intake_mailbox_poll_task"
    assert entry["schedule"] == 120 and entry["options"] == {"expires": 120}


def test_without_a_host_nothing_is_polled():
    result = start({})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])[2] is None


@pytest.mark.parametrize(
    "change, says",
    [
        ({"SPRINTBOARD_IMAP_PROJECT": ""}, "SPRINTBOARD_IMAP_PROJECT"),
        ({"SPRINTBOARD_IMAP_PASSWORD": ""}, "SPRINTBOARD_IMAP_PASSWORD_FILE"),
        ({"SPRINTBOARD_IMAP_STARTTLS": "1"}, "SPRINTBOARD_IMAP_SSL=0"),
        ({"SPRINTBOARD_IMAP_SSL": "maybe"}, "not a boolean"),
        ({"SPRINTBOARD_IMAP_POLL_SECONDS": "1"}, "at least 10"),
    ],
)
def test_a_mailbox_that_cannot_work_stops_the_start(change, says):
    result = start({**COMPLETE, **change})
    assert result.returncode != 0 and says in result.stderr
