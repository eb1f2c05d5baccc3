"""The user a request is made by, as the services take it: a ``User``.

django-stubs type ``request.user`` as ``User | AnonymousUser``; behind ``login_required`` (pages) or
``IsAuthenticated`` (the API) it is always a signed-in ``User``, and this says so to the type checker.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from rest_framework.request import Request

from apps.core.errors import PermissionDenied


def user_of(request: HttpRequest | Request) -> User:
    """The signed-in ``request.user``; an anonymous request that gets this far is refused (403), never recorded."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user
