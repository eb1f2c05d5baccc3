from django.urls import path

from apps.deliverables import views

urlpatterns = [
    path("p/<str:key>/deliverables/", views.catalogue, name="project-deliverables"),
    path("p/<str:key>/deliverables/new/", views.deliverable_new, name="deliverable-new"),
    path("p/<str:key>/deliverables/checklists/", views.templates, name="deliverable-templates"),
    path("p/<str:key>/deliverables/<int:deliverable_id>/", views.deliverable_detail, name="deliverable-detail"),
    path("p/<str:key>/deliverables/<int:deliverable_id>/edit/", views.deliverable_edit, name="deliverable-edit"),
    path(
        "p/<str:key>/deliverables/<int:deliverable_id>/publish/", views.deliverable_publish, name="deliverable-publish"
    ),
    path(
        "p/<str:key>/deliverables/<int:deliverable_id>/develop/", views.deliverable_develop, name="deliverable-develop"
    ),
    path("p/<str:key>/deliverables/<int:deliverable_id>/retire/", views.deliverable_retire, name="deliverable-retire"),
    path("p/<str:key>/deliverables/<int:deliverable_id>/checklist/", views.item_add, name="deliverable-item-add"),
    path(
        "p/<str:key>/deliverables/<int:deliverable_id>/checklist/<int:item_id>/tick/",
        views.item_tick,
        name="deliverable-item-tick",
    ),
    path(
        "p/<str:key>/deliverables/<int:deliverable_id>/checklist/<int:item_id>/assign/",
        views.item_assign,
        name="deliverable-item-assign",
    ),
    path(
        "p/<str:key>/deliverables/<int:deliverable_id>/checklist/<int:item_id>/bind/",
        views.item_bind,
        name="deliverable-item-bind",
    ),
    path(
        "p/<str:key>/deliverables/<int:deliverable_id>/checklist/<int:item_id>/remove/",
        views.item_remove,
        name="deliverable-item-remove",
    ),
]
