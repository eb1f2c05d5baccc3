"""Admin for requests: a read-only view; triage happens on the Requests page and the API (through the services)."""

from __future__ import annotations

from django.contrib import admin

from apps.intake.models import Request


@admin.register(Request)
class RequestAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "project", "status", "channel", "requester", "created_at")
    list_filter = ("project", "status", "channel")
    search_fields = ("title", "detail")
    readonly_fields = [f.name for f in Request._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
