"""Admin: read-only views of notifications and watchers (they are written by the services)."""

from __future__ import annotations

from django.contrib import admin

from apps.notifications.models import Notification, NotificationPreference, Watch


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnly):
    list_display = ("id", "user", "kind", "text", "created_at", "read_at", "delivery", "emailed_at")
    list_filter = ("kind", "delivery")
    search_fields = ("text", "user__username")


@admin.register(Watch)
class WatchAdmin(ReadOnly):
    list_display = ("story", "user", "created_at")
    search_fields = ("story__key", "user__username")


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnly):
    list_display = ("user", "kind", "delivery", "in_app")
