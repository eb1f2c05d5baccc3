"""/readyz names what is down and nothing more; /metrics can want a token; with an ops port set, both
are answered only there (test_entrypoints.py runs the same under gunicorn with the chart's ports)."""

from __future__ import annotations

import json

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_readiness_names_redis_without_its_address_or_the_error(client, settings) -> None:
    settings.REDIS_URL = "redis://:hunter2@127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "unavailable", "failed": {"redis": "unreachable"}}


def test_readiness_names_the_database_without_its_address_or_the_error(client, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise OSError('connection to server at "db.internal" (10.0.0.5), port 5432 failed')

    with monkeypatch.context() as patch:  # undone before the suite's after-test check reads the database
        patch.setattr(connection, "cursor", refuse)
        response = client.get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.content)["failed"] == {"database": "unreachable"}
    assert b"10.0.0.5" not in response.content and b"5432" not in response.content


def test_metrics_answer_anyone_without_a_token_set(client, settings) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 200


def test_metrics_want_the_bearer_token_when_one_is_set(client, settings) -> None:
    settings.METRICS_TOKEN = "scrape-me"
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    assert b"sprintboard_" not in missing.content
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Token scrape-me").status_code == 401
    allowed = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me")
    assert allowed.status_code == 200 and b"sprintboard_" in allowed.content


@pytest.mark.parametrize("path", ["/readyz", "/metrics"])
def test_with_an_ops_port_readiness_and_metrics_are_answered_only_there(client, settings, path) -> None:
    settings.OPS_PORT = 9000
    assert client.get(path, SERVER_PORT="9000").status_code == 200
    refused = client.get(path, SERVER_PORT="8000")
    assert refused.status_code == 404 and b"sprintboard_" not in refused.content


def test_the_ops_port_serves_liveness_and_nothing_else(client, settings) -> None:
    settings.OPS_PORT = 9000
    assert client.get("/healthz", SERVER_PORT="9000").status_code == 200
    assert client.get("/healthz", SERVER_PORT="8000").status_code == 200
    assert client.get("/login/", SERVER_PORT="9000").status_code == 404
    assert client.get("/login/", SERVER_PORT="8000").status_code == 200
