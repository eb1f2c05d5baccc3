from django.urls import path

from apps.webhooks import api

urlpatterns = [
    path("projects/<str:key>/webhooks/", api.WebhookList.as_view(), name="api-webhooks"),
    path("webhooks/<int:webhook_id>/", api.WebhookDetail.as_view(), name="api-webhook"),
    path("webhooks/<int:webhook_id>/deliveries/", api.DeliveryList.as_view(), name="api-webhook-deliveries"),
    path(
        "webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver/",
        api.DeliveryRedeliver.as_view(),
        name="api-webhook-redeliver",
    ),
]
