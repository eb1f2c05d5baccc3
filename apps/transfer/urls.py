from django.urls import path

from apps.transfer import views

urlpatterns = [
    path("p/<str:key>/backlog/export.csv", views.backlog_csv, name="project-backlog-csv"),
    path("p/<str:key>/sprints/<int:sprint_id>/export.csv", views.sprint_csv, name="project-sprint-csv"),
    path("p/<str:key>/settings/backup/", views.project_backup, name="project-backup"),
    path("p/<str:key>/settings/restore/", views.project_restore, name="project-restore"),
]
