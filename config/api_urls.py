"""/api/v1/: each app contributes its routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("apps.projects.api_urls")),
    path("", include("apps.deliverables.api_urls")),
    path("", include("apps.stories.api_urls")),
    path("", include("apps.intake.api_urls")),
    path("", include("apps.reports.api_urls")),
    path("", include("apps.imports.api_urls")),
    path("", include("apps.webhooks.api_urls")),
    path("", include("apps.notifications.api_urls")),
    path("", include("apps.integrations.api_urls")),
    path("", include("apps.web.api_urls")),
]
