from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the key is shown once, at creation."""

    PREFIX = "sbt_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="The first characters of the key, to tell tokens apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.hint}… ({self.user})"

    def expired(self, now: datetime) -> bool:
        """Past ``API_TOKEN_TTL_DAYS`` after its creation (never, when that is 0)."""
        days = settings.API_TOKEN_TTL_DAYS
        return bool(days) and now - self.created_at > timedelta(days=days)


class UserSession(AbstractBaseSession):
    """Django's database session with its signed-in user's id as a column (``user``, kept from the session's
    data on every save), so that a request reads its session and its user in one statement (apps.web.sessions).
    Deleting a user ends their sessions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=True
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "web_session"

    @classmethod
    def get_session_store_class(cls) -> type[SessionBase]:
        from apps.web.sessions import SessionStore

        return SessionStore
