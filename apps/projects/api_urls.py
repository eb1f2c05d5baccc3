from django.urls import path

from apps.projects import api

urlpatterns = [
    path("projects/", api.ProjectList.as_view(), name="api-projects"),
    path("projects/<str:key>/", api.ProjectDetail.as_view(), name="api-project"),
    path("projects/<str:key>/members/", api.MemberList.as_view(), name="api-members"),
    path("projects/<str:key>/members/<str:username>/", api.MemberDetail.as_view(), name="api-member"),
    path("projects/<str:key>/states/", api.StateList.as_view(), name="api-states"),
    path("projects/<str:key>/states/<int:state_id>/", api.StateDetail.as_view(), name="api-state"),
]
