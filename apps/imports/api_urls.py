from django.urls import path

from apps.imports import api

urlpatterns = [
    path("projects/<str:key>/imports/", api.ImportList.as_view(), name="api-imports"),
    path("projects/<str:key>/imports/csv-preview/", api.CsvPreview.as_view(), name="api-import-csv-preview"),
    path("imports/<int:import_id>/", api.ImportDetail.as_view(), name="api-import"),
    path("imports/<int:import_id>/confirm/", api.ImportConfirm.as_view(), name="api-import-confirm"),
]
