"""The only writers of API tokens (the account page, ``create_token`` and a password change use these), and the
clean-up of expired sessions (the beat, daily)."""

from __future__ import annotations

import secrets
from typing import Any

from django.utils import timezone

from apps.web.models import ApiToken, UserSession, hash_token


def token_issue(*, user: Any, name: str = "") -> tuple[ApiToken, str]:
    """A new token and its key: the only time the key exists in clear (only its SHA-256 is stored)."""
    key = ApiToken.PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:100], key_hash=hash_token(key), hint=key[:12])
    return token, key


def token_revoke(*, token: ApiToken) -> None:
    token.delete()


def tokens_revoke_all(*, user: Any) -> int:
    """Every token of ``user`` (a password change, with ``PASSWORD_CHANGE_REVOKES_TOKENS``)."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return deleted


def sessions_clear_expired() -> int:
    """Delete the sessions past their expiry (Django's ``clearsessions``, counted): one row per login otherwise
    stays for good. An expired session already signs nobody in."""
    deleted, _ = UserSession.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
