"""How each sender proves a delivery is theirs; every comparison takes constant time.

| sender | header | what it holds |
|---|---|---|
| GitHub | ``X-Hub-Signature-256`` | ``sha256=`` + hex HMAC-SHA256 of the raw body, keyed with the secret |
| GitLab | ``X-Gitlab-Token`` | the secret itself |
| Slack | ``X-Slack-Signature``, ``X-Slack-Request-Timestamp`` | ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``, keyed with the signing secret; the timestamp within five minutes of now |
"""

from __future__ import annotations

import hashlib
import hmac

SLACK_MAX_AGE_SECONDS = 5 * 60


def _hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def github_valid(*, secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header:
        return False
    return hmac.compare_digest(header.encode(), f"sha256={_hex_hmac(secret, body)}".encode())


def gitlab_valid(*, secret: str, header: str | None) -> bool:
    if not secret or not header:
        return False
    return hmac.compare_digest(header.encode(), secret.encode())


def slack_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    return f"v0={_hex_hmac(secret, b'v0:' + timestamp.encode() + b':' + body)}"


def slack_fresh(timestamp: str | None, *, now: float) -> bool:
    """The timestamp is whole seconds within five minutes of ``now``, either way (a replay is older)."""
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    return abs(now - int(timestamp)) <= SLACK_MAX_AGE_SECONDS


def slack_valid(*, secret: str, timestamp: str, body: bytes, header: str | None) -> bool:
    if not secret or not header:
        return False
    expected = slack_signature(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(header.encode(), expected.encode())
