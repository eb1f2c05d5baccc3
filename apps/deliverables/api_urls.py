from django.urls import path

from apps.deliverables import api

urlpatterns = [
    path("projects/<str:key>/deliverables/", api.DeliverableList.as_view(), name="api-deliverables"),
    path(
        "projects/<str:key>/checklist-templates/", api.ChecklistTemplateList.as_view(), name="api-checklist-templates"
    ),
    path(
        "projects/<str:key>/checklist-templates/<str:kind>/",
        api.ChecklistTemplateDetail.as_view(),
        name="api-checklist-template",
    ),
    path("deliverables/<int:deliverable_id>/", api.DeliverableDetail.as_view(), name="api-deliverable"),
    path(
        "deliverables/<int:deliverable_id>/publish/", api.DeliverablePublish.as_view(), name="api-deliverable-publish"
    ),
    path("deliverables/<int:deliverable_id>/retire/", api.DeliverableRetire.as_view(), name="api-deliverable-retire"),
    path("deliverables/<int:deliverable_id>/events/", api.DeliverableEvents.as_view(), name="api-deliverable-events"),
    path("deliverables/<int:deliverable_id>/runs/", api.DeliverableRuns.as_view(), name="api-deliverable-runs"),
    path("deliverables/<int:deliverable_id>/checklist/", api.Checklist.as_view(), name="api-deliverable-checklist"),
    path(
        "deliverables/<int:deliverable_id>/checklist/<int:item_id>/",
        api.ChecklistItemDetail.as_view(),
        name="api-deliverable-checklist-item",
    ),
]
