"""/api/v1/: the caller's notifications, and a story's watchers."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from apps.core.api_support import error_responses
from apps.notifications import selectors, services
from apps.notifications import serializers as s
from apps.projects.api_base import ApiView
from apps.stories.api import StoryScoped


class NotificationList(ApiView):
    serializer_class = s.NotificationSerializer

    @extend_schema(
        summary="My notifications, newest first",
        parameters=[s.NotificationFilterSerializer],
        responses={200: s.NotificationSerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request):
        filters = s.NotificationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.paginated(selectors.notifications_for(request.user, unread=filters.validated_data["unread"]))


class NotificationsRead(ApiView):
    serializer_class = s.MarkReadSerializer

    @extend_schema(
        summary="Mark some or all of my notifications read",
        request=s.MarkReadSerializer,
        responses={200: {"type": "object", "properties": {"marked": {"type": "integer"}}}, **error_responses(400, 401)},
    )
    def post(self, request):
        data = self.valid(s.MarkReadSerializer, request)
        marked = services.notifications_mark_read(user=request.user, ids=data.get("ids"))
        return Response({"marked": marked})


class StoryWatchers(StoryScoped):
    serializer_class = s.WatcherSerializer

    @extend_schema(
        summary="A story's watchers", responses={200: s.WatcherSerializer(many=True), **error_responses(401, 404)}
    )
    def get(self, request, story_key):
        return self.paginated(selectors.story_watchers(self.story(story_key)))

    @extend_schema(
        summary="Watch a story (stakeholder)",
        request=None,
        responses={200: s.WatchStateSerializer, **error_responses(401, 404)},
    )
    def post(self, request, story_key):
        story = self.story(story_key)
        services.watch_add(story=story, user=request.user)
        return self._state(story)

    @extend_schema(
        summary="Stop watching a story",
        request=None,
        responses={200: s.WatchStateSerializer, **error_responses(401, 404)},
    )
    def delete(self, request, story_key):
        story = self.story(story_key)
        services.watch_remove(story=story, user=request.user)
        return self._state(story)

    def _state(self, story) -> Response:
        return Response(s.WatchStateSerializer(selectors.watch_state(story, self.request.user)).data)
