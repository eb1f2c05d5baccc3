from django.urls import path

from apps.imports import views

urlpatterns = [
    path("p/<str:key>/imports/", views.import_index, name="project-imports"),
    path("p/<str:key>/imports/csv-preview/", views.csv_preview, name="project-import-csv-preview"),
    path("p/<str:key>/imports/<int:import_id>/", views.import_detail, name="project-import"),
    path("p/<str:key>/imports/<int:import_id>/confirm/", views.import_confirm, name="project-import-confirm"),
    path("p/<str:key>/imports/<int:import_id>/status/", views.import_status, name="project-import-status"),
]
