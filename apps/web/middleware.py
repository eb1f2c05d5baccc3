from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


class RejectNulBytesMiddleware:
    """A NUL byte in the path or query can never name anything, and PostgreSQL refuses it in text: 400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any("\x00" in key or "\x00" in value for key, value in request.GET.items()):
            error = {"field": None, "code": "invalid", "message": "The address contains a NUL byte."}
            return JsonResponse({"errors": [error]}, status=400)
        return self.get_response(request)
