"""The OpenAPI schema's generator: drf-spectacular's, and what every endpoint of a kind shares.

(Its own module: drf-spectacular imports DRF's generic views, which import the pagination class
from ``api_support``.)
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import Direction, OpenApiResponse

from apps.core.api_support import ErrorSerializer

THROTTLED = "Too many requests from this user or address: the Retry-After header says in how many seconds to retry."
PAGE_ERRORS = {
    "400": "Invalid input: each error names the field and the problem (a page that is not a whole number too).",
    "404": "No such resource, or not visible to the caller; or a page past the last one.",
}


class AutoSchema(openapi.AutoSchema):
    """Every operation documents the 429 of throttling; every paginated list the answers of a bad
    ``page``: 400 for one that is not a number, 404 for one past the last page."""

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        ok = responses.get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
        if str(ok.get("$ref", "")).rsplit("/", 1)[-1].startswith("Paginated"):
            for code, description in PAGE_ERRORS.items():
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code, direction=direction
                )
        if self.view.throttle_classes:
            responses["429"] = self._get_response_for_code(
                OpenApiResponse(ErrorSerializer, description=THROTTLED), "429", direction=direction
            )
        return responses
