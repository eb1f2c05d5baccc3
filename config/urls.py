from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.stories.views import board

urlpatterns = [
    # The live board's poll is most requests (every open board, every 1.5 s): first, so resolving it does not try
    # the routes of every app before it (and list each one tried, as Django's resolver does for its 404 page).
    path("p/<str:key>/board/live/", board.board_live, name="project-board-live"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its set-up script as a file (/api/docs/?script=): the CSP refuses inline scripts.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="web/swagger_ui.html"),
        name="api-docs",
    ),
    path("api/v1/", include("config.api_urls")),
    path("", include("apps.web.urls")),
    path("", include("apps.projects.urls")),
    path("", include("apps.deliverables.urls")),
    path("", include("apps.stories.urls")),
    path("", include("apps.intake.urls")),
    path("", include("apps.reports.urls")),
    path("", include("apps.imports.urls")),
    path("", include("apps.transfer.urls")),
    path("", include("apps.webhooks.urls")),
    path("", include("apps.notifications.urls")),
    path("", include("apps.integrations.urls")),
]

# Under /api/ every error answers the API's JSON error shape; pages keep Django's.
handler400 = "apps.core.handlers.bad_request"
handler403 = "apps.core.handlers.permission_denied"
handler404 = "apps.core.handlers.page_not_found"
handler500 = "apps.core.handlers.server_error"
