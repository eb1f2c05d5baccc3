"""Admin for stories and sprints. Every story change goes through apps.stories.services,
so the admin writes the same StoryEvents as the pages and the API."""

from __future__ import annotations

from django.contrib import admin

from apps.projects.admin import ReadOnlyInline, ServiceAdmin, _adopt
from apps.stories import services
from apps.stories.models import Comment, Epic, Label, Sprint, Story, StoryEvent

BLOCKED_FIELDS = ("blocked", "blocked_reason")


class UnlinkingDeleteAdmin(ServiceAdmin):
    """Deleting goes through the model's delete service, which unlinks the stories with their events.

    Django's default delete would be refused by the stories' RESTRICT foreign keys (or, for labels,
    drop them from stories silently): there are no related objects to list, the service handles them.
    """

    def remove(self, obj, actor) -> None:
        raise NotImplementedError

    def get_deleted_objects(self, objs, request):
        return [str(obj) for obj in objs], {self.model._meta.verbose_name_plural: len(objs)}, set(), []

    def delete_model(self, request, obj) -> None:
        self.remove(obj, request.user)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self.remove(obj, request.user)


@admin.register(Epic)
class EpicAdmin(UnlinkingDeleteAdmin):
    list_display = ("name", "project", "created_at")
    list_filter = ("project",)
    search_fields = ("name",)

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        epic = obj if change else None
        project = obj.project if change else data["project"]
        _adopt(obj, services.epic_save(project=project, epic=epic, name=data["name"], description=data["description"]))

    def remove(self, obj, actor) -> None:
        services.epic_delete(epic=obj, actor=actor)


@admin.register(Label)
class LabelAdmin(UnlinkingDeleteAdmin):
    list_display = ("name", "color", "project")
    list_filter = ("project",)
    search_fields = ("name",)

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        project = obj.project if change else data["project"]
        label = obj if change else None
        _adopt(
            obj,
            services.label_save(
                project=project, label=label, name=data["name"], color=data["color"], actor=request.user
            ),
        )

    def remove(self, obj, actor) -> None:
        services.label_delete(label=obj, actor=actor)


@admin.register(Sprint)
class SprintAdmin(UnlinkingDeleteAdmin):
    list_display = ("name", "project", "status", "start", "end")
    list_filter = ("status", "project")
    search_fields = ("name",)
    # Status and commitment change only by starting and closing a sprint (sprint_start, sprint_close).
    readonly_fields = ("status", "started_at", "closed_at", "commitment")

    def get_readonly_fields(self, request, obj=None):
        return ("project", *self.readonly_fields) if obj else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        values = {"name": data["name"], "goal": data["goal"], "start": data["start"], "end": data["end"]}
        if change:
            _adopt(obj, services.sprint_update(sprint=obj, **values))
        else:
            _adopt(obj, services.sprint_create(project=data["project"], actor=request.user, **values))

    def remove(self, obj, actor) -> None:
        services.sprint_delete(sprint=obj, actor=actor)


class StoryEventInline(ReadOnlyInline):
    model = StoryEvent
    fields = ("seq", "at", "kind", "field", "from_value", "to_value", "actor")
    readonly_fields = fields
    ordering = ("seq",)
    show_change_link = False


class CommentInline(ReadOnlyInline):
    model = Comment
    fields = ("author", "created_at", "body")
    readonly_fields = fields
    show_change_link = False


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return (("no", "Not deleted"), ("yes", "Deleted"))

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Story)
class StoryAdmin(ServiceAdmin):
    list_display = ("key", "title", "kind", "state", "points", "sprint", "assignee", "blocked", "deleted_at")
    list_filter = ("project", "kind", "blocked", DeletedFilter)
    search_fields = ("key", "title")
    list_select_related = ("state", "sprint", "assignee")
    autocomplete_fields = ("assignee",)
    filter_horizontal = ("labels",)
    inlines = (StoryEventInline, CommentInline)
    fields = (
        "project",
        "title",
        "description",
        "acceptance_criteria",
        "kind",
        "points",
        "state",
        "epic",
        "labels",
        "assignee",
        "sprint",
        "blocked",
        "blocked_reason",
    )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("project", "key", "version", "rank", "created_at", "updated_at", "created_by", "deleted_at")

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.fields
        return ("key", *self.fields, "version", "rank", "created_at", "updated_at", "created_by", "deleted_at")

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if change:
            editable = set(services.EDITABLE_FIELDS) | set(BLOCKED_FIELDS)
            fields = {name: data[name] for name in form.changed_data if name in editable}
            if "blocked" in fields or "blocked_reason" in fields:
                fields.update(blocked=data["blocked"], blocked_reason=data["blocked_reason"])
            _adopt(obj, services.story_update(story=obj, actor=request.user, **fields))
            return
        values = {name: data[name] for name in services.EDITABLE_FIELDS if name in data}
        story = services.story_create(project=data["project"], actor=request.user, **values)
        if data.get("blocked"):
            story = services.story_block(story=story, reason=data["blocked_reason"], actor=request.user)
        _adopt(obj, story)

    def save_related(self, request, form, formsets, change) -> None:
        # Labels were saved by the service (with their event); the inlines are read-only.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def get_deleted_objects(self, objs, request):
        # A soft delete: the story and its event log stay, so there is nothing else to list or to need rights for.
        return [str(obj) for obj in objs], {"stories": len(objs)}, set(), []

    def delete_model(self, request, obj) -> None:
        services.story_delete(story=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for story in queryset.filter(deleted_at__isnull=True):
            services.story_delete(story=story, actor=request.user)


@admin.register(StoryEvent)
class StoryEventAdmin(admin.ModelAdmin):
    """The log is append-only: it can be read here, never written."""

    list_display = ("seq", "project", "story", "kind", "field", "from_value", "to_value", "actor", "at")
    list_filter = ("project", "kind")
    search_fields = ("story__key",)
    list_select_related = ("project", "story", "actor")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Comment)
class CommentAdmin(ServiceAdmin):
    list_display = ("story", "author", "created_at")
    search_fields = ("story__key", "body")
    list_select_related = ("story", "author")
    readonly_fields = ("story", "author", "created_at")

    def has_add_permission(self, request) -> bool:
        return False  # comments are written on a story's page, by comment_add

    def save_model(self, request, obj, form, change) -> None:
        # A corrected comment changes what search finds in its story: through the service, which rewrites it.
        _adopt(obj, services.comment_edit(comment=obj, body=form.cleaned_data["body"]))

    def delete_model(self, request, obj) -> None:
        services.comment_delete(comment=obj)

    def delete_queryset(self, request, queryset) -> None:
        for comment in queryset.select_related("story"):
            services.comment_delete(comment=comment)
