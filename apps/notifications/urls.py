from django.urls import path

from apps.notifications import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notification-list"),
    path("notifications/bell/", views.bell, name="notifications-bell"),
    path("notifications/read/", views.mark_read, name="notifications-read"),
    path("notifications/<int:notification_id>/open/", views.open_notification, name="notification-open"),
    path("notifications/settings/", views.notification_settings, name="notification-settings"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="notifications-unsubscribe"),
    path("p/<str:key>/stories/<str:story_key>/watch/", views.watch_toggle, name="story-watch"),
]
