"""Django's database sessions, kept with their signed-in user's id (``UserSession.user``), read with that user.

Every request that carries a session cookie reads its session and then its user (the board's poll every 1.5 s
from each open board): two round trips, each a statement built by the ORM. Here one statement, built once and
prepared (``RowQuery``: planned once per connection), reads both; ``apps.web.middleware.AuthenticationMiddleware``
hands the user it brought to Django's ``auth.get_user``, which still checks everything it checks (the backend,
the session's hash of the password, an inactive user). Everything else (saving, a logout's delete, expiry,
``clearsessions``) is ``django.contrib.sessions.backends.db`` as it is: sessions stay in the database, so
logging in works without Redis and a logout ends a session at once.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends import db
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.rows import RowQuery, prepared_cursor
from apps.web.models import UserSession

SESSION_WITH_USER = RowQuery(UserSession, by="session_key", related=("user",), prepared=True)  # every request

# Sessions name the backend that logged their user in; those from before apps.web.backends name Django's own,
# which is the same backend (ours only reads the user faster): read so, nobody is signed out by the change.
BACKENDS_RENAMED = {"django.contrib.auth.backends.ModelBackend": "apps.web.backends.ModelBackend"}


def _user_id(value: Any) -> Any:
    """The user id a session's data names, as the column holds it; None for none (or not an id)."""
    if value is None:
        return None
    try:
        return UserSession._meta.get_field("user").target_field.to_python(value)
    except ValidationError:
        return None


class SessionStore(db.SessionStore):
    # The user read with the session's row (None: nobody signed in, or no session).
    user_read: Any = None
    # (session key, row or None) read by a larger statement (``read_with``), for the next load.
    _preloaded: tuple[str, UserSession | None] | None = None

    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        """Django's, with the user's id (Django's documented way to extend a session model)."""
        instance = cast(UserSession, super().create_model_instance(data))
        instance.user_id = _user_id(data.get(SESSION_KEY))
        return instance

    def load(self) -> dict[str, Any]:
        data = super().load()
        backend = data.get(BACKEND_SESSION_KEY)
        if backend in BACKENDS_RENAMED:
            data[BACKEND_SESSION_KEY] = BACKENDS_RENAMED[backend]
        return data

    def _get_session_from_db(self) -> UserSession | None:
        """The live session of this key, or None (and no key: a new one is made on save), as Django's."""
        self.user_read = None
        if self.session_key is None:
            return None
        preloaded, self._preloaded = self._preloaded, None
        if preloaded is not None and preloaded[0] == self.session_key:
            found = preloaded[1]
        else:
            found = SESSION_WITH_USER.first(self.session_key)
        if found is None or found.expire_date <= timezone.now():
            self._session_key = None
            return None
        self.user_read = found.user
        return found

    def read_with(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """One statement for this session and what its request asks for next: ``sql`` (PostgreSQL), which names
        the session's user id as ``%(user)s``, is read beside the session's row, and the row is kept for this
        store's load (``_get_session_from_db``: the expiry and, in ``auth.get_user``, every check Django makes).

        The answer is ``sql``'s row for the user id the session's row names, or None (no such session, or no
        row). It is the signed-in user's only if ``request.user`` turns out to be ``user_read``: the caller
        compares. The board's poll uses it (without importing this app: it asks the request's session store):
        the session and the board's version were two round trips every 1.5 s.
        """
        key = self.session_key
        if key is None or self._preloaded is not None or hasattr(self, "_session_cache"):
            return None  # no session, or it is read already: nothing to save
        with prepared_cursor() as cursor:
            cursor.execute(_with_session(sql), {**params, "session": key})
            row = cursor.fetchone()
        found = None if row is None else SESSION_WITH_USER.from_row(row)
        self._preloaded = (key, found)
        answer = None if row is None else tuple(row[SESSION_WITH_USER.width :])
        return None if answer is None or all(value is None for value in answer) else answer


@functools.lru_cache(maxsize=8)
def _with_session(sql: str) -> str:
    """``sql`` beside the session's row, written once per statement (prepared statements are found by their text)."""
    answer = sql.replace("%(user)s", "with_session.user_id")
    return f"""WITH with_session AS MATERIALIZED ({SESSION_WITH_USER.select("session")})
        SELECT with_session.*, answer.* FROM with_session LEFT JOIN LATERAL ({answer}) answer ON TRUE"""  # noqa: S608
