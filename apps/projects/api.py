"""/api/v1/projects/: projects, members and workflow states."""

from __future__ import annotations

import zoneinfo

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.api_base import StrictSerializer
from apps.core.api_support import error_responses
from apps.core.errors import InvalidInput
from apps.core.http import user_of
from apps.projects import services
from apps.projects.api_base import ApiView
from apps.projects.models import Category, Membership, Project, Role, WipPolicy, WorkflowState
from apps.projects.selectors import projects_for

TIMEZONES = sorted(zoneinfo.available_timezones())


# --- Serializers -----------------------------------------------------------------


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["key", "name", "sprint_length_days", "timezone", "wip_policy", "created_at", "role"]

    def get_role(self, project: Project) -> str | None:
        roles = self.context.get("roles") or {}
        return roles.get(project.pk)


class ProjectCreateSerializer(StrictSerializer):
    key = serializers.RegexField(
        r"^[A-Z]{2,10}$",
        max_length=10,
        error_messages={"invalid": "A project key is 2 to 10 capital letters, such as DATA."},
    )
    name = serializers.CharField(max_length=200)
    sprint_length_days = serializers.IntegerField(min_value=1, max_value=90, default=14)
    timezone = serializers.ChoiceField(choices=TIMEZONES, default="UTC")
    wip_policy = serializers.ChoiceField(choices=WipPolicy.choices, default=WipPolicy.WARN)


class ProjectUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    sprint_length_days = serializers.IntegerField(min_value=1, max_value=90, required=False)
    timezone = serializers.ChoiceField(choices=TIMEZONES, required=False)
    wip_policy = serializers.ChoiceField(choices=WipPolicy.choices, required=False)


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["username", "role"]


class MemberAddSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class MemberChangeSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class StateSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkflowState
        fields = ["id", "name", "category", "position", "wip_limit"]


class StateInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=60, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    position = serializers.IntegerField(min_value=0, max_value=1000, required=False)
    wip_limit = serializers.IntegerField(min_value=1, max_value=100_000, allow_null=True, required=False)


class StateCreateSerializer(StateInputSerializer):
    name = serializers.CharField(max_length=60)
    category = serializers.ChoiceField(choices=Category.choices)


# --- Views -----------------------------------------------------------------------


class ProjectList(ApiView):
    serializer_class = ProjectSerializer

    def get_serializer_context(self):
        roles = dict(Membership.objects.filter(user=user_of(self.request)).values_list("project_id", "role"))
        return {**super().get_serializer_context(), "roles": roles}

    @extend_schema(
        summary="The caller's projects", responses={200: ProjectSerializer(many=True), **error_responses(401)}
    )
    def get(self, request):
        return self.paginated(projects_for(request.user))

    @extend_schema(
        summary="Create a project (the creator becomes its admin)",
        request=ProjectCreateSerializer,
        responses={201: ProjectSerializer, **error_responses(400, 401, 409)},
    )
    def post(self, request):
        project = services.project_create(creator=request.user, **self.valid(ProjectCreateSerializer, request))
        return self.answer(project, status.HTTP_201_CREATED)


class ProjectDetail(ApiView):
    serializer_class = ProjectSerializer

    def get_serializer_context(self):
        membership = getattr(self, "membership", None)
        roles = {membership.project_id: membership.role} if membership else {}
        return {**super().get_serializer_context(), "roles": roles}

    @extend_schema(summary="A project", responses={200: ProjectSerializer, **error_responses(401, 404)})
    def get(self, request, key):
        return self.answer(self.project(key))

    @extend_schema(
        summary="Change a project's settings (admin)",
        request=ProjectUpdateSerializer,
        responses={200: ProjectSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request, key):
        project = self.project(key, Role.ADMIN)
        return self.answer(services.project_update(project=project, **self.valid(ProjectUpdateSerializer, request)))


class MemberList(ApiView):
    serializer_class = MemberSerializer

    @extend_schema(
        summary="Members and their roles", responses={200: MemberSerializer(many=True), **error_responses(401, 404)}
    )
    def get(self, request, key):
        project = self.project(key)
        return self.paginated(
            Membership.objects.filter(project=project).select_related("user").order_by("user__username")
        )

    @extend_schema(
        summary="Add a member (admin)",
        request=MemberAddSerializer,
        responses={201: MemberSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, key):
        project = self.project(key, Role.ADMIN)
        data = self.valid(MemberAddSerializer, request)
        user = get_user_model().objects.filter(username=data["username"], is_active=True).first()
        if user is None:
            raise InvalidInput(f"There is no user {data['username']}.", field="username")
        return self.answer(
            services.membership_add(project=project, user=user, role=data["role"]), status.HTTP_201_CREATED
        )


class MemberDetail(ApiView):
    serializer_class = MemberSerializer

    def member(self, key: str, username: str, minimum: str) -> Membership:
        rows = Membership.objects.select_related("user", "project")
        missing = f"{username} is not a member of {{project}}."
        return self.scoped(rows, minimum, missing=missing, project_key=key, user__username=username)

    @extend_schema(summary="A member", responses={200: MemberSerializer, **error_responses(401, 404)})
    def get(self, request, key, username):
        return self.answer(self.member(key, username, Role.STAKEHOLDER))

    @extend_schema(
        summary="Change a member's role (admin)",
        request=MemberChangeSerializer,
        responses={200: MemberSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request, key, username):
        membership = self.member(key, username, Role.ADMIN)
        role = self.valid(MemberChangeSerializer, request)["role"]
        return self.answer(services.membership_change_role(membership=membership, role=role))

    @extend_schema(summary="Remove a member (admin)", responses={204: None, **error_responses(401, 403, 404, 409)})
    def delete(self, request, key, username):
        services.membership_remove(membership=self.member(key, username, Role.ADMIN))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StateList(ApiView):
    serializer_class = StateSerializer

    @extend_schema(
        summary="The workflow, in order", responses={200: StateSerializer(many=True), **error_responses(401, 404)}
    )
    def get(self, request, key):
        return self.paginated(WorkflowState.objects.filter(project=self.project(key)).order_by("position", "id"))

    @extend_schema(
        summary="Add a workflow state (admin)",
        request=StateCreateSerializer,
        responses={201: StateSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, key):
        project = self.project(key, Role.ADMIN)
        state = services.state_add(project=project, **self.valid(StateCreateSerializer, request))
        state.refresh_from_db()
        return self.answer(state, status.HTTP_201_CREATED)


class StateDetail(ApiView):
    serializer_class = StateSerializer

    def state(self, key: str, state_id: int, minimum: str) -> WorkflowState:
        missing = f"{{project}} has no state {state_id}."
        return self.scoped(WorkflowState.objects.all(), minimum, missing=missing, project_key=key, pk=state_id)

    @extend_schema(summary="A workflow state", responses={200: StateSerializer, **error_responses(401, 404)})
    def get(self, request, key, state_id):
        return self.answer(self.state(key, state_id, Role.STAKEHOLDER))

    @extend_schema(
        summary="Rename, recategorise, reorder or limit a state (admin)",
        request=StateInputSerializer,
        responses={200: StateSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request, key, state_id):
        state = self.state(key, state_id, Role.ADMIN)
        data = self.valid(StateInputSerializer, request)
        services.state_update(state=state, wip_limit=data.pop("wip_limit", ...), **data)
        state.refresh_from_db()
        return self.answer(state)

    @extend_schema(
        summary="Delete a state (admin): empty, or with ?move_to=<state id> to move its stories (deleted ones too) first",
        parameters=[
            OpenApiParameter(
                "move_to",
                {"type": "integer", "minimum": 1},
                required=False,
                description="The state that takes its stories",
            )
        ],
        responses={204: None, **error_responses(400, 401, 403, 404, 409)},
    )
    def delete(self, request, key, state_id):
        state = self.state(key, state_id, Role.ADMIN)
        move_to = None
        if "move_to" in request.query_params:
            move_to = WorkflowState.objects.filter(
                project=state.project_id, pk=_state_id(request.query_params["move_to"])
            ).first()
            if move_to is None:
                raise InvalidInput(f"{state.project.key} has no such state to move the stories to.", field="move_to")
        services.state_delete(state=state, move_to=move_to, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _state_id(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput("move_to must be the id of a state.", field="move_to")
    return int(value)
