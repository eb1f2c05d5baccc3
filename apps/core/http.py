"""The request as views see it, typed.

django-stubs type ``request.user`` as ``User | AnonymousUser``; behind ``login_required`` (pages) or
``IsAuthenticated`` (the API) it is always a signed-in ``User``, and ``user_of`` says so to the type
checker. ``HtmxHttpRequest`` is a request that went through django-htmx's middleware (``request.htmx``).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework.request import Request

from apps.core.errors import PermissionDenied


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def user_of(request: HttpRequest | Request) -> User:
    """The signed-in ``request.user``; an anonymous request that gets this far is refused (403), never recorded."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user
