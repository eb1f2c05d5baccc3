"""/api/v1/: a project's integrations (admins), and the receivers the code hosts and Slack call.

``GET``/``PATCH /projects/{KEY}/integrations/`` read and change the settings: ``rotate_secret: true`` makes a
new code-host secret, shown in that answer only; ``opened_state`` / ``merged_state`` are the ids of the
states a story moves to when its pull/merge request opens / merges (null: no move);
``slack_signing_secret`` is the Slack app's signing secret (write-only; ``""`` turns ``/ask`` off);
``slack_users`` maps Slack user ids to members' usernames.

The receivers take no session or token: a delivery proves itself with its signature (GitHub
``X-Hub-Signature-256``, GitLab ``X-Gitlab-Token``, Slack ``X-Slack-Signature`` with
``X-Slack-Request-Timestamp`` no older than five minutes). An unknown project, a project without a secret, a
missing or wrong signature: 401, and nothing changes. A body that is not the event's shape, or an event not
read: 400. The README shows each sender's settings.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api_base import StrictSerializer
from apps.core.api_support import error_responses
from apps.core.errors import DomainError, InvalidInput
from apps.integrations import selectors, services, signatures
from apps.integrations.models import CodeLink, Host, Integration
from apps.projects.api_base import ApiView
from apps.projects.models import Role
from apps.stories.models import Story
from sprintboard import codehost
from sprintboard.errors import EngineError


class BadSignature(DomainError):
    status = 401
    code = "bad_signature"


class SettingsSerializer(serializers.Serializer):
    project = serializers.CharField(source="project.key")
    secret_set = serializers.BooleanField(help_text="Whether a code-host secret exists (it is shown once).")
    opened_state = serializers.IntegerField(allow_null=True, help_text="The state a story moves to when its PR opens.")
    merged_state = serializers.IntegerField(allow_null=True, help_text="The state a story moves to when its PR merges.")
    slack_signing_secret_set = serializers.BooleanField()
    slack_users = serializers.DictField(child=serializers.CharField(), help_text="Slack user id -> username.")
    github_url = serializers.CharField(help_text="GitHub's Payload URL.")
    gitlab_url = serializers.CharField(help_text="GitLab's webhook URL.")
    slack_url = serializers.CharField(help_text="The slash command's Request URL.")


class RotatedSettingsSerializer(SettingsSerializer):
    secret = serializers.CharField(
        required=False, help_text="After rotate_secret only: the new secret, shown this once."
    )


class SettingsUpdateSerializer(StrictSerializer):
    rotate_secret = serializers.BooleanField(required=False, help_text="true: a new code-host secret, shown once.")
    opened_state = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="A state id, or null for no move."
    )
    merged_state = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="A state id, or null for no move."
    )
    slack_signing_secret = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text='The Slack signing secret, or "".'
    )
    slack_users = serializers.DictField(
        child=serializers.CharField(max_length=150),
        required=False,
        help_text='{"U012AB3CD": "alice", ...}, replacing all.',
    )


class IntegrationSettings(ApiView):
    serializer_class = SettingsSerializer

    @extend_schema(
        summary="A project's integrations: code hosts and Slack (admin)",
        description=__doc__,
        responses={200: SettingsSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request, key):
        return self.answer(selectors.project_settings(self.project(key, Role.ADMIN)))

    @extend_schema(
        summary="Change a project's integrations; rotate_secret answers the new secret, once (admin)",
        request=SettingsUpdateSerializer,
        responses={200: RotatedSettingsSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request, key):
        data = self.valid(SettingsUpdateSerializer, request)
        project = self.project(key, Role.ADMIN)
        _, secret = services.integration_update(project=project, **data)
        body = SettingsSerializer(selectors.project_settings(project)).data
        return Response({**body, "secret": secret} if secret else body)


class CodeLinkSerializer(serializers.ModelSerializer):
    class Meta:
        model = CodeLink
        fields = ["host", "kind", "url", "title", "state", "created_at", "updated_at"]


class StoryCode(ApiView):
    serializer_class = CodeLinkSerializer

    @extend_schema(
        summary="The branches, commits and pull/merge requests naming a story, newest first",
        responses={200: CodeLinkSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request, story_key):
        story = self.scoped(
            Story.objects.all(), Role.STAKEHOLDER, missing=f"There is no story {story_key}.", key=story_key
        )
        return self.paginated(selectors.story_code_links(story))


# --- Receivers ------------------------------------------------------------------------------------

DeliveredSerializer = inline_serializer(
    "CodeHostDelivery",
    fields={
        "event": serializers.CharField(),
        "linked": serializers.ListField(child=serializers.CharField(), help_text="Story keys linked."),
        "moved": serializers.ListField(child=serializers.CharField(), help_text="Story keys moved."),
        "refused": serializers.ListField(
            child=serializers.DictField(), help_text="Moves the workflow refused: story, state, reason."
        ),
    },
)
SlackAnswer = inline_serializer(
    "SlackAnswer", fields={"response_type": serializers.CharField(), "text": serializers.CharField()}
)
REFUSED = "The signature does not match this project's secret."


class Receiver(APIView):
    """No session, no token, no CSRF: the signature is the authentication. The raw body is read once, here."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def integration(self, key: str) -> Integration:
        integration = selectors.receiving(key)
        if integration is None:
            raise BadSignature(REFUSED, field="signature")
        return integration


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput(
            "The body is not JSON: set the content type to application/json.", code="parse_error"
        ) from None


def _links(read: Any, event: str, payload: Any, project_key: str) -> list[codehost.CodeLink]:
    try:
        return read(event, payload, project_key=project_key)
    except codehost.UnknownEvent as exc:
        raise InvalidInput(str(exc), field="event", code="unknown_event") from None
    except EngineError as exc:
        raise InvalidInput(f"The {event} body is not valid: {exc}.", code="invalid_payload") from None


def _delivered(event: str, project: Any, host: str, links: list[codehost.CodeLink]) -> Response:
    done = services.codehost_deliver(project=project, host=host, links=links)
    return Response({"event": event, "linked": done.linked, "moved": done.moved, "refused": done.refused})


CODEHOST_RESPONSES = {
    200: OpenApiResponse(DeliveredSerializer, description="Read: the stories linked and moved (none for a ping)."),
    400: error_responses(400)[400],
    401: OpenApiResponse(error_responses(401)[401].response, description="Unknown project, or a bad signature."),
}


def _headers(**described: str) -> list[OpenApiParameter]:
    return [
        OpenApiParameter(name.replace("_", "-"), str, OpenApiParameter.HEADER, required=True, description=text)
        for name, text in described.items()
    ]


class GitHubReceiver(Receiver):
    @extend_schema(
        summary="GitHub's webhook (pull_request, push; ping): signed with X-Hub-Signature-256",
        description=__doc__,
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=_headers(
            X_GitHub_Event="pull_request, push or ping.",
            X_Hub_Signature_256="sha256= and the hex HMAC-SHA256 of the raw body, keyed with the secret.",
        ),
        responses=CODEHOST_RESPONSES,
        auth=[],
    )
    def post(self, request: Request, key: str) -> Response:
        integration = self.integration(key)
        body = request.body
        header = request.headers.get("X-Hub-Signature-256")
        if not signatures.github_valid(secret=integration.secret, body=body, header=header):
            raise BadSignature(REFUSED, field="X-Hub-Signature-256")
        event = request.headers.get("X-GitHub-Event", "")
        links = _links(codehost.github_links, event, _json(body), integration.project.key)
        return _delivered(event, integration.project, Host.GITHUB, links)


class GitLabReceiver(Receiver):
    @extend_schema(
        summary="GitLab's webhook (merge request and push events): X-Gitlab-Token is the secret",
        description=__doc__,
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=_headers(
            X_Gitlab_Event="Merge Request Hook or Push Hook.", X_Gitlab_Token="The project's code-host secret."
        ),
        responses=CODEHOST_RESPONSES,
        auth=[],
    )
    def post(self, request: Request, key: str) -> Response:
        integration = self.integration(key)
        if not signatures.gitlab_valid(secret=integration.secret, header=request.headers.get("X-Gitlab-Token")):
            raise BadSignature(REFUSED, field="X-Gitlab-Token")
        event = request.headers.get("X-Gitlab-Event", "")
        links = _links(codehost.gitlab_links, event, _json(request.body), integration.project.key)
        return _delivered(event, integration.project, Host.GITLAB, links)


USAGE = "Ask the {key} team for something: /ask <what you need>, e.g. /ask churn by region for the Q3 review"


def _form(body: bytes) -> dict[str, str]:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("The body is not a form (application/x-www-form-urlencoded).", code="parse_error") from None
    return {name: values[-1] for name, values in fields.items()}


def _request_link(project: Any, request_id: int) -> str:
    return f"{settings.SPRINTBOARD_BASE_URL}{reverse('project-requests', kwargs={'key': project.key})}#request-{request_id}"


class SlackReceiver(Receiver):
    @extend_schema(
        summary="Slack's /ask slash command: a request on channel slack (signed with the signing secret)",
        description=__doc__,
        request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        parameters=_headers(
            X_Slack_Request_Timestamp="Unix seconds; more than five minutes from now is refused.",
            X_Slack_Signature="v0= and the hex HMAC-SHA256 of v0:{timestamp}:{raw body}, keyed with the signing secret.",
        ),
        responses={
            200: OpenApiResponse(SlackAnswer, description="The ephemeral answer, with the request's link."),
            400: error_responses(400)[400],
            401: OpenApiResponse(
                error_responses(401)[401].response, description="Unknown project, bad signature, or a stale timestamp."
            ),
        },
        auth=[],
    )
    def post(self, request: Request, key: str) -> Response:
        integration = self.integration(key)
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not signatures.slack_fresh(timestamp, now=time.time()):
            raise BadSignature("X-Slack-Request-Timestamp is missing or more than five minutes away from now.",
                               field="X-Slack-Request-Timestamp", code="stale_timestamp")  # fmt: skip
        body, header = request.body, request.headers.get("X-Slack-Signature")
        if not signatures.slack_valid(
            secret=integration.slack_signing_secret, timestamp=timestamp, body=body, header=header
        ):
            raise BadSignature(REFUSED, field="X-Slack-Signature")
        form = _form(body)
        if not form.get("user_id"):
            raise InvalidInput("user_id is missing: this is not a slash command.", field="user_id")
        project = integration.project
        text = form.get("text", "").strip()
        if not text:
            return Response({"response_type": "ephemeral", "text": USAGE.format(key=project.key)})
        asked = services.slack_ask(
            project=project, slack_id=form["user_id"], slack_name=form.get("user_name", ""), text=text
        )
        link = _request_link(project, asked.pk)
        answer = f"Thanks! Request #{asked.pk} “{asked.title}” is in {project.key}'s triage queue: <{link}|follow it>."
        return Response({"response_type": "ephemeral", "text": answer})
