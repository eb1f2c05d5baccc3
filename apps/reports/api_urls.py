from django.urls import path

from apps.reports import api

urlpatterns = [
    path("sprints/<int:sprint_id>/report/", api.SprintReport.as_view(), name="api-sprint-report"),
    path("projects/<str:key>/reports/flow/", api.FlowReport.as_view(), name="api-report-flow"),
    path("projects/<str:key>/reports/velocity/", api.VelocityReport.as_view(), name="api-report-velocity"),
    path("projects/<str:key>/reports/waste/", api.WasteReport.as_view(), name="api-report-waste"),
    path("projects/<str:key>/reports/forecast/", api.ForecastReport.as_view(), name="api-report-forecast"),
    path("projects/<str:key>/reports/dataops/", api.DataOpsReport.as_view(), name="api-report-dataops"),
]
