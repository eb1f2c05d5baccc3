"""Liveness, readiness and metrics, answered before any other middleware.

Probes and Prometheus scrapes arrive by pod IP over plain HTTP: answering here
keeps them clear of ALLOWED_HOSTS, SSL redirects, sessions and authentication.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.web.metrics import metrics_response


def database_ok() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return f"{type(exc).__name__}: {exc}"
    return None


def redis_ok() -> str | None:
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    return None


def readiness() -> tuple[int, dict]:
    failures = {name: error for name, error in (("database", database_ok()), ("redis", redis_ok())) if error}
    if failures:
        return 503, {"status": "unavailable", "failed": failures}
    return 200, {"status": "ok"}


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            status, body = readiness()
            return JsonResponse(body, status=status)
        if request.path == "/metrics":
            return metrics_response()
        return self.get_response(request)
