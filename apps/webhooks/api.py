"""/api/v1/: a project's outgoing webhooks and their delivery logs (admins).

``POST /projects/{KEY}/webhooks/`` with ``url``, ``events`` (kinds, or ``["*"]``) and an optional ``secret``
(generated when left out): the answer holds the ``secret``, the only time it is shown. Each delivery is a
JSON POST signed with ``X-Sprintboard-Signature: sha256=<HMAC-SHA256 of the body with the secret>`` and
stamped with ``X-Sprintboard-Timestamp`` (see the README). ``GET /webhooks/{id}/deliveries/`` is the log,
newest first; ``POST /webhooks/{id}/deliveries/{delivery}/redeliver/`` sends a delivery's event again.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.api_base import StrictSerializer
from apps.core.api_support import BodilessMetadata, error_responses
from apps.core.errors import NotFound
from apps.projects.api_base import ApiView
from apps.projects.models import Role
from apps.webhooks import selectors, services
from apps.webhooks.models import ALL_EVENTS, EVENT_KINDS, Delivery, Webhook

EVENTS_HELP = f'Event kinds to send: {", ".join(EVENT_KINDS)}; or ["*"] for all.'


class WebhookSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.key", read_only=True)
    created_by = serializers.SerializerMethodField()
    waiting = serializers.SerializerMethodField(help_text="Deliveries not delivered yet.")

    class Meta:
        model = Webhook
        fields = [
            "id", "project", "url", "events", "active", "created_by", "created_at", "failing_since", "disabled_at",
            "disabled_reason", "waiting",
        ]  # fmt: skip

    def get_created_by(self, webhook: Webhook) -> str | None:
        return webhook.created_by.get_username() if webhook.created_by else None

    def get_waiting(self, webhook: Webhook) -> int:
        return getattr(webhook, "waiting", 0)


class CreatedWebhookSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="Shown once, here: keep it to verify the signatures.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class EventsField(serializers.ListField):
    """Event kinds; an unknown one is an error of ``events`` (not of ``events.0``)."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            message = f'events is a list of event kinds ({", ".join(EVENT_KINDS)}) or ["*"].'
            raise serializers.ValidationError([message]) from None


def _events_field(**kwargs) -> serializers.ListField:
    return EventsField(
        child=serializers.ChoiceField(choices=[*EVENT_KINDS, ALL_EVENTS]), min_length=1, help_text=EVENTS_HELP, **kwargs
    )


def _secret_field(help_text: str) -> serializers.CharField:
    """The optional ``secret`` of a webhook: kept as written (no trimming), so what signs is what was sent."""
    return serializers.CharField(
        min_length=services.SECRET_MIN,
        max_length=services.SECRET_MAX,
        trim_whitespace=False,
        required=False,
        help_text=help_text,
    )


class WebhookCreateSerializer(StrictSerializer):
    url = serializers.CharField(
        max_length=services.URL_MAX, help_text="An http:// or https:// URL of a public address."
    )
    events = _events_field()
    secret = _secret_field("No surrounding spaces; generated when left out.")


class WebhookUpdateSerializer(StrictSerializer):
    url = serializers.CharField(max_length=services.URL_MAX, required=False)
    events = _events_field(required=False)
    secret = _secret_field("A new secret, no surrounding spaces.")
    active = serializers.BooleanField(required=False, help_text="false pauses; true resumes a paused or disabled one.")


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id", "event", "seq", "status", "attempts", "response_code", "duration_ms", "error", "created_at",
            "last_try_at", "next_try_at", "delivered_at", "redelivery_of", "payload",
        ]  # fmt: skip


class WebhookList(ApiView):
    serializer_class = WebhookSerializer

    @extend_schema(
        summary="A project's webhooks (admin)",
        responses={200: WebhookSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request, key):
        return self.paginated(selectors.project_webhooks(self.project(key, Role.ADMIN)))

    @extend_schema(
        summary="Add a webhook (admin); the answer shows its secret, once",
        description=__doc__,
        request=WebhookCreateSerializer,
        responses={201: CreatedWebhookSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request, key):
        project = self.project(key, Role.ADMIN)
        data = self.valid(WebhookCreateSerializer, request)
        webhook, secret = services.webhook_create(project=project, actor=request.user, **data)
        webhook.secret = secret
        return Response(CreatedWebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)


class WebhookScoped(ApiView):
    serializer_class: type[serializers.Serializer] = WebhookSerializer

    def item(self, webhook_id: int) -> Webhook:
        rows = Webhook.objects.select_related("created_by")
        return self.scoped(rows, Role.ADMIN, missing=f"There is no webhook {webhook_id}.", pk=webhook_id)

    def reread(self, webhook: Webhook) -> Webhook:
        return selectors.project_webhooks(webhook.project).get(pk=webhook.pk)


class WebhookDetail(WebhookScoped):
    @extend_schema(summary="A webhook (admin)", responses={200: WebhookSerializer, **error_responses(401, 403, 404)})
    def get(self, request, webhook_id):
        return self.answer(self.reread(self.item(webhook_id)))

    @extend_schema(
        summary="Change a webhook's URL, events or secret, pause it or turn it back on (admin)",
        request=WebhookUpdateSerializer,
        responses={200: WebhookSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request, webhook_id):
        data = self.valid(WebhookUpdateSerializer, request)  # the body's shape first: it says nothing about the row
        webhook = services.webhook_update(webhook=self.item(webhook_id), **data)
        return self.answer(self.reread(webhook))

    @extend_schema(
        summary="Delete a webhook and its log (admin)", responses={204: None, **error_responses(401, 403, 404)}
    )
    def delete(self, request, webhook_id):
        services.webhook_delete(webhook=self.item(webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryList(WebhookScoped):
    serializer_class = DeliverySerializer

    @extend_schema(
        summary="A webhook's delivery log, newest first (admin)",
        responses={200: DeliverySerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request, webhook_id):
        return self.paginated(selectors.webhook_deliveries(self.item(webhook_id)))


class DeliveryRedeliver(WebhookScoped):
    serializer_class = DeliverySerializer
    metadata_class = BodilessMetadata

    @extend_schema(
        summary="Send a delivery's event again, as a new delivery queued after the others (admin)",
        request=None,
        responses={
            202: OpenApiResponse(DeliverySerializer, description="The new delivery, queued."),
            **error_responses(401, 403, 404),
        },
    )
    def post(self, request, webhook_id, delivery_id):
        webhook = self.item(webhook_id)
        delivery = selectors.webhook_deliveries(webhook).filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound(f"Webhook {webhook.pk} has no delivery {delivery_id}.")
        return self.answer(services.delivery_redeliver(delivery=delivery), status.HTTP_202_ACCEPTED)
