from django.urls import path

from apps.intake import api

urlpatterns = [
    path("projects/<str:key>/requests/", api.RequestList.as_view(), name="api-requests"),
    path("projects/<str:key>/requests/groups/", api.RequestGroups.as_view(), name="api-request-groups"),
    path("requests/<int:request_id>/", api.RequestDetail.as_view(), name="api-request"),
    path("requests/<int:request_id>/accept/", api.RequestAccept.as_view(), name="api-request-accept"),
    path("requests/<int:request_id>/merge/", api.RequestMerge.as_view(), name="api-request-merge"),
    path("requests/<int:request_id>/decline/", api.RequestDecline.as_view(), name="api-request-decline"),
]
