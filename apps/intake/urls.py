from django.urls import path

from apps.intake import views

urlpatterns = [
    path("p/<str:key>/requests/", views.requests_page, name="project-requests"),
    path("p/<str:key>/requests/mine/", views.my_requests, name="project-my-requests"),
    path("p/<str:key>/requests/groups/", views.group_triage, name="project-request-group"),
    path("requests/follow/<str:token>/", views.follow, name="request-follow"),
    path("p/<str:key>/requests/<int:request_id>/<str:action>/", views.triage, name="project-request-triage"),
]
