"""What a password change does besides changing the password.

Django calls ``password_changed`` of every entry of ``AUTH_PASSWORD_VALIDATORS`` each time a user's
password is saved, from any door (the account page, the admin, ``changepassword``): the one hook
that sees them all. The user's sessions end by themselves (Django checks each session against the
password's hash; the page that changed it keeps its own); with
``PASSWORD_CHANGE_REVOKES_TOKENS`` the user's API tokens are deleted too.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


class RevokeTokensOnPasswordChange:
    def validate(self, password: str, user: Any = None) -> None:
        return None  # not a rule about the password itself

    def password_changed(self, password: str, user: Any = None) -> None:
        if settings.PASSWORD_CHANGE_REVOKES_TOKENS and getattr(user, "pk", None):
            from apps.web.services import tokens_revoke_all

            tokens_revoke_all(user=user)

    def get_help_text(self) -> str:
        if settings.PASSWORD_CHANGE_REVOKES_TOKENS:
            return "Changing your password signs out your other sessions and revokes your API tokens."
        return "Changing your password signs out your other sessions."
