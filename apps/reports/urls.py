from django.urls import path

from apps.reports import views

urlpatterns = [
    path("p/<str:key>/reports/", views.reports_index, name="project-reports"),
    path("p/<str:key>/reports/sprints/<int:sprint_id>/", views.sprint_report, name="report-sprint"),
    path("p/<str:key>/reports/flow/", views.flow_report, name="report-flow"),
    path("p/<str:key>/reports/velocity/", views.velocity_report, name="report-velocity"),
    path("p/<str:key>/reports/forecast/", views.forecast_report, name="report-forecast"),
    path("p/<str:key>/reports/waste/", views.waste_report, name="report-waste"),
    path("p/<str:key>/reports/dataops/", views.dataops_report, name="report-dataops"),
    path("p/<str:key>/reports/status/<int:report_id>/", views.report_status, name="report-status"),
    path("p/<str:key>/reports/queue/<int:report_id>/", views.report_queue, name="report-queue"),
]
