from django.urls import path

from apps.projects import views

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("start/", views.start, name="start"),
    path("projects/new/", views.project_create, name="project-create"),
    path("p/<str:key>/settings/", views.project_settings, name="project-settings"),
    path("p/<str:key>/settings/members/add/", views.member_add, name="project-member-add"),
    path("p/<str:key>/settings/members/<int:member_id>/role/", views.member_role, name="project-member-role"),
    path("p/<str:key>/settings/members/<int:member_id>/remove/", views.member_remove, name="project-member-remove"),
    path("p/<str:key>/settings/states/add/", views.state_add, name="project-state-add"),
    path("p/<str:key>/settings/states/<int:state_id>/", views.state_update, name="project-state-update"),
    path("p/<str:key>/settings/states/<int:state_id>/move/", views.state_move, name="project-state-move"),
    path("p/<str:key>/settings/states/<int:state_id>/delete/", views.state_delete, name="project-state-delete"),
]
