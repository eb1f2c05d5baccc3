from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict

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
