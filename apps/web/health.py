"""Liveness, readiness and metrics, answered before any other middleware.

Probes and Prometheus scrapes arrive by pod IP over plain HTTP: answering here
keeps them clear of ALLOWED_HOSTS, SSL redirects, sessions and authentication.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.web.metrics import metrics_response

logger = logging.getLogger(__name__)


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means not ready
        logger.exception("readiness: the database does not answer")
        return False
    return True


def redis_ok() -> bool:
    if not settings.REDIS_URL:
        return True
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception:  # noqa: BLE001
        logger.exception("readiness: Redis does not answer")
        return False
    return True


def readiness() -> tuple[int, dict]:
    """200, or 503 naming each dependency that does not answer. Why it does not (an exception's text,
    with hosts and ports) goes to the log, never to whoever asked."""
    failures = {name: "unreachable" for name, ok in (("database", database_ok()), ("redis", redis_ok())) if not ok}
    if failures:
        return 503, {"status": "unavailable", "failed": failures}
    return 200, {"status": "ok"}


def metrics_allowed(request: HttpRequest) -> bool:
    """With ``METRICS_TOKEN`` set, /metrics wants ``Authorization: Bearer <token>`` (Prometheus's
    ``authorization`` setting sends it); without, it answers anyone who reaches it."""
    token = settings.METRICS_TOKEN
    if not token:
        return True
    sent = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = sent.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), token.encode())


OPS_PATHS = ("/healthz", "/readyz", "/metrics")


def ops_port_rules(request: HttpRequest) -> HttpResponse | None:
    """With ``OPS_PORT`` set, the ops port answers only the ops paths, and /readyz and /metrics are
    answered only there: on the app's port (where the Ingress sends everyone) they are not found."""
    if not settings.OPS_PORT:
        return None
    on_ops_port = request.META.get("SERVER_PORT") == str(settings.OPS_PORT)
    if on_ops_port != (request.path in OPS_PATHS) and request.path != "/healthz":
        return JsonResponse(
            {"errors": [{"field": None, "code": "not_found", "message": "There is nothing at this address."}]},
            status=404,
        )
    return None


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (refused := ops_port_rules(request)) is not None:
            return refused
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            status, body = readiness()
            return JsonResponse(body, status=status)
        if request.path == "/metrics":
            if not metrics_allowed(request):
                response = JsonResponse(
                    {"errors": [{"field": None, "code": "not_authenticated", "message": "Send the metrics token."}]},
                    status=401,
                )
                response["WWW-Authenticate"] = 'Bearer realm="metrics"'
                return response
            return metrics_response()
        return self.get_response(request)
