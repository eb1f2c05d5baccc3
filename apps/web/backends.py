"""Django's ModelBackend, with a session's user read by a statement built once (apps/core/rows.py).

Every request of a signed-in person loads its user (the board's poll every 1.5 s from each open board):
building that one-row lookup through the ORM cost ~0.3 ms of CPU, several times running it. Logging in,
permissions and ``user_can_authenticate`` (an inactive user is nobody) are ModelBackend's, unchanged.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import backends, get_user_model

from apps.core.rows import RowQuery

USER_BY_PK = RowQuery(get_user_model())


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        user = USER_BY_PK.first(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
