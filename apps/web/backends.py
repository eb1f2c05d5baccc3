"""Django's ModelBackend, with a session's user taken as its session's row brought it, else read by a statement
built once (apps/core/rows.py).

Every request of a signed-in person loads its user (the board's poll every 1.5 s from each open board). The
session's own statement reads it (apps.web.sessions); ``SESSION_USER`` holds that user while
``apps.web.middleware.AuthenticationMiddleware`` asks Django's ``auth.get_user`` for the request's user, and
nowhere else. Logging in, permissions and ``user_can_authenticate`` (an inactive user is nobody) are
ModelBackend's, unchanged.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.contrib.auth import backends, get_user_model

from apps.core.rows import RowQuery

USER_BY_PK = RowQuery(get_user_model())
SESSION_USER: ContextVar[Any] = ContextVar("session_user", default=None)


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        read = SESSION_USER.get()
        user = read if read is not None and str(read.pk) == str(user_id) else USER_BY_PK.first(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
