from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import auth
from django.contrib.auth import SESSION_KEY
from django.contrib.auth import middleware as auth_middleware
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils.functional import SimpleLazyObject

from apps.web.backends import SESSION_USER

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(values: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in items) for key, items in values.lists())


class RejectNulBytesMiddleware:
    """A NUL byte in the path, the query or a form field can never name anything, and PostgreSQL
    refuses it in text: 400, before any view sees it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or _has_nul(request.GET):
            return self._refuse("The address contains a NUL byte.")
        if request.method == "POST" and request.content_type in FORM_TYPES and _has_nul(request.POST):
            return self._refuse("A form field contains a NUL byte.")
        return self.get_response(request)

    @staticmethod
    def _refuse(message: str) -> JsonResponse:
        return JsonResponse({"errors": [{"field": None, "code": "invalid", "message": message}]}, status=400)


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, but the request's user is the one its session's row brought along (apps.web.sessions), handed
    to ``auth.get_user`` rather than read again: one round trip for the session and its user."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _user(request))  # type: ignore[assignment]


def _user(request: HttpRequest) -> Any:
    if not hasattr(request, "_cached_user"):
        request.session.get(SESSION_KEY)  # loads the session, and with it its user
        token = SESSION_USER.set(getattr(request.session, "user_read", None))
        try:
            request._cached_user = auth.get_user(request)  # type: ignore[attr-defined]
        finally:
            SESSION_USER.reset(token)
    return request._cached_user  # type: ignore[attr-defined]
