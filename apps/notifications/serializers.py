from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api_base import StrictSerializer, id_field
from apps.notifications.models import Notification, Watch

MAX_IDS = 1000


class NotificationSerializer(serializers.ModelSerializer):
    read = serializers.BooleanField()
    actor = serializers.SerializerMethodField()
    story = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "read", "created_at", "actor", "story", "text", "url"]

    def get_actor(self, notification: Notification) -> str | None:
        return notification.actor.get_username() if notification.actor else None

    def get_story(self, notification: Notification) -> str | None:
        return notification.story.key if notification.story else None


@extend_schema_field({"type": "boolean", "enum": [True]})
class AllField(serializers.BooleanField):
    """``"all": true``; false would ask for nothing (the serializer refuses it)."""


class MarkReadSerializer(StrictSerializer):
    one_of = ("ids", "all")
    ids = serializers.ListField(child=id_field(), max_length=MAX_IDS, required=False)
    all = AllField(required=False)

    def validate(self, data: dict) -> dict:
        if ("ids" in data) == bool(data.get("all")):
            raise serializers.ValidationError({"ids": ['Send either "ids": [...] or "all": true.']}, code="ids_or_all")
        return data


class NotificationFilterSerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, default=False, help_text="true (or 1): only the unread ones.")


class WatcherSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")

    class Meta:
        model = Watch
        fields = ["user", "created_at"]


class WatchStateSerializer(serializers.Serializer):
    watching = serializers.BooleanField()
    count = serializers.IntegerField()
