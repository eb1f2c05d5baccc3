"""Epics and labels: save, rename, delete or merge (the stories that point at them get their events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from apps.core import search
from apps.core.errors import Conflict, InvalidInput
from apps.projects.events import Change
from apps.projects.models import Project
from apps.stories.models import (
    EPIC_SEARCH_FIELDS,
    Epic,
    EventKind,
    Label,
    Story,
)
from apps.stories.services.events import _logged, _repoint, _rewrite, lock_project, value_name


def _named(model, *, project: Project, instance=None, **values: Any):
    name = values.get("name", getattr(instance, "name", ""))
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("A name is required.", field="name")
    limit = model._meta.get_field("name").max_length
    if len(name) > limit:
        raise InvalidInput(f"name is at most {limit} characters.", field="name")
    values["name"] = name.strip()
    instance = instance or model(project=project)
    for field, value in values.items():
        setattr(instance, field, value)
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise Conflict(f"There is already one named {values['name']!r}.", field="name", code="duplicate") from None
    return instance


@transaction.atomic
def epic_save(
    *, project: Project, epic: Epic | None = None, name: str | None = None, description: str | None = None, actor=None
) -> Epic:
    """Create or change an epic. ``actor`` is taken as label_save takes it, but renaming an epic changes no
    story: the log names epics by id."""
    values = {k: v for k, v in {"name": name, "description": description}.items() if v is not None}
    if "description" in values and not isinstance(values["description"], str):
        raise InvalidInput("description must be text.", field="description")
    saved = _named(Epic, project=project, instance=epic, **values)
    search.vectors_update(Epic.objects.filter(pk=saved.pk), EPIC_SEARCH_FIELDS)
    return saved


@transaction.atomic
def label_save(
    *,
    project: Project,
    label: Label | None = None,
    name: str | None = None,
    color: str | None = None,
    actor=None,
    at: datetime | None = None,
) -> Label:
    """Create or change a label. The log names a story's labels, so renaming one logs the change on its stories."""
    values: dict[str, Any] = {"name": name} if name is not None else {}
    if color is not None:
        if not isinstance(color, str) or not (
            len(color) == 7 and color[0] == "#" and all(c in "0123456789abcdefABCDEF" for c in color[1:])
        ):
            raise InvalidInput("color is a hex colour such as #1f77b4.", field="color")
        values["color"] = color
    if label is None or name is None or name.strip() == label.name:
        return _named(Label, project=project, instance=label, **values)
    project, at = lock_project(project.pk, at)
    before = _label_names(Story.objects.filter(labels=label))
    label = _named(Label, project=project, instance=label, **values)
    _relabel(project, before, renamed={label.pk: label.name}, actor=actor, at=at)
    return label


def _check_target(project: Project, target: Any, deleted: Any, field: str) -> None:
    if target is None:
        return
    if target.project_id != project.pk or target.pk == deleted.pk:
        raise InvalidInput(f"Merge into another {field} of {project.key}.", field="into")


@transaction.atomic
def epic_delete(*, epic: Epic, actor, into: Epic | None = None, at: datetime | None = None) -> None:
    """Delete an epic; its stories move to ``into`` (a merge) or to no epic, one ``updated`` event each."""
    project, at = lock_project(epic.project_id, at)
    _check_target(project, into, epic, "epic")
    _repoint(
        project,
        "epic",
        epic,
        into,
        Change(EventKind.UPDATED, "epic", epic.pk, _logged("epic", into), to_name=value_name(into)),
        actor=actor,
        at=at,
    )
    epic.delete()


def _label_names(stories: QuerySet[Story]) -> dict[int, list[tuple[int, str]]]:
    """Each story's labels as (id, name), for stories in ``stories``."""
    through = Story.labels.through.objects.filter(story__in=stories.values("pk")).order_by("label__name")
    names: dict[int, list[tuple[int, str]]] = {}
    for story_id, label_id, name in through.values_list("story_id", "label_id", "label__name"):
        names.setdefault(story_id, []).append((label_id, name))
    return names


def _relabel(
    project: Project,
    before: dict[int, list[tuple[int, str]]],
    *,
    renamed: dict[int, str],
    actor,
    at: datetime,
    dropped: int | None = None,
) -> None:
    """Log a labels change on every story of ``before``: ``dropped`` removed, ``renamed`` ids given new names."""
    stories = list(Story.objects.filter(pk__in=before).select_for_update(of=("self",)).order_by("pk"))
    changes = []
    for story in stories:
        old = sorted(name for _, name in before[story.pk])
        new = sorted({renamed.get(pk, name) for pk, name in before[story.pk] if pk != dropped})
        changes.append(Change(EventKind.UPDATED, "labels", old, new))
    _rewrite(project, stories, changes, [], actor=actor, at=at)


@transaction.atomic
def label_delete(*, label: Label, actor, into: Label | None = None, at: datetime | None = None) -> None:
    """Delete a label; its stories lose it (or get ``into`` instead: a merge), one ``updated`` event each."""
    project, at = lock_project(label.project_id, at)
    _check_target(project, into, label, "label")
    before = _label_names(Story.objects.filter(labels=label))
    if into is not None:
        into.stories.add(*before)
    renamed = {label.pk: into.name} if into is not None else {}
    _relabel(project, before, renamed=renamed, dropped=None if into is not None else label.pk, actor=actor, at=at)
    label.delete()
