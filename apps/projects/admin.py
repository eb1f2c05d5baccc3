"""Admin for projects: writes go through apps.projects.services, like everywhere else."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from apps.core.errors import DomainError
from apps.projects import services
from apps.projects.models import Membership, Project, WorkflowState


class ServiceAdmin(admin.ModelAdmin):
    """A refused change is shown as an error message, never a 500; the transaction is rolled back."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def _adopt(target, source) -> None:
    """Make the admin's instance the row a service saved, so the admin logs and redirects to it."""
    target.__dict__.update({k: v for k, v in source.__dict__.items() if k != "_state"})
    target._state = source._state


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = ("user", "role")
    readonly_fields = fields


class WorkflowStateInline(ReadOnlyInline):
    model = WorkflowState
    fields = ("position", "name", "category", "wip_limit")
    readonly_fields = fields


@admin.register(Project)
class ProjectAdmin(ServiceAdmin):
    list_display = ("key", "name", "sprint_length_days", "timezone", "wip_policy", "created_at")
    search_fields = ("key", "name")
    inlines = (MembershipInline, WorkflowStateInline)

    def get_readonly_fields(self, request, obj=None):
        return ("key", "created_at", "last_story_number", "last_event_seq") if obj else ()

    def save_model(self, request, obj, form, change) -> None:
        values = {f: form.cleaned_data[f] for f in services.PROJECT_FIELDS if f in form.cleaned_data}
        if change:
            changed = {f: v for f, v in values.items() if f in form.changed_data}
            _adopt(obj, services.project_update(project=obj, **changed))
        else:
            _adopt(obj, services.project_create(creator=request.user, key=form.cleaned_data["key"], **values))


@admin.register(Membership)
class MembershipAdmin(ServiceAdmin):
    list_display = ("project", "user", "role")
    list_filter = ("role", "project")
    search_fields = ("user__username", "project__key")
    list_select_related = ("project", "user")
    autocomplete_fields = ("user",)

    def get_readonly_fields(self, request, obj=None):
        return ("project", "user") if obj else ()

    def save_model(self, request, obj, form, change) -> None:
        if change:
            _adopt(obj, services.membership_change_role(membership=obj, role=form.cleaned_data["role"]))
        else:
            created = services.membership_add(
                project=form.cleaned_data["project"], user=form.cleaned_data["user"], role=form.cleaned_data["role"]
            )
            _adopt(obj, created)

    def delete_model(self, request, obj) -> None:
        services.membership_remove(membership=obj)

    def delete_queryset(self, request, queryset) -> None:
        for membership in queryset:
            services.membership_remove(membership=membership)


@admin.register(WorkflowState)
class WorkflowStateAdmin(ServiceAdmin):
    list_display = ("project", "position", "name", "category", "wip_limit")
    list_filter = ("category", "project")
    list_select_related = ("project",)
    ordering = ("project", "position", "id")

    def get_readonly_fields(self, request, obj=None):
        return ("project", "position") if obj else ("position",)

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if change:
            _adopt(
                obj,
                services.state_update(
                    state=obj, name=data["name"], category=data["category"], wip_limit=data["wip_limit"]
                ),
            )
        else:
            created = services.state_add(
                project=data["project"], name=data["name"], category=data["category"], wip_limit=data["wip_limit"]
            )
            _adopt(obj, created)

    def delete_model(self, request, obj) -> None:
        services.state_delete(state=obj)

    def delete_queryset(self, request, queryset) -> None:
        for state in queryset:
            services.state_delete(state=state)
