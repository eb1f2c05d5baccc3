"""The OpenAPI schema's generator: drf-spectacular's, and what every endpoint of a kind shares.

(Its own module: drf-spectacular imports DRF's generic views, which import the pagination class
from ``api_support``.)

What it adds, so the schema says what the API does (schemathesis checks it against a live server):
- a request body read by a ``StrictSerializer`` has ``additionalProperties: false`` (an unknown field is a 400)
  and its ``one_of`` as ``oneOf`` (or ``not``/``anyOf`` for "at most one");
- a request body's text field that DRF trims and that may not be blank has ``pattern: \\S`` unless it has
  its own regex (DRF strips the whitespace, so " " or "\\n" is as blank as "" and a 400);
- a text query parameter has ``minLength: 1`` (an empty one is a 400, as every query parameter, see
  ``api_support.check_query``);
- a view with ``CsvDownloads`` documents its ``?format=csv`` answer as ``text/csv``;
- every paginated list documents the 400 of a bad ``page`` or ``page_size`` and the 404 past the last page;
- every throttled operation documents its 429;
- every operation documents the 414 the web server (gunicorn) answers, as HTML and before the API sees the
  request, when the request line is longer than it accepts (``limit_request_line``, 4,094 bytes by default).
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular import openapi
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import Direction, OpenApiResponse
from rest_framework import serializers

from apps.core.api_base import StrictSerializer
from apps.core.api_support import CsvDownloads, ErrorSerializer

THROTTLED = "Too many requests from this user or address: the Retry-After header says in how many seconds to retry."
PAGE_ERRORS = {
    "400": "Invalid input: each error names the field and the problem (a page or page_size out of range too).",
    "404": "No such resource, or not visible to the caller; or a page past the last one.",
}
NOT_BLANK = r"\S"  # at least one character that is not whitespace: what is left once DRF has trimmed it
CSV_CONTENT = {"text/csv": {"schema": {"type": "string", "description": "With format=csv: the list as a CSV file."}}}


URI_TOO_LONG = {
    "description": "The path and query string are longer than the web server accepts (4,094 bytes with the "
    "chart's gunicorn): answered by the server itself, as an HTML page, before the API reads the request.",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


class AutoSchema(openapi.AutoSchema):
    def _map_basic_serializer(self, serializer: Any, direction: Direction) -> dict[str, Any]:
        schema = super()._map_basic_serializer(serializer, direction)
        serializer = force_instance(serializer)
        if direction == "request" and isinstance(serializer, StrictSerializer):
            schema["additionalProperties"] = False
            names = serializer.one_of
            if names and serializer.one_of_required:
                schema["oneOf"] = [{"required": [name]} for name in names]
            elif names:
                pairs = [[a, b] for index, a in enumerate(names) for b in names[index + 1 :]]
                schema["not"] = {"anyOf": [{"required": pair} for pair in pairs]}
        return schema

    def _map_serializer_field(self, field: Any, direction: Direction, bypass_extensions: bool = False) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and field.trim_whitespace
            and not field.allow_blank
            and isinstance(schema, dict)
            and schema.get("type") == "string"
            and not {"pattern", "format", "enum"} & schema.keys()
            and not any(isinstance(validator, RegexValidator) for validator in field.validators)
        ):  # a field's own regex (added after this, if the schema has no pattern yet) says what it accepts
            schema["pattern"] = NOT_BLANK
        return schema

    def _get_request_for_media_type(self, serializer: Any, direction: Direction = "request") -> Any:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        serializer = force_instance(serializer)
        if isinstance(serializer, StrictSerializer) and serializer.one_of and serializer.one_of_required:
            required = True  # an empty body gives none of them
        return schema, required

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters = super()._get_parameters()
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if parameter["in"] == "query" and schema.get("type") == "string" and "enum" not in schema:
                schema.setdefault("minLength", 1)
        return parameters

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        ok = responses.get("200", {}).get("content", {})
        if (
            str(ok.get("application/json", {}).get("schema", {}).get("$ref", ""))
            .rsplit("/", 1)[-1]
            .startswith("Paginated")
        ):
            for code, description in PAGE_ERRORS.items():
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code, direction=direction
                )
        if self.method == "GET" and ok and issubclass(self.view.content_negotiation_class, CsvDownloads):
            ok.update(CSV_CONTENT)
        if self.view.throttle_classes:
            responses["429"] = self._get_response_for_code(
                OpenApiResponse(ErrorSerializer, description=THROTTLED), "429", direction=direction
            )
        responses["414"] = URI_TOO_LONG
        return responses
