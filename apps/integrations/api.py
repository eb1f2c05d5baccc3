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
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
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


CODEHOST_RESPONSES = {
    200: OpenApiResponse(DeliveredSerializer, description="Read: the stories linked and moved (none for a ping)."),
    400: error_responses(400)[400],
    401: OpenApiResponse(error_responses(401)[401].response, description="Unknown project, or a bad signature."),
}


def _receiver_schema(summary: str, *, media: str, headers: dict[str, str], responses: dict[int, Any]) -> Any:
    """A receiver's OpenAPI operation: a body of ``media``, no authentication but the ``headers`` it requires."""
    return extend_schema(
        summary=summary,
        description=__doc__,
        request={media: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(name, str, OpenApiParameter.HEADER, required=True, description=text)
            for name, text in headers.items()
        ],
        responses=responses,
        auth=[],
    )


# Each code host's webhook, as the OpenAPI schema describes it: a summary and the headers it sends.
CODEHOST_WEBHOOKS = {
    Host.GITHUB: (
        "GitHub's webhook (pull_request, push; ping): signed with X-Hub-Signature-256",
        {
            "X-GitHub-Event": "pull_request, push or ping.",
            "X-Hub-Signature-256": "sha256= and the hex HMAC-SHA256 of the raw body, keyed with the secret.",
        },
    ),
    Host.GITLAB: (
        "GitLab's webhook (merge request and push events): X-Gitlab-Token is the secret",
        {"X-Gitlab-Event": "Merge Request Hook or Push Hook.", "X-Gitlab-Token": "The project's code-host secret."},
    ),
}


def _codehost_schema(host: Host) -> Any:
    summary, headers = CODEHOST_WEBHOOKS[host]
    return extend_schema_view(
        post=_receiver_schema(summary, media="application/json", headers=headers, responses=CODEHOST_RESPONSES)
    )


class CodeHostReceiver(Receiver):
    """A code host's webhook: a signed delivery whose event (named in ``event_header``) links and moves stories
    (``read_links``: the engine's reader of that host's deliveries)."""

    host: str
    event_header: str
    signature_header: str
    read_links: Callable[..., list[codehost.CodeLink]]

    def signed(self, integration: Integration, request: Request) -> bool:
        raise NotImplementedError

    def post(self, request: Request, key: str) -> Response:
        integration = self.integration(key)
        if not self.signed(integration, request):
            raise BadSignature(REFUSED, field=self.signature_header)
        event = request.headers.get(self.event_header, "")
        project = integration.project
        links = _links(self.read_links, event, _json(request.body), project.key)
        done = services.codehost_deliver(project=project, host=self.host, links=links)
        return Response({"event": event, "linked": done.linked, "moved": done.moved, "refused": done.refused})


@_codehost_schema(Host.GITHUB)
class GitHubReceiver(CodeHostReceiver):
    host, event_header, signature_header = Host.GITHUB, "X-GitHub-Event", "X-Hub-Signature-256"
    read_links = staticmethod(codehost.github_links)

    def signed(self, integration: Integration, request: Request) -> bool:
        header = request.headers.get(self.signature_header)
        return signatures.github_valid(secret=integration.secret, body=request.body, header=header)


@_codehost_schema(Host.GITLAB)
class GitLabReceiver(CodeHostReceiver):
    host, event_header, signature_header = Host.GITLAB, "X-Gitlab-Event", "X-Gitlab-Token"
    read_links = staticmethod(codehost.gitlab_links)

    def signed(self, integration: Integration, request: Request) -> bool:
        return signatures.gitlab_valid(secret=integration.secret, header=request.headers.get(self.signature_header))


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
    @_receiver_schema(
        "Slack's /ask slash command: a request on channel slack (signed with the signing secret)",
        media="application/x-www-form-urlencoded",
        headers={
            "X-Slack-Request-Timestamp": "Unix seconds; more than five minutes from now is refused.",
            "X-Slack-Signature": "v0= and the hex HMAC-SHA256 of v0:{timestamp}:{raw body}, keyed with the signing secret.",
        },
        responses={
            200: OpenApiResponse(SlackAnswer, description="The ephemeral answer, with the request's link."),
            400: error_responses(400)[400],
            401: OpenApiResponse(
                error_responses(401)[401].response, description="Unknown project, bad signature, or a stale timestamp."
            ),
        },
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
