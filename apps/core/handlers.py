"""Django's error views, answering the API's JSON error shape for every address under ``/api/``.

DRF's exception handler covers what a view raises; these cover the rest: an address that matches no
route (``/api/v1/sprints/abc/``), a body past ``DATA_UPLOAD_MAX_MEMORY_SIZE`` read outside a view, a
failure in a middleware, the database going away. Pages keep Django's HTML answers.
"""

from __future__ import annotations

import sys

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from apps.core.api_support import error_body

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _json(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body([{"field": None, "code": code, "message": message}]), status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return _json(413, "too_large", "The request body is too large.")
    return _json(400, "invalid", "The request is not valid.")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return _json(403, "permission_denied", "You do not have permission to perform this action.")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return _json(404, "not_found", "There is nothing at this address: see /api/schema/ for the API's paths.")


def server_error(request: HttpRequest) -> HttpResponse:
    if not _is_api(request):
        return defaults.server_error(request)
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return _json(503, "unavailable", "The service is temporarily unavailable; try again shortly.")
    return _json(500, "server_error", "Something went wrong on our side; it has been logged.")
