"""/api/v1/: stakeholder requests, their triage, and the "most asked for" groups."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status

from apps.core.api_base import StrictSerializer, id_field
from apps.core.api_support import error_responses
from apps.core.errors import InvalidInput
from apps.intake import selectors, services
from apps.intake.models import Channel, Request, RequestStatus
from apps.projects.api_base import ApiView
from apps.projects.models import Role
from apps.stories import services as story_services
from apps.stories.selectors import resolve_placement
from apps.stories.serializers import PlacementSerializer, resolve_destination
from sprintboard import intake

GROUPING = (
    "Open requests grouped by text similarity, computed in sprintboard/intake.py (no external service): each title "
    "is lower-cased, split into words, stripped of stop words and one-letter words and lightly stemmed (one common "
    "English suffix removed); a title of fewer than two words borrows its detail's words. Two requests are similar "
    f"when the Jaccard index of their word sets is at least {intake.THRESHOLD}; groups are single-link clusters (the "
    "connected components of that relation), largest first. A group's title is its representative's: the request "
    "most similar to the rest of its group. `requesters` lists everyone who asked, including the requesters of "
    "requests merged into the group's requests (a member by username, an e-mail sender who is not a member by "
    "address). Groups span every channel: `asks` counts the group's requests and those merged into them, and "
    "`channels` splits those asks by the channel they came from (web, email, chat, ...), most first."
)

# --- Serializers ---------------------------------------------------------------------


class RequestSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.key", read_only=True)
    requester = serializers.SerializerMethodField()
    story = serializers.SerializerMethodField()
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)

    class Meta:
        model = Request
        fields = [
            "id",
            "project",
            "title",
            "detail",
            "channel",
            "status",
            "requester",
            "requester_email",
            "requester_name",
            "story",
            "merged_into",
            "decline_reason",
            "created_at",
            "decided_at",
        ]
        extra_kwargs = {
            "requester_name": {"help_text": "Who asked when they are no member (a Slack user): `requester` is null."}
        }

    def get_requester(self, request: Request) -> str | None:
        return request.requester.username if request.requester else None

    def get_story(self, request: Request) -> str | None:
        return request.story.key if request.story else None


class RequestCreateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=services.TITLE_MAX)
    detail = serializers.CharField(max_length=services.DETAIL_MAX, allow_blank=True, required=False, default="")
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.WEB)


class RequestAcceptSerializer(PlacementSerializer):
    """The same placement fields as a move; all optional: the default is the bottom of the backlog."""

    one_of_required = False

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not any(name in data for name in ("before", "after", "position")):
            data["position"] = "bottom"
        return super().validate(data)


class RequestMergeSerializer(StrictSerializer):
    into = id_field()


class RequestDeclineSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=services.REASON_MAX)


class RequestFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RequestStatus.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, help_text="Only the asks of a channel.")
    mine = serializers.BooleanField(required=False, default=False)


class GroupSerializer(serializers.Serializer):
    title = serializers.CharField(help_text="The representative request's title.")
    representative = serializers.IntegerField(help_text="The id of the request most similar to the rest of its group.")
    count = serializers.IntegerField(help_text="How many open requests the group holds.")
    requesters = serializers.ListField(child=serializers.CharField(), help_text="Everyone who asked, distinct.")
    requests = serializers.ListField(child=serializers.IntegerField(), help_text="The open requests' ids.")
    asks = serializers.IntegerField(help_text="The group's requests and the requests merged into them.")
    channels = serializers.DictField(
        child=serializers.IntegerField(),
        help_text='Asks per channel they came from, most first, e.g. {"email": 3, "web": 1}.',
    )


# --- Views ---------------------------------------------------------------------------


class RequestScoped(ApiView):
    serializer_class = RequestSerializer

    def item(self, request_id: int, minimum: str = Role.STAKEHOLDER) -> Request:
        rows = Request.objects.select_related("requester", "story")
        return self.scoped(rows, minimum, missing=f"There is no request {request_id}.", pk=request_id)

    def fresh(self, item: Request):
        return self.answer(Request.objects.select_related("project", "requester", "story").get(pk=item.pk))


class RequestList(ApiView):
    serializer_class = RequestSerializer

    @extend_schema(
        summary="A project's requests, newest first (everyone in the project sees all of them)",
        parameters=[RequestFilterSerializer],
        responses={200: RequestSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request, key):
        project = self.project(key)
        filters = RequestFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        requests = selectors.project_requests(
            project, status=filters.validated_data.get("status"), channel=filters.validated_data.get("channel")
        )
        if filters.validated_data["mine"]:
            requests = requests.filter(requester=request.user)
        return self.paginated(requests.select_related("project"))

    @extend_schema(
        summary="Submit a request (any member, stakeholders included): it lands in the triage queue as open",
        request=RequestCreateSerializer,
        responses={201: RequestSerializer, **error_responses(400, 401, 404)},
    )
    def post(self, request, key):
        project = self.project(key)
        created = services.request_submit(
            project=project, requester=request.user, **self.valid(RequestCreateSerializer, request)
        )
        return self.answer(created, status.HTTP_201_CREATED)


class RequestGroups(ApiView):
    serializer_class = GroupSerializer

    @extend_schema(
        summary='"Most asked for": open requests grouped by similarity, largest group first',
        description=GROUPING,
        responses={200: GroupSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request, key):
        groups = selectors.request_groups(self.project(key))
        page = self.paginate_queryset(groups) or []
        return self.get_paginated_response([asdict(group) for group in page])


class RequestDetail(RequestScoped):
    @extend_schema(summary="A request", responses={200: RequestSerializer, **error_responses(401, 404)})
    def get(self, request, request_id):
        return self.answer(self.item(request_id))


class RequestAccept(RequestScoped):
    @extend_schema(
        summary="Accept a request (product owner): a story is created from it and linked to it and its requester",
        description=(
            'The same placement fields as a story move ("before", "after" or "position", and "sprint": an id, or '
            "null/absent for the backlog); the default is the bottom of the backlog. The active sprint is refused "
            "(400): stakeholders' asks never derail the running sprint. A request that is not open is a 409."
        ),
        request=RequestAcceptSerializer,
        responses={200: RequestSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, request_id):
        data = self.valid(RequestAcceptSerializer, request)  # the body's shape first: it says nothing about the request
        item = self.item(request_id, Role.PRODUCT_OWNER)
        placement = resolve_placement(item.project, data)
        sprint = resolve_destination(item.project, data)
        sprint = None if sprint is story_services.UNSET else sprint
        return self.fresh(services.request_accept(request=item, actor=request.user, placement=placement, sprint=sprint))


class RequestMerge(RequestScoped):
    @extend_schema(
        summary="Merge a request into another open or accepted request of the project (product owner)",
        request=RequestMergeSerializer,
        responses={200: RequestSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, request_id):
        into_id = self.valid(RequestMergeSerializer, request)["into"]
        item = self.item(request_id, Role.PRODUCT_OWNER)
        into = Request.objects.filter(project=item.project, pk=into_id).first()
        if into is None:
            raise InvalidInput(f"{item.project.key} has no request {into_id}.", field="into")
        return self.fresh(services.request_merge(request=item, into=into, actor=request.user))


class RequestDecline(RequestScoped):
    @extend_schema(
        summary="Decline a request with a reason the requester will see (product owner)",
        request=RequestDeclineSerializer,
        responses={200: RequestSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, request_id):
        reason = self.valid(RequestDeclineSerializer, request)["reason"]
        item = self.item(request_id, Role.PRODUCT_OWNER)
        return self.fresh(services.request_decline(request=item, actor=request.user, reason=reason))
