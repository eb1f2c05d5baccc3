from django.contrib import admin

from apps.web.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued on the account page (the key is shown once there); here they can be seen and revoked."""

    list_display = ("hint", "name", "user", "created_at", "last_used_at")
    search_fields = ("user__username", "name", "hint")
    list_select_related = ("user",)
    readonly_fields = ("user", "name", "hint", "key_hash", "created_at", "last_used_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
