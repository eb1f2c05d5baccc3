"""What every API module shares: the error shape, pagination and role checks.

Every 4xx answers ``{"errors": [{"field": name | null, "code": short code, "message": sentence}]}``;
a 409 for a stale version adds ``"current_version"``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, QueryDict
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.metadata import SimpleMetadata
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import DomainError, TooManyRequests

logger = logging.getLogger(__name__)


class Pagination(PageNumberPagination):
    """Pages of 50 (``page_size`` 1 to 100). ``page`` and ``page_size`` are whole numbers from 1, or a 400
    naming them (DRF would read a bad ``page_size`` as the default and cap a large one); a page past the
    last is a 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request, paginator):
        number = request.query_params.get(self.page_query_param)
        if number is None or number in self.last_page_strings:
            return super().get_page_number(request, paginator)
        return _whole_from_one(number, self.page_query_param, "page must be a whole number from 1.")

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        message = f"page_size must be a whole number from 1 to {self.max_page_size}."
        size = _whole_from_one(raw, self.page_size_query_param, message)
        if size > self.max_page_size:
            raise exceptions.ValidationError({self.page_size_query_param: [message]})
        return size

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
                parameter["description"] = f"Results per page: 1 to {self.max_page_size} (default {self.page_size})."
            else:
                parameter["description"] = "A page number from 1; a page past the last is a 404."
        return parameters


def _whole_from_one(raw: str, name: str, message: str) -> int:
    digits = raw.lstrip("0")
    if not (raw.isascii() and raw.isdigit()) or not digits:
        raise exceptions.ValidationError({name: [message]})
    return int(digits) if len(digits) < 19 else 10**18  # past any page and any size (int() refuses 4,300+ digits)


class JsonOnly(BaseContentNegotiation):
    """``?format=`` selects a download (CSV, JSON) in the view, not a DRF renderer: answers are always JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return JSONRenderer(), JSONRenderer.media_type


class CsvDownloads(DefaultContentNegotiation):
    """``?format=csv`` asks the view for a CSV download (which it answers itself), ``?format=json`` (or none) for
    JSON; any other format is a 400 naming ``format``."""

    formats = ("csv", "json")

    def select_renderer(self, request, renderers, format_suffix=None):
        wanted = request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        if wanted is not None and wanted not in self.formats:
            raise exceptions.ValidationError({"format": ["format must be csv or json."]})
        if wanted == "csv":
            # A download is not paginated, but page and page_size are checked as for JSON: the same query
            # is valid or not whatever the format.
            pagination = Pagination()
            pagination.get_page_size(request)
            if (page := request.query_params.get(pagination.page_query_param)) not in (None, "last"):
                _whole_from_one(page, pagination.page_query_param, "page must be a whole number from 1.")
            return JSONRenderer(), JSONRenderer.media_type  # for the 4xx answers; a download is not rendered
        return super().select_renderer(request, renderers, format_suffix)


def check_query(query: QueryDict) -> None:
    """Every query parameter of the API is given at most once and with a value: ``?kind=`` and
    ``?page=1&page=2`` are 400s naming the parameter (an HTML form would read the first as "no filter"
    and pick one of the second; the schema documents one non-empty value)."""
    errors = {}
    for name, values in query.lists():
        if len(values) > 1:
            errors[name] = [exceptions.ErrorDetail(f"Give {name} at most once.", code="repeated")]
        elif values[0] == "":
            errors[name] = [exceptions.ErrorDetail(f"{name} is empty: give a value or leave it out.", code="blank")]
    if errors:
        raise exceptions.ValidationError(errors)


def error_body(errors: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"errors": errors, **extra}


def _flatten(detail: Any, field: str | None = None) -> list[dict[str, Any]]:
    if isinstance(detail, dict):
        out: list[dict[str, Any]] = []
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "detail") else (f"{field}.{key}" if field else str(key))
            out += _flatten(value, name)
        return out
    if isinstance(detail, list):
        out = []
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            out += _flatten(value, f"{field}[{index}]" if nested and field else field)
        return out
    code = getattr(detail, "code", None) or "invalid"
    return [{"field": field, "code": str(code), "message": str(detail)}]


STATUS_CODES = {
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
}


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class ServiceUnavailable(exceptions.APIException):
    """The database is unreachable: a 503 the client may retry, never a 500 page."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is temporarily unavailable; try again shortly."
    default_code = "unavailable"


def _unexpected(exc: Exception) -> exceptions.APIException | None:
    """What no view meant to raise, but any request can cause: answered in the error shape, not a 500 page."""
    if isinstance(exc, RequestDataTooBig):
        return TooLarge()
    if isinstance(exc, RecursionError):
        return exceptions.ParseError("The body is nested too deeply.", code="parse_error")
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError("The request is not valid.", code="invalid")
    if isinstance(exc, OperationalError | InterfaceError):
        logger.exception("database error, answered 503")
        return ServiceUnavailable()
    return None


def domain_error_body(exc: DomainError) -> dict[str, Any]:
    """The JSON body of a refused change, the same from the API and from a page's fetch or htmx request."""
    return error_body([{"field": exc.field, "code": exc.code, "message": exc.message}], **exc.extra)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    exc = _unexpected(exc) or exc
    if isinstance(exc, DomainError):
        domain_response = Response(domain_error_body(exc), status=exc.status)
        if isinstance(exc, TooManyRequests):
            domain_response["Retry-After"] = str(exc.retry_after)
        return domain_response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
    else:
        code = getattr(exc, "default_code", None) or STATUS_CODES.get(response.status_code, "error")
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        errors = [{"field": None, "code": getattr(detail, "code", code) or code, "message": str(detail)}]
    response.data = error_body(errors or [{"field": None, "code": "invalid", "message": "The request is not valid."}])
    # Retry-After rounded up: DRF rounds down, to 0 in the last second. (Throttled.wait is set by DRF's
    # __init__; djangorestframework-stubs do not declare it.)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:  # type: ignore[attr-defined]
        response["Retry-After"] = str(max(1, math.ceil(exc.wait)))  # type: ignore[attr-defined]
    return response


ErrorSerializer = inline_serializer(
    "Errors",
    fields={
        "errors": serializers.ListField(
            child=inline_serializer(
                "Error",
                fields={
                    "field": serializers.CharField(allow_null=True),
                    "code": serializers.CharField(),
                    "message": serializers.CharField(),
                },
            )
        ),
        "current_version": serializers.IntegerField(required=False, help_text="With a 409 for a stale version."),
    },
)


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """OpenAPI entries for the error answers of an endpoint (every one shares the shape above)."""
    descriptions = {
        400: "Invalid input: each error names the field and the problem.",
        401: "Not authenticated.",
        403: "Authenticated, but the caller's role does not allow this.",
        404: "No such resource, or not visible to the caller.",
        409: "Conflict: stale version, or a transition that is not allowed now.",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=descriptions[code]) for code in codes}


class BodilessMetadata(SimpleMetadata):
    """OPTIONS for views whose writes take no body (no ``serializer_class`` to describe): no ``actions``."""

    def determine_actions(self, request, view) -> dict[str, Any]:
        return {}


class LogEventSerializer(serializers.ModelSerializer):
    """One event of an append-only log (a story's or a deliverable's): its field, from and to values, the
    actor by username and the time. Subclasses name the model and the fields in their ``Meta``."""

    field = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField()

    def get_field(self, event: Any) -> str | None:
        return event.field or None

    def get_actor(self, event: Any) -> str | None:
        return event.actor.username if event.actor_id else None


# "from" is a Python keyword, so these two are declared after the class body; subclasses inherit them.
LogEventSerializer._declared_fields["from"] = serializers.JSONField(source="from_value")
LogEventSerializer._declared_fields["to"] = serializers.JSONField(source="to_value")
