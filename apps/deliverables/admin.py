"""Admin for deliverables: read-only. Writes go through apps.deliverables.services (the pages and the API),
which keep the event log; the admin is for looking, not for bypassing it."""

from __future__ import annotations

from django.contrib import admin

from apps.deliverables.models import ChecklistItem, ChecklistTemplate, Deliverable, DeliverableEvent, PipelineRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ChecklistInline(admin.TabularInline):
    model = ChecklistItem
    fields = (
        "position", "text", "assignee", "done", "ticked_by", "ticked_at", "evidence_url", "evidence_run", "bound_source",
        "bound_job",
    )  # fmt: skip
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Deliverable)
class DeliverableAdmin(ReadOnlyAdmin):
    list_display = ("name", "project", "kind", "status", "owner", "target_date", "published_at")
    list_filter = ("project", "kind", "status")
    search_fields = ("name",)
    inlines = [ChecklistInline]


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(ReadOnlyAdmin):
    list_display = ("project", "kind", "updated_at")
    list_filter = ("project",)


@admin.register(DeliverableEvent)
class DeliverableEventAdmin(ReadOnlyAdmin):
    list_display = ("deliverable", "kind", "field", "actor", "at")
    list_filter = ("project", "kind")


@admin.register(PipelineRun)
class PipelineRunAdmin(ReadOnlyAdmin):
    list_display = ("deliverable", "source", "job", "status", "passed", "failed", "errored", "received_at")
    list_filter = ("source", "status")
    search_fields = ("deliverable__name", "job", "external_id")
