"""Production settings come from the environment, and a wrong one stops the start.

Each case imports the settings in a fresh interpreter, as a pod does: settings
are read once, at import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.deploy.environment import PRODUCTION_SECRET_KEY, REPO, production_environment

SHOW_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'key': s.SECRET_KEY, 'hosts': s.ALLOWED_HOSTS, 'redis': s.REDIS_URL, "
    "'database': s.DATABASES['default']['NAME'], 'database_host': s.DATABASES['default']['HOST']}))"
)


def run_python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def start_fails(env: dict[str, str]) -> str:
    """Start Django with env; it must fail. Returns the error output."""
    result = run_python("-c", SHOW_SETTINGS, env=env)
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr, result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_production_configuration_passes_check_deploy_without_warnings() -> None:
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=production_environment())
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_fails_without_a_secret_key_in_production() -> None:
    env = production_environment()
    del env["DJANGO_SECRET_KEY"]
    assert "DJANGO_SECRET_KEY is not set" in start_fails(env)


def test_it_names_a_database_url_that_is_not_one() -> None:
    assert "DATABASE_URL is not a database URL" in start_fails(production_environment(DATABASE_URL="nonsense"))


def test_it_names_a_redis_url_that_is_not_one() -> None:
    assert "REDIS_URL does not start with redis://" in start_fails(production_environment(REDIS_URL="nonsense"))


def test_it_names_allowed_hosts_given_as_urls() -> None:
    env = production_environment(DJANGO_ALLOWED_HOSTS="https://sprintboard.example.com")
    assert "DJANGO_ALLOWED_HOSTS has 'https://sprintboard.example.com'" in start_fails(env)


def test_it_refuses_empty_allowed_hosts_in_production() -> None:
    assert "DJANGO_ALLOWED_HOSTS is empty" in start_fails(production_environment(DJANGO_ALLOWED_HOSTS=""))


def test_it_reads_each_secret_from_a_file(tmp_path: Path) -> None:
    values = {
        "DJANGO_SECRET_KEY": PRODUCTION_SECRET_KEY + "-from-a-file",
        "DJANGO_ALLOWED_HOSTS": "a.example.com,b.example.com",
        "DATABASE_URL": "postgres://u:p@file-db.example.internal:5432/from_file",
        "REDIS_URL": "redis://file-redis.example.internal:6379/3",
    }
    env = production_environment()
    for name, value in values.items():
        (tmp_path / name).write_text(value + "\n")  # as mounted from a Secret, often with a newline
        env[f"{name}_FILE"] = str(tmp_path / name)
        del env[name]

    result = run_python("-c", SHOW_SETTINGS, env=env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "key": values["DJANGO_SECRET_KEY"],
        "hosts": ["a.example.com", "b.example.com"],
        "redis": values["REDIS_URL"],
        "database": "from_file",
        "database_host": "file-db.example.internal",
    }


def test_a_file_wins_over_the_variable(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("the-key-in-the-file")
    env = production_environment(
        DJANGO_SECRET_KEY="the-key-in-the-variable", DJANGO_SECRET_KEY_FILE=str(tmp_path / "key")
    )
    result = run_python("-c", SHOW_SETTINGS, env=env)
    assert json.loads(result.stdout)["key"] == "the-key-in-the-file"


def test_it_names_a_secret_file_it_cannot_read(tmp_path: Path) -> None:
    env = production_environment(DATABASE_URL_FILE=str(tmp_path / "missing"))
    assert f"DATABASE_URL_FILE='{tmp_path / 'missing'}' cannot be read" in start_fails(env)


def test_the_visibility_timeout_follows_the_task_time_limit() -> None:
    show = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CELERY_TASK_TIME_LIMIT, s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'])"
    )
    result = run_python("-c", show, env=production_environment(CELERY_TASK_SOFT_TIME_LIMIT="600"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["660", "720"]  # hard limit: soft + 60; redelivery: hard + the sweep's margin


def test_it_refuses_a_visibility_timeout_a_running_task_would_outlive() -> None:
    env = production_environment(CELERY_TASK_SOFT_TIME_LIMIT="300", CELERY_VISIBILITY_TIMEOUT="300")
    assert "CELERY_VISIBILITY_TIMEOUT=300 is not longer than the task time limit" in start_fails(env)


def test_it_refuses_a_hard_time_limit_before_the_soft_one() -> None:
    env = production_environment(CELERY_TASK_SOFT_TIME_LIMIT="300", CELERY_TASK_TIME_LIMIT="200")
    assert "CELERY_TASK_TIME_LIMIT=200 is not longer than CELERY_TASK_SOFT_TIME_LIMIT=300" in start_fails(env)


SHOW_HTTPS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'hsts': s.SECURE_HSTS_SECONDS, 'proxy': getattr(s, 'SECURE_PROXY_SSL_HEADER', None), "
    "'img_src': s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'], 'image_hosts': s.MARKDOWN_IMAGE_HOSTS}))"
)


def https_settings(**settings: str) -> dict:
    result = run_python("-c", SHOW_HTTPS, env=production_environment(**settings))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_hsts_is_a_year_by_default_and_can_be_turned_off() -> None:
    assert https_settings()["hsts"] == 31536000
    assert https_settings(DJANGO_HSTS_SECONDS="0")["hsts"] == 0
    assert https_settings(DJANGO_HSTS_SECONDS="600")["hsts"] == 600


def test_x_forwarded_proto_is_trusted_only_when_configured() -> None:
    assert https_settings()["proxy"] is None
    assert https_settings(SPRINTBOARD_TRUST_X_FORWARDED_PROTO="0")["proxy"] is None
    assert https_settings(SPRINTBOARD_TRUST_X_FORWARDED_PROTO="1")["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_allowed_markdown_image_hosts_join_the_policy_img_src() -> None:
    shown = https_settings(SPRINTBOARD_MARKDOWN_IMAGE_HOSTS="img.example.com, cdn.example.com:8443")
    assert shown["image_hosts"] == ["img.example.com", "cdn.example.com:8443"]
    assert shown["img_src"] == ["'self'", "data:", "img.example.com", "cdn.example.com:8443"]
    assert https_settings()["img_src"] == ["'self'", "data:"]


def test_it_names_an_image_host_written_as_a_url() -> None:
    env = production_environment(SPRINTBOARD_MARKDOWN_IMAGE_HOSTS="https://img.example.com/")
    assert "SPRINTBOARD_MARKDOWN_IMAGE_HOSTS has 'https://img.example.com/'" in start_fails(env)


def test_check_deploy_has_nothing_to_say_behind_a_trusted_proxy() -> None:
    env = production_environment(SPRINTBOARD_TRUST_X_FORWARDED_PROTO="1")
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr


def test_the_embedded_default_connects_to_no_broker_without_a_warning() -> None:
    """`make run` without REDIS_URL: Celery runs eagerly, and kombu says nothing about a missing hostname."""
    from tests.deploy.environment import app_environment

    code = (
        "import django; django.setup(); from config.celery import app; "
        "c = app.connection_for_write(); print(c.as_uri()); c.release()"
    )
    result = run_python("-c", code, env=app_environment(DJANGO_DEBUG="1"))
    assert result.returncode == 0, result.stderr
    assert "memory://" in result.stdout and "No hostname was supplied" not in result.stderr


def test_the_embedded_sqlite_database_passes_its_checks_without_a_warning(tmp_path: Path) -> None:
    """`make run` on a laptop: no "SQLite does not support deferrable unique constraints" at every start."""
    from tests.deploy.environment import app_environment

    env = app_environment(DJANGO_DEBUG="1", SPRINTBOARD_SQLITE_PATH=str(tmp_path / "db.sqlite3"))
    result = run_python("manage.py", "check", "--database", "default", env=env)
    assert result.returncode == 0, result.stderr
    assert "W038" not in result.stdout + result.stderr and "no issues" in result.stdout
