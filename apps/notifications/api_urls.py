from django.urls import path

from apps.notifications import api

urlpatterns = [
    path("notifications/", api.NotificationList.as_view(), name="api-notifications"),
    path("notifications/read/", api.NotificationsRead.as_view(), name="api-notifications-read"),
    path("stories/<str:story_key>/watchers/", api.StoryWatchers.as_view(), name="api-story-watchers"),
]
