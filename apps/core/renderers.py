"""The API's HTML renderer, in a module of its own: DRF reads DEFAULT_RENDERER_CLASSES while it defines
``APIView``, so this module must not import ``rest_framework.views`` (api_support does: a circular import
whenever api_support is the first to load DRF's views, as in a Celery worker)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from csp.constants import UNSAFE_INLINE
from rest_framework.renderers import BrowsableAPIRenderer


class BrowsableApi(BrowsableAPIRenderer):
    """DRF's HTML pages for the API, under the Content-Security-Policy: their templates lay out with style
    attributes, so these pages alone may have them (style-src-attr); their scripts are files, as everywhere."""

    def get_filter_form(self, data: Any, view: Any, request: Any) -> None:
        """No filter form: the views filter with their own parameters (documented in the schema) and have no
        ``queryset`` for DRF's filter backends to read, which made every list endpoint a 500 in a browser."""
        return None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = {"style-src-attr": [UNSAFE_INLINE]}  # read by django-csp's middleware
        return super().render(data, accepted_media_type, renderer_context)
