"""The only writers of deliverables, their checklists and checklist templates.

Each function is one transaction: it locks the deliverable's row, refuses a
stale ``expected_version``, changes what it changes and appends a
``DeliverableEvent`` (who, when, from, to) for the timeline and the DataOps
reports. Like the story services, every function accepts an explicit ``at`` so
the demo seed and importers can write true history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from apps.core import search
from apps.core.errors import Conflict, InvalidInput, NotFound, StaleVersion
from apps.deliverables import signals
from apps.deliverables.models import (
    DEFAULT_CHECKLISTS,
    DELIVERABLE_SEARCH_FIELDS,
    FAILING_RUN_STATUSES,
    MAX_INTERVAL_HOURS,
    WORKING_STATUSES,
    ChecklistItem,
    ChecklistTemplate,
    Deliverable,
    DeliverableConsumer,
    DeliverableEvent,
    DeliverableEventKind,
    DeliverableKind,
    DeliverableStatus,
    PipelineRun,
    RunSource,
    RunStatus,
)
from apps.deliverables.selectors import publish_blockers
from apps.projects.events import Change
from apps.projects.models import Membership, Project
from sprintboard import pipelines

UNSET: Any = object()
EDITABLE_FIELDS = (
    "name",
    "kind",
    "description",
    "owner",
    "consumers",
    "consumer_groups",
    "data_sources",
    "link",
    "target_date",
    "status",
    "expected_interval_hours",
)
ITEM_FIELDS = ("text", "assignee", "done", "evidence_url", "bound_source", "bound_job")
BINDING_FIELDS = {"bound_source", "bound_job"}
# Long text is not copied into the log: the event says which field changed.
UNLOGGED_VALUES = {"description"}
MAX_ITEMS = 50
_url = URLValidator(schemes=["http", "https"])


class PublishRefused(Conflict):
    """Publishing is refused while a checklist item is open or a linked story is unfinished; names each one."""

    code = "not_ready"

    def __init__(self, deliverable: Deliverable, blockers) -> None:
        parts = []
        if items := len(blockers.open_items):
            parts.append(f"{items} checklist item{'s are' if items > 1 else ' is'} not ticked")
        if stories := len(blockers.unfinished_stories):
            parts.append(f"{stories} linked stor{'ies are' if stories > 1 else 'y is'} not finished")
        super().__init__(f"{deliverable.name} cannot be published yet: {' and '.join(parts)}.")
        self.blockers = blockers

    def errors(self) -> list[dict[str, Any]]:
        """One error per open item and unfinished story, in the API's error shape."""
        items = [
            {
                "field": f"checklist[{item.pk}]",
                "code": "item_open",
                "message": f"Checklist item “{item.text}” is not ticked.",
            }
            for item in self.blockers.open_items
        ]
        stories = [
            {
                "field": f"stories[{story.key}]",
                "code": "story_unfinished",
                "message": f"{story.key} “{story.title}” is not finished (it is in {story.state.name}).",
            }
            for story in self.blockers.unfinished_stories
        ]
        return items + stories


# --- Validation ---------------------------------------------------------------------


def _text(field: str, value: Any, *, limit: int, required: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text.", field=field)
    if len(value) > limit:
        raise InvalidInput(f"{field} is at most {limit} characters.", field=field)
    if required and not value.strip():
        raise InvalidInput(f"A {field} is required.", field=field)
    return value.strip() if required else value


def _names(field: str, values: Any, *, limit: int, count: int) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise InvalidInput(f"{field} is a list of names.", field=field)
    out: list[str] = []
    for value in values:
        name = _text(field, value, limit=limit).strip()
        if name and name not in out:
            out.append(name)
    if len(out) > count:
        raise InvalidInput(f"{field} has at most {count} entries.", field=field)
    return out


def _link(field: str, value: Any) -> str:
    value = _text(field, value, limit=500).strip()
    if value:
        try:
            _url(value)
        except ValidationError:
            raise InvalidInput(
                f"{field} must be an http(s) address, such as https://example.com/report.", field=field
            ) from None
    return value


def _is_link(value: str) -> bool:
    try:
        _url(value)
    except ValidationError:
        return False
    return len(value) <= 500


def _member(project: Project, user: Any, field: str) -> Any:
    if user is None:
        return None
    if not getattr(user, "pk", None) or not Membership.objects.filter(project=project, user=user).exists():
        name = user.get_username() if hasattr(user, "get_username") else user
        raise InvalidInput(f"{name} is not a member of {project.key}.", field=field)
    return user


def _kind(value: Any) -> str:
    if value not in DeliverableKind.values:
        raise InvalidInput(f"kind must be one of {', '.join(DeliverableKind.values)}.", field="kind")
    return value


def _clean(project: Project, field: str, value: Any) -> Any:
    if field == "name":
        return _text("name", value, limit=200, required=True)
    if field == "kind":
        return _kind(value)
    if field == "description":
        return _text("description", value, limit=20_000)
    if field == "owner":
        return _member(project, value, "owner")
    if field == "consumers":
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise InvalidInput("consumers is a list of members.", field="consumers")
        users = {user.pk: _member(project, user, "consumers") for user in value}
        return sorted(users.values(), key=lambda u: u.get_username())
    if field == "consumer_groups":
        return _names("consumer_groups", value, limit=100, count=20)
    if field == "data_sources":
        return _names("data_sources", value, limit=300, count=50)
    if field == "link":
        return _link("link", value)
    if field == "target_date":
        if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
            raise InvalidInput("target_date must be a date (YYYY-MM-DD) or null.", field="target_date")
        return value
    if field == "expected_interval_hours":
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INTERVAL_HOURS
        ):
            raise InvalidInput(
                f"expected_interval_hours must be a whole number of hours from 1 to {MAX_INTERVAL_HOURS}, or null.",
                field="expected_interval_hours",
            )
        return value
    if field == "status":
        if value not in WORKING_STATUSES:
            raise InvalidInput(
                "status can be set to proposed, in_development or validating; publish and retire have their own actions.",
                field="status",
            )
        return value
    raise InvalidInput(f"{field} is not a field of a deliverable that can be edited.", field=field)


def _logged(field: str, value: Any) -> Any:
    if field in UNLOGGED_VALUES:
        return None
    if field == "owner":
        return value.get_username() if value is not None else None
    if field == "consumers":
        return [user.get_username() for user in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- Event log and locking -------------------------------------------------------------


def _append(deliverable: Deliverable, changes: Sequence[Change], *, actor, at: datetime) -> None:
    DeliverableEvent.objects.bulk_create(
        DeliverableEvent(
            project_id=deliverable.project_id,
            deliverable=deliverable,
            kind=change.kind,
            field=change.field,
            from_value=change.from_value,
            to_value=change.to_value,
            actor=actor if getattr(actor, "pk", None) else None,
            at=at,
        )
        for change in changes
    )
    for change in changes:
        if change.kind == DeliverableEventKind.STATUS:
            signals.deliverable_status_changed.send(
                sender=Deliverable,
                deliverable=deliverable,
                from_status=change.from_value,
                to_status=change.to_value,
                actor=actor,
                at=at,
            )


def _lock(deliverable: Deliverable, *, expected_version: int | None = None) -> Deliverable:
    """Lock the project's row, then the deliverable's: the one order of every writer here and of the
    story services. An event's insert takes a key-share lock on the project's row; locking the
    deliverable first and the project second (through that insert) deadlocked against publish."""
    Project.objects.select_for_update().only("pk").get(pk=deliverable.project_id)
    locked = (
        Deliverable.objects.select_for_update(of=("self",)).select_related("project").filter(pk=deliverable.pk).first()
    )
    if locked is None:  # deleted since the caller read it (a concurrent DELETE): a 404, not a 500
        raise NotFound(f"There is no deliverable {deliverable.pk}: it was just deleted.")
    if expected_version is not None and expected_version != locked.version:
        raise StaleVersion(current_version=locked.version)
    return locked


def _save(deliverable: Deliverable, *, at: datetime) -> None:
    deliverable.version += 1
    deliverable.updated_at = at
    try:
        with transaction.atomic():
            deliverable.save()
    except IntegrityError:
        raise Conflict(
            f"There is already a deliverable named {deliverable.name!r}.", field="name", code="duplicate"
        ) from None


# --- Checklist templates ---------------------------------------------------------------


def _template_items(items: Any) -> list[str]:
    cleaned = _names("items", items, limit=300, count=MAX_ITEMS)
    return cleaned


@transaction.atomic
def checklist_template_ensure(*, project: Project, kind: str) -> ChecklistTemplate:
    """The project's template for ``kind``, created with the default items on first use."""
    template, _ = ChecklistTemplate.objects.get_or_create(
        project=project, kind=_kind(kind), defaults={"items": list(DEFAULT_CHECKLISTS[kind])}
    )
    return template


@transaction.atomic
def checklist_template_update(*, project: Project, kind: str, items: Any) -> ChecklistTemplate:
    """Replace a kind's definition of done for deliverables created from now on (existing ones keep theirs)."""
    template = checklist_template_ensure(project=project, kind=kind)
    template = ChecklistTemplate.objects.select_for_update().get(pk=template.pk)
    template.items = _template_items(items)
    template.save(update_fields=["items", "updated_at"])
    return template


@transaction.atomic
def checklist_templates_update(*, project: Project, templates: dict[str, Any]) -> list[ChecklistTemplate]:
    """Replace several kinds' templates at once: all of them change, or none."""
    return [checklist_template_update(project=project, kind=kind, items=items) for kind, items in templates.items()]


# --- Deliverables ------------------------------------------------------------------------


@transaction.atomic
def deliverable_create(
    *,
    project: Project,
    actor: User | None,
    name: str,
    kind: str,
    description: str = "",
    owner: User | None = None,
    consumers: Iterable[User] = (),
    consumer_groups: Iterable[str] = (),
    data_sources: Iterable[str] = (),
    link: str = "",
    target_date: date | None = None,
    status: str = DeliverableStatus.PROPOSED,
    expected_interval_hours: int | None = None,
    at: datetime | None = None,
) -> Deliverable:
    """Create a deliverable with a copy of its kind's checklist (the project's template)."""
    at = at or timezone.now()
    values = {
        "expected_interval_hours": expected_interval_hours,
        "name": name,
        "kind": kind,
        "description": description,
        "owner": owner,
        "consumer_groups": consumer_groups,
        "data_sources": data_sources,
        "link": link,
        "target_date": target_date,
        "status": status,
    }
    cleaned = {field: _clean(project, field, value) for field, value in values.items()}
    users = _clean(project, "consumers", consumers)
    deliverable = Deliverable(
        project=project,
        created_at=at,
        updated_at=at,
        created_by=actor if getattr(actor, "pk", None) else None,
        **cleaned,
    )
    try:
        with transaction.atomic():
            deliverable.save()
    except IntegrityError:
        raise Conflict(
            f"There is already a deliverable named {deliverable.name!r}.", field="name", code="duplicate"
        ) from None
    search.vectors_update(Deliverable.objects.filter(pk=deliverable.pk), DELIVERABLE_SEARCH_FIELDS)
    DeliverableConsumer.objects.bulk_create(DeliverableConsumer(deliverable=deliverable, user=user) for user in users)
    template = checklist_template_ensure(project=project, kind=deliverable.kind)
    ChecklistItem.objects.bulk_create(
        ChecklistItem(deliverable=deliverable, text=text, position=position, created_at=at)
        for position, text in enumerate(template.items)
    )
    snapshot = {"name": deliverable.name, "kind": deliverable.kind, "status": deliverable.status}
    _append(deliverable, [Change(DeliverableEventKind.CREATED, to_value=snapshot)], actor=actor, at=at)
    return deliverable


def _current(deliverable: Deliverable, field: str) -> Any:
    if field == "consumers":
        return sorted(
            (link.user for link in deliverable.consumer_links.select_related("user")), key=lambda u: u.get_username()
        )
    return getattr(deliverable, field)


def _same(field: str, old: Any, new: Any) -> bool:
    if field == "consumers":
        return [u.pk for u in old] == [u.pk for u in new]
    return old == new


@transaction.atomic
def deliverable_update(
    *,
    deliverable: Deliverable,
    actor: User | None,
    expected_version: int | None = None,
    at: datetime | None = None,
    **fields: Any,
) -> Deliverable:
    """Change any of ``EDITABLE_FIELDS``: one event per changed field (a ``status`` event for the status)."""
    at = at or timezone.now()
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"{field} is not a field of a deliverable that can be edited.", field=field)
    locked = _lock(deliverable, expected_version=expected_version)
    if locked.status == DeliverableStatus.RETIRED:
        raise Conflict(f"{locked.name} is retired: it no longer changes.", code="retired")
    if "status" in fields and fields["status"] != locked.status and locked.is_final:
        raise Conflict(
            f"{locked.name} is {locked.status}: its status no longer goes back.", field="status", code="bad_transition"
        )
    changes: list[Change] = []
    for field, value in fields.items():
        new = _clean(locked.project, field, value)
        old = _current(locked, field)
        if _same(field, old, new):
            continue
        kind = DeliverableEventKind.STATUS if field == "status" else DeliverableEventKind.UPDATED
        changes.append(
            Change(
                kind, field if kind == DeliverableEventKind.UPDATED else "", _logged(field, old), _logged(field, new)
            )
        )
        if field == "consumers":
            locked.consumer_links.exclude(user__in=new).delete()
            have = set(locked.consumer_links.values_list("user_id", flat=True))
            DeliverableConsumer.objects.bulk_create(
                DeliverableConsumer(deliverable=locked, user=u) for u in new if u.pk not in have
            )
        else:
            setattr(locked, field, new)
    if changes:
        _save(locked, at=at)
        if {name for name, _ in DELIVERABLE_SEARCH_FIELDS} & set(fields):
            search.vectors_update(Deliverable.objects.filter(pk=locked.pk), DELIVERABLE_SEARCH_FIELDS)
        _append(locked, changes, actor=actor, at=at)
    return locked


def deliverable_change_status(
    *, deliverable: Deliverable, status: str, actor, expected_version: int | None = None, at: datetime | None = None
) -> Deliverable:
    return deliverable_update(
        deliverable=deliverable, actor=actor, expected_version=expected_version, at=at, status=status
    )


@transaction.atomic
def deliverable_publish(
    *,
    deliverable: Deliverable,
    actor: User | None,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Deliverable:
    """Publish: refused (PublishRefused, a 409) while a checklist item is open or a linked story is unfinished.

    The project's row is locked first, as the story services do, so no story can be reopened between
    the check and the publication.
    """
    at = at or timezone.now()
    locked = _lock(deliverable, expected_version=expected_version)
    if locked.status == DeliverableStatus.PUBLISHED:
        raise Conflict(f"{locked.name} is already published.", code="bad_transition")
    if locked.status == DeliverableStatus.RETIRED:
        raise Conflict(f"{locked.name} is retired: it cannot be published.", code="bad_transition")
    if locked.status == DeliverableStatus.PROPOSED:
        raise Conflict(f"{locked.name} is only proposed: start its development first.", code="bad_transition")
    blockers = publish_blockers(locked)
    if not blockers.ready:
        raise PublishRefused(locked, blockers)
    old = locked.status
    locked.status, locked.published_at = DeliverableStatus.PUBLISHED, at
    _save(locked, at=at)
    _append(locked, [Change(DeliverableEventKind.STATUS, "", old, DeliverableStatus.PUBLISHED)], actor=actor, at=at)
    return locked


@transaction.atomic
def deliverable_retire(
    *,
    deliverable: Deliverable,
    actor: User | None,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Deliverable:
    """Retire a deliverable from any status; a retired one no longer changes."""
    at = at or timezone.now()
    locked = _lock(deliverable, expected_version=expected_version)
    if locked.status == DeliverableStatus.RETIRED:
        raise Conflict(f"{locked.name} is already retired.", code="bad_transition")
    old = locked.status
    locked.status, locked.retired_at = DeliverableStatus.RETIRED, at
    _save(locked, at=at)
    _append(locked, [Change(DeliverableEventKind.STATUS, "", old, DeliverableStatus.RETIRED)], actor=actor, at=at)
    return locked


@transaction.atomic
def deliverable_delete(*, deliverable: Deliverable, actor: User | None) -> None:
    """Delete a deliverable that never went out; its stories stay, unlinked (one event each, by apps.stories).

    Published history is retired, not deleted. The project is locked first, as every story writer does.
    """
    locked = _lock(deliverable)
    if locked.published_at is not None or locked.is_final:
        raise Conflict(
            f"{locked.name} has been {locked.status}: retire it instead, so reports keep its history.", code="published"
        )
    signals.deliverable_deleting.send(sender=Deliverable, deliverable=locked, actor=actor)
    locked.delete()


# --- Checklist items ---------------------------------------------------------------------


def _check_open_for_edits(deliverable: Deliverable) -> None:
    if deliverable.is_final:
        raise Conflict(f"{deliverable.name} is {deliverable.status}: its checklist is frozen.", code=deliverable.status)


def _item_value(field: str, value: Any, project: Project) -> Any:
    if field == "text":
        return _text("text", value, limit=300, required=True)
    if field == "assignee":
        return _member(project, value, "assignee")
    if field == "done":
        if not isinstance(value, bool):
            raise InvalidInput("done must be true or false.", field="done")
        return value
    if field == "evidence_url":
        return _link("evidence_url", value)
    if field == "bound_source":
        if value not in ("", *RunSource.values):
            raise InvalidInput(
                f"bound_source must be one of {', '.join(RunSource.values)}, or empty (not bound).",
                field="bound_source",
            )
        return value
    if field == "bound_job":
        return _text("bound_job", value, limit=300).strip()
    raise InvalidInput(f"{field} is not a field of a checklist item.", field=field)


@transaction.atomic
def checklist_item_add(
    *,
    deliverable: Deliverable,
    actor: User | None,
    text: str,
    assignee: User | None = None,
    evidence_url: str = "",
    bound_source: str = "",
    bound_job: str = "",
    at: datetime | None = None,
) -> ChecklistItem:
    at = at or timezone.now()
    locked = _lock(deliverable)
    _check_open_for_edits(locked)
    if locked.checklist.count() >= MAX_ITEMS:
        raise Conflict(f"A checklist has at most {MAX_ITEMS} items.", field="text", code="too_many")
    last = locked.checklist.aggregate(m=Max("position"))["m"]
    item = ChecklistItem.objects.create(
        deliverable=locked,
        text=_item_value("text", text, locked.project),
        assignee=_item_value("assignee", assignee, locked.project),
        evidence_url=_item_value("evidence_url", evidence_url, locked.project),
        bound_source=_item_value("bound_source", bound_source, locked.project),
        bound_job=_item_value("bound_job", bound_job, locked.project),
        position=0 if last is None else last + 1,
        created_at=at,
    )
    _append(locked, [Change(DeliverableEventKind.ITEM_ADDED, "checklist", None, item.text)], actor=actor, at=at)
    return item


@transaction.atomic
def checklist_item_update(
    *,
    item: ChecklistItem,
    actor: User | None,
    at: datetime | None = None,
    run: PipelineRun | None = None,
    **fields: Any,
) -> ChecklistItem:
    """Tick or untick (recording who and when), reword, assign, bind to a pipeline source, or attach evidence.

    ``run``: the pipeline run that ticks or unticks the item (``pipeline_run_record``); a tick keeps it as the
    item's evidence, an untick clears it.
    """
    at = at or timezone.now()
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"{field} is not a field of a checklist item.", field=field)
    locked = _lock(item.deliverable)
    # Binding an item to a pipeline watches a published deliverable (a failing run flags it); the rest is frozen.
    if not (set(fields) <= BINDING_FIELDS and locked.status == DeliverableStatus.PUBLISHED):
        _check_open_for_edits(locked)
    row = ChecklistItem.objects.select_for_update(of=("self",)).select_related("assignee").filter(pk=item.pk).first()
    if row is None:  # removed by a writer that held the lock before us
        raise NotFound(f"{locked.name} has no checklist item {item.pk}.")
    changes: list[Change] = []
    ticking = fields.get("done") is True and not row.done
    for field, value in fields.items():
        new = _item_value(field, value, locked.project)
        old = getattr(row, field)
        if old == new:
            continue
        if field == "done":
            row.done = new
            row.ticked_by, row.ticked_at = (actor if getattr(actor, "pk", None) else None, at) if new else (None, None)
            row.evidence_run = run if new else None
            kind = DeliverableEventKind.ITEM_TICKED if new else DeliverableEventKind.ITEM_UNTICKED
            changes.append(Change(kind, "checklist", None, row.text))
            continue
        setattr(row, field, new)
        if field == "evidence_url" and ticking:
            continue  # evidence given with the tick belongs to the tick's event
        logged = (lambda u: u.get_username() if u is not None else None) if field == "assignee" else (lambda v: v)
        changes.append(
            Change(
                DeliverableEventKind.ITEM_UPDATED,
                field,
                {"item": row.text, field: logged(old)},
                {"item": row.text, field: logged(new)},
            )
        )
    if changes:
        row.save()
        _append(locked, changes, actor=actor, at=at)
    return row


@transaction.atomic
def checklist_item_remove(*, item: ChecklistItem, actor: User | None, at: datetime | None = None) -> None:
    at = at or timezone.now()
    locked = _lock(item.deliverable)
    _check_open_for_edits(locked)
    text = item.text
    removed, _ = ChecklistItem.objects.filter(pk=item.pk).delete()
    if not removed:  # removed by a writer that held the lock before us
        raise NotFound(f"{locked.name} has no checklist item {item.pk}.")
    _append(locked, [Change(DeliverableEventKind.ITEM_REMOVED, "checklist", text, None)], actor=actor, at=at)


# --- Pipeline runs -------------------------------------------------------------------------------------

MAX_LOGGED_FAILURES = 20


def _merge_run(row: PipelineRun, report: pipelines.PipelineRun, *, url: str, at: datetime) -> None:
    """A report of a run already known: a later transition wins, a non-final one never undoes a final status
    (OpenLineage may deliver COMPLETE before START, or send OTHER after it)."""
    row.started_at = report.started_at or row.started_at
    row.url = url or row.url
    row.updated_at = at
    if row.status in pipelines.FINAL_STATUSES and not report.final:
        return
    row.status, row.finished_at = report.status, report.finished_at or row.finished_at
    if report.final or report.passed or report.failed or report.errored:
        row.passed, row.failed, row.errored = report.passed, report.failed, report.errored
        row.failures = list(report.failures)
    row.message = report.message or row.message


def _summary(run: PipelineRun) -> dict[str, Any]:
    return {
        "run": run.pk,
        "source": run.source,
        "job": run.job,
        "status": run.status,
        "passed": run.passed,
        "failed": run.failed,
        "errored": run.errored,
        "failures": list(run.failures[:MAX_LOGGED_FAILURES]),
    }


def _bound_items(deliverable: Deliverable, run: PipelineRun) -> list[ChecklistItem]:
    items = ChecklistItem.objects.filter(deliverable=deliverable, bound_source=run.source).order_by("position", "id")
    return [item for item in items if not item.bound_job or item.bound_job == run.job]


def _apply_run(deliverable: Deliverable, run: PipelineRun, *, actor, at: datetime) -> None:
    """Tick (passed) or reopen (failed, errored) the checklist items bound to the run's source and job,
    through ``checklist_item_update``; on a published deliverable, whose checklist is frozen, flag it instead."""
    items = _bound_items(deliverable, run)
    if not items or run.status not in (RunStatus.PASSED, *FAILING_RUN_STATUSES):
        return
    passing = run.status == RunStatus.PASSED
    if deliverable.status == DeliverableStatus.PUBLISHED:
        flagged = deliverable.flagged_at is not None
        if passing == flagged:  # a pass clears a flag; a failure raises one (once)
            deliverable.flagged_at = None if passing else at
            Deliverable.objects.filter(pk=deliverable.pk).update(flagged_at=deliverable.flagged_at)
            kind = DeliverableEventKind.UNFLAGGED if passing else DeliverableEventKind.FLAGGED
            _append(deliverable, [Change(kind, run.source, None, _summary(run))], actor=actor, at=at)
        return
    if deliverable.is_final:
        return
    changing = [item for item in items if item.done != passing]
    if not changing:
        return
    _append(deliverable, [Change(DeliverableEventKind.RUN, run.source, None, _summary(run))], actor=actor, at=at)
    for item in changing:
        item.deliverable = deliverable
        fields: dict[str, Any] = {"done": passing}
        if passing and run.url and _is_link(run.url):
            fields["evidence_url"] = run.url
        checklist_item_update(item=item, actor=actor, at=at, run=run, **fields)


def _refresh_run_state(deliverable: Deliverable, run: PipelineRun) -> None:
    """The latest run's status and the last success, kept on the deliverable for its cards and the catalogue."""
    latest = PipelineRun.objects.filter(deliverable=deliverable).order_by("-received_at", "-id").first()
    values: dict[str, Any] = {}
    if latest is not None:
        values.update(
            last_run_status=latest.status, last_run_at=latest.finished_at or latest.started_at or latest.received_at
        )
    if run.status == RunStatus.PASSED:
        success = run.finished_at or run.updated_at
        if deliverable.last_success_at is None or success > deliverable.last_success_at:
            values["last_success_at"] = success
    Deliverable.objects.filter(pk=deliverable.pk).update(**values)
    for name, value in values.items():
        setattr(deliverable, name, value)


@transaction.atomic
def pipeline_run_record(
    *,
    deliverable: Deliverable,
    actor: User | None,
    report: pipelines.PipelineRun,
    url: str = "",
    job: str = "",
    at: datetime | None = None,
) -> tuple[PipelineRun, bool]:
    """Record a run a pipeline reported (or update the run it reports again) and apply it to the checklist.

    Returns the run and whether it is new. ``url`` (a link back) and ``job`` (the job's name, for a binding)
    override the body's. A passing run ticks the items bound to its source (and job) with the run as evidence;
    a failing one reopens them, naming its failures in a ``run`` event; a published deliverable is flagged
    instead (its checklist is frozen), and a later passing run clears the flag. Locks the project, then the
    deliverable, like every writer here.
    """
    at = at or timezone.now()
    locked = _lock(deliverable)
    if locked.status == DeliverableStatus.RETIRED:
        raise Conflict(f"{locked.name} is retired: it no longer takes pipeline runs.", code="retired")
    # A link given with the request must be a public http(s) address; the body's (already http(s) only) is kept
    # as the tool wrote it, internal host names included (an Airflow at http://airflow-web:8080).
    url = _link("url", url) if url else report.url
    job = _text("job", job, limit=300).strip() or report.job
    row = None
    if report.external_id:
        row = (
            PipelineRun.objects.select_for_update()
            .filter(deliverable=locked, source=report.source, external_id=report.external_id)
            .first()
        )
    created = row is None
    before = None if row is None else row.status
    if row is None:
        row = PipelineRun(
            deliverable=locked,
            source=report.source,
            external_id=report.external_id,
            job=job,
            namespace=report.namespace,
            status=report.status,
            started_at=report.started_at,
            finished_at=report.finished_at,
            passed=report.passed,
            failed=report.failed,
            errored=report.errored,
            failures=list(report.failures),
            url=url,
            message=report.message,
            reported_by=actor if getattr(actor, "pk", None) else None,
            received_at=at,
            updated_at=at,
        )
    else:
        _merge_run(row, report, url=url, at=at)
        row.job = job or row.job
    row.save()
    _refresh_run_state(locked, row)
    if row.status != before:
        _apply_run(locked, row, actor=actor, at=at)
    return row, created
