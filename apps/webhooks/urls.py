from django.urls import path

from apps.webhooks import views

urlpatterns = [
    path("p/<str:key>/settings/webhooks/", views.webhook_list, name="project-webhooks"),
    path("p/<str:key>/settings/webhooks/<int:webhook_id>/", views.webhook_detail, name="project-webhook"),
    path("p/<str:key>/settings/webhooks/<int:webhook_id>/active/", views.webhook_toggle, name="project-webhook-toggle"),
    path("p/<str:key>/settings/webhooks/<int:webhook_id>/delete/", views.webhook_delete, name="project-webhook-delete"),
    path(
        "p/<str:key>/settings/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver/",
        views.delivery_redeliver,
        name="project-webhook-redeliver",
    ),
]
