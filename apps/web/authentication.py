"""`Authorization: Token <key>` against hashed ApiTokens; `Bearer <key>` is the same key, for clients that only
send bearer tokens (OpenLineage's HTTP transport with ``auth: {type: api_key}``)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from apps.core.rows import RowQuery
from apps.core.throttling import TokenFailureThrottle
from apps.web.models import ApiToken, hash_token

# Every token-authenticated request reads its token and user: one statement built once and prepared
# (apps/core/rows.py).
TOKEN_BY_HASH = RowQuery(ApiToken, by="key_hash", related=("user",), prepared=True)


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"
    keywords = (b"token", b"bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Write the header as: Authorization: Token <key>.")
        failures = TokenFailureThrottle()
        failures.check(request)
        try:
            key = header[1].decode()
        except UnicodeError:
            key = ""
        token = TOKEN_BY_HASH.first(hash_token(key)) if key else None
        if token is None or not token.user.is_active:
            failures.record_failure(request)
            raise exceptions.AuthenticationFailed("The token is not valid or has been revoked.")
        now = timezone.now()
        if token.expired(now):
            failures.record_failure(request)
            raise exceptions.AuthenticationFailed("The token has expired: create a new one on your account page.")
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apps.web.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` (or `Bearer <key>`): create a key on your profile page or with "
            "`python manage.py create_token <username>`.",
        }
