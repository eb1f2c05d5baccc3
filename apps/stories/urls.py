from django.urls import path

from apps.stories.views import backlog, board, sprints

urlpatterns = [
    # backlog and story pages
    path("p/<str:key>/backlog/", backlog.backlog, name="project-backlog"),
    # board
    path("p/<str:key>/board/", board.board, name="project-board"),
    # sprints
    path("p/<str:key>/sprints/", sprints.sprints, name="project-sprints"),
]
