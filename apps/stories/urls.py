from django.urls import path

from apps.stories import views

urlpatterns = [
    path("p/<str:key>/backlog/", views.backlog, name="project-backlog"),
    path("p/<str:key>/board/", views.board, name="project-board"),
    path("p/<str:key>/sprints/", views.sprints, name="project-sprints"),
]
