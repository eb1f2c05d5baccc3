"""Signed deliveries as GitHub, GitLab and Slack send them, to a project whose integrations are set."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
from django.test import Client

from apps.integrations import services

GITHUB_URL, GITLAB_URL, SLACK_URL = (
    f"/api/v1/projects/DATA/integrations/{host}/" for host in ("github", "gitlab", "slack")
)
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the shape of Slack's signing secrets


@pytest.fixture
def secret(project):
    _, secret = services.integration_update(project=project, rotate_secret=True)
    return secret


@pytest.fixture
def slack_on(project):
    services.integration_update(project=project, slack_signing_secret=SLACK_SECRET)
    return SLACK_SECRET


def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def github(secret):
    """POST a payload as GitHub does: JSON, X-GitHub-Event, X-Hub-Signature-256 (or the signature given)."""

    def send(event: str, payload, *, signature: str | None = None, body: bytes | None = None, url: str = GITHUB_URL):
        body = json.dumps(payload).encode() if body is None else body
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
        headers["X-Hub-Signature-256"] = github_signature(secret, body) if signature is None else signature
        return Client(enforce_csrf_checks=True).post(url, body, content_type="application/json", headers=headers)

    return send


@pytest.fixture
def gitlab(secret):
    def send(event: str, payload, *, token: str | None = None, body: bytes | None = None):
        body = json.dumps(payload).encode() if body is None else body
        headers = {"X-Gitlab-Event": event, "X-Gitlab-Token": secret if token is None else token}
        return Client(enforce_csrf_checks=True).post(GITLAB_URL, body, content_type="application/json", headers=headers)

    return send


def slack_form(text: str = "Churn by region for the Q3 review", **fields: str) -> bytes:
    values = {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",  # deprecated verification token: never trusted
        "team_id": "T0001",
        "team_domain": "acme",
        "enterprise_id": "E0001",
        "enterprise_name": "Acme",
        "channel_id": "C2147483705",
        "channel_name": "data-requests",
        "user_id": "U2147483697",
        "user_name": "jane",
        "command": "/ask",
        "text": text,
        "response_url": "https://hooks.slack.com/commands/1234/5678",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "api_app_id": "A123456",
    }
    values.update(fields)
    return urlencode(values).encode()


@pytest.fixture
def slack(slack_on):
    """POST a slash command as Slack does: form-encoded, signed v0 with the timestamp."""

    def send(body: bytes, *, timestamp: str | None = None, signature: str | None = None, secret: str = slack_on):
        timestamp = str(int(time.time())) if timestamp is None else timestamp
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
        headers = {
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": expected if signature is None else signature,
        }
        return Client(enforce_csrf_checks=True).post(
            SLACK_URL, body, content_type="application/x-www-form-urlencoded", headers=headers
        )

    return send
