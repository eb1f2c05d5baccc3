"""Project-wide middleware of the pages."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

LAST_PAGE_COOKIE = "sb_last_page"
LAST_PAGE_DAYS = 90


class LastPageMiddleware:
    """Remember the last project page a person opened in this browser (a cookie that outlives the session),
    so the next login lands there (``apps.projects.views.start``, which checks the person may still see it).

    Only whole pages count: a navigation that answered 200 with HTML, not htmx swaps, polls or fetches.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self._is_a_project_page(request, response):
            response.set_cookie(
                LAST_PAGE_COOKIE,
                request.get_full_path()[:500],
                max_age=LAST_PAGE_DAYS * 24 * 3600,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    @staticmethod
    def _is_a_project_page(request: HttpRequest, response: HttpResponse) -> bool:
        return (
            request.method == "GET"
            and response.status_code == 200
            and request.path.startswith("/p/")
            and not request.path.endswith("/live/")
            and request.headers.get("Sec-Fetch-Mode", "navigate") == "navigate"
            and "HX-Request" not in request.headers
            and response.get("Content-Type", "").startswith("text/html")
            and getattr(request, "user", None) is not None
            and request.user.is_authenticated
        )
