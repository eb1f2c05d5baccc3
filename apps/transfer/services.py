"""Project backup and restore: one JSON document in, a new project with the same history out.

``project_export(project)`` is the document (``selectors.project_document``): versioned
(``{"format": "sprintboard-project", "version": 1, ...}``), with the workflow (deleted states too: the
log names them), members by username, epics, labels, sprints, stories (deleted ones too, with rank,
version and the flow projection), every story event, comments, deliverables with their checklists (pipeline
bindings included), freshness expectation, events and pipeline runs, checklist templates and stakeholder
requests. A run is named by id in its deliverable's events and by the item it ticked: both are mapped to
the copy's runs. Apps below this one add their parts (``sections``): the project's integrations, without
their secrets.

``project_import(document=..., key=..., actor=...)`` writes all of it in one transaction into a new
project named ``key``. The log is restored as it was, never replayed through the story services: the
same seqs, kinds, values, actors and times, with the ids inside event values (states, sprints, epics,
deliverables; the story keys of a rebalance; the link and the other story of a link event) mapped to the new rows. Ids of epics, sprints and
deliverables deleted before the export, which the log still names, become negative ids that name no
row, as in the original, and can never meet a real one. Links between two stories of the project are
copied; a link event naming a story of another project keeps that story's key but names no link and no
story (``"link": null``): the copy has no such link, and its history still says it was there. Before committing, the new project's rows are
checked against its log (``verify_events``): a document whose rows and log disagree is refused whole.

People are matched by username. Users the document names (members, assignees, actors, authors,
owners, requesters...) but this installation lacks are refused, listed by name, unless
``missing_users="create"`` (the ``import_project`` command's ``--missing-users=create``): then each
becomes an inactive account with no usable password, so the copy keeps every name. Usernames that
appear only inside event values (a former assignee) are text in the log and need no account.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, connection, transaction

from apps.core import search
from apps.core.errors import Conflict, InvalidInput
from apps.deliverables.models import (
    DELIVERABLE_SEARCH_FIELDS,
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
from apps.imports.models import ImportedIssue
from apps.intake.models import REQUEST_SEARCH_FIELDS, Channel, Request, RequestStatus
from apps.projects.models import Category, Membership, Project, Role, WorkflowState, project_key_validator
from apps.stories import services as story_services
from apps.stories import signals
from apps.stories.models import (
    EPIC_SEARCH_FIELDS,
    Comment,
    Epic,
    EventKind,
    Label,
    LinkKind,
    Sprint,
    SprintStatus,
    Story,
    StoryEvent,
    StoryKind,
    StoryLink,
)
from apps.stories.verification import verify_project
from apps.transfer.sections import Restoring, sections
from apps.transfer.selectors import FORMAT, VERSION, project_document

MISSING_USERS = ("refuse", "create")
BATCH = 5_000
SHOWN = 10  # how many missing users or mismatches a refusal names


def project_export(project: Project) -> dict[str, Any]:
    """The project as one JSON-ready document, read from one snapshot of the database."""
    if connection.in_atomic_block:  # inside the caller's transaction (a test, another service): its snapshot
        return project_document(project)
    with transaction.atomic():
        if connection.vendor == "postgresql":  # every table as at one moment, without blocking any writer
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return project_document(project)


def document_load(raw: bytes | str) -> Any:
    """A backup file's text as JSON values; a file that is not JSON is refused, saying where it breaks."""
    try:
        return json.loads(raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw)
    except UnicodeDecodeError:
        raise InvalidInput("The file is not text (UTF-8 JSON).", field="document", code="parse_error") from None
    except RecursionError:
        raise InvalidInput(
            "The file is nested too deeply to be a backup.", field="document", code="parse_error"
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
            field="document",
            code="parse_error",
        ) from None


# --- Reading the document -------------------------------------------------------------------


def _bad(where: str, message: str) -> InvalidInput:
    return InvalidInput(f"{where}: {message}", field="document", code="bad_document")


class _Object:
    """One JSON object of the document, read with types checked; errors say where (``stories[3].state``)."""

    def __init__(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise _bad(where, "expected an object.")
        self.value, self.where = value, where

    def get(self, name: str) -> Any:
        if name not in self.value:
            raise _bad(f"{self.where}.{name}", "missing.")
        return self.value[name]

    def _typed(self, name: str, kinds: tuple[type, ...], what: str, null: bool) -> Any:
        value = self.get(name)
        if value is None and null:
            return None
        if not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds:
            raise _bad(f"{self.where}.{name}", f"expected {what}{' or null' if null else ''}, not {value!r:.40}.")
        return value

    def text(self, name: str, *, null: bool = False) -> Any:
        return self._typed(name, (str,), "text", null)

    def optional_text(self, name: str, default: str = "") -> str:
        """Text that documents written before the field existed leave out."""
        return self.text(name) if name in self.value else default

    def optional_integer(self, name: str) -> int | None:
        """A whole number or null that documents written before the field existed leave out."""
        return self.integer(name, null=True) if name in self.value else None

    def optional_moment(self, name: str) -> datetime | None:
        """A moment or null that documents written before the field existed leave out."""
        return self.moment(name, null=True) if name in self.value else None

    def integer(self, name: str, *, null: bool = False) -> Any:
        value = self._typed(name, (int,), "a whole number", null)
        if value is not None and value < 0:
            raise _bad(f"{self.where}.{name}", "expected a number of at least 0.")
        return value

    def boolean(self, name: str) -> bool:
        return self._typed(name, (bool,), "true or false", False)

    def choice(self, name: str, choices: Iterable[str]) -> str:
        value = self.text(name)
        if value not in choices:
            raise _bad(f"{self.where}.{name}", f"{value!r:.40} is not one of {', '.join(choices)}.")
        return value

    def moment(self, name: str, *, null: bool = False) -> Any:
        value = self.text(name, null=null)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _bad(f"{self.where}.{name}", f"{value!r:.40} is not an ISO 8601 date and time.") from None
        if parsed.tzinfo is None:
            raise _bad(f"{self.where}.{name}", f"{value!r:.40} has no time zone offset.")
        return parsed

    def day(self, name: str, *, null: bool = False) -> Any:
        value = self.text(name, null=null)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _bad(f"{self.where}.{name}", f"{value!r:.40} is not an ISO 8601 date.") from None

    def points(self, name: str) -> Decimal | None:
        value = self._typed(name, (int, float), "a number", True)
        if value is None:
            return None
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise _bad(f"{self.where}.{name}", "expected a number.") from None

    def json(self, name: str) -> Any:
        return self.value.get(name)

    def array(self, name: str) -> list[Any]:
        return self._typed(name, (list,), "a list", False)

    def objects(self, name: str) -> Iterator[_Object]:
        for index, value in enumerate(self.array(name)):
            yield _Object(value, f"{self.where}.{name}[{index}]" if self.where != "document" else f"{name}[{index}]")

    def texts(self, name: str) -> list[str]:
        values = self.array(name)
        if not all(isinstance(v, str) for v in values):
            raise _bad(f"{self.where}.{name}", "expected a list of text.")
        return values


def _header(document: Any) -> _Object:
    doc = _Object(document, "document")
    if doc.value.get("format") != FORMAT:
        raise InvalidInput(
            f'This is not a Sprintboard project backup (its "format" is not "{FORMAT}").',
            field="document",
            code="bad_format",
        )
    if doc.value.get("version") != VERSION:
        raise InvalidInput(
            f"This backup is version {doc.value.get('version')!r:.20}; this Sprintboard reads version {VERSION}.",
            field="document",
            code="bad_version",
        )
    return doc


# --- Ids: the document's, mapped to the new rows ----------------------------------------------


SINGULAR = {
    "states": "state",
    "epics": "epic",
    "labels": "label",
    "sprints": "sprint",
    "deliverables": "deliverable",
    "stories": "story",
    "links": "link",
    "requests": "request",
    "runs": "pipeline run",
}


@dataclass
class _Ids:
    """The new id of each row the document names by its old id, per kind of row."""

    states: dict[int, int] = field(default_factory=dict)
    epics: dict[int, int] = field(default_factory=dict)
    labels: dict[int, int] = field(default_factory=dict)
    sprints: dict[int, int] = field(default_factory=dict)
    deliverables: dict[int, int] = field(default_factory=dict)
    stories: dict[int, int] = field(default_factory=dict)
    links: dict[int, int] = field(default_factory=dict)
    requests: dict[int, int] = field(default_factory=dict)
    runs: dict[int, int] = field(default_factory=dict)
    # Rows deleted before the export that the log still names: a negative id each, in order of appearance.
    gone: dict[str, dict[int, int]] = field(default_factory=dict)

    def row(self, kind: str, old: Any, where: str) -> int | None:
        """The new id of a row the document's rows point at (it must be in the document)."""
        if old is None:
            return None
        new = getattr(self, kind).get(old) if isinstance(old, int) and not isinstance(old, bool) else None
        if new is None:
            raise _bad(where, f"names {SINGULAR[kind]} {old!r:.20}, which the document does not hold.")
        return new

    def needed(self, kind: str, old: Any, where: str) -> int:
        """The new id of a row that must be named (a comment's story, a story's state)."""
        new = self.row(kind, old, where)
        if new is None:
            raise _bad(where, f"names no {SINGULAR[kind]}; one is needed.")
        return new

    def logged(self, kind: str, old: Any, where: str) -> Any:
        """The new id of a row an event value names; a row deleted before the export gets a negative id."""
        if old is None:
            return None
        if not isinstance(old, int) or isinstance(old, bool):
            raise _bad(where, f"expected the id of a {SINGULAR[kind]}, not {old!r:.40}.")
        new = getattr(self, kind).get(old)
        if new is not None:
            return new
        if kind == "states":
            raise _bad(where, f"names state {old}, which the document does not hold (states are never deleted).")
        gone = self.gone.setdefault(kind, {})
        return gone.setdefault(old, -(len(gone) + 1))


# Which event values name rows by id: (event kind, field) -> the kind of row.
LOGGED_IDS: dict[tuple[str, str], str] = {
    (EventKind.STATE, ""): "states",
    (EventKind.SPRINT, ""): "sprints",
    (EventKind.UPDATED, "epic"): "epics",
    (EventKind.UPDATED, "deliverable"): "deliverables",
}
CREATED_IDS = {"state": "states", "sprint": "sprints", "epic": "epics", "deliverable": "deliverables"}


def _story_key(old_key: Any, old_project: str, new_project: str, where: str) -> str:
    prefix, _, number = old_key.rpartition("-") if isinstance(old_key, str) else ("", "", "")
    if prefix != old_project or not number.isdigit():
        raise _bad(where, f"{old_key!r:.40} is not a story key of {old_project}.")
    return f"{new_project}-{number}"


@dataclass
class _Import:
    doc: _Object
    key: str
    users: dict[str, User]
    ids: _Ids = field(default_factory=_Ids)
    project: Project = field(init=False)  # created by the first step, read by the others

    @property
    def old_key(self) -> str:
        return self.doc.value["project"]["key"]

    def user(self, item: _Object, name: str) -> User | None:
        username = item.text(name, null=True)
        return None if username is None else self.users[username]

    def event_value(self, kind: str, event_field: str, value: Any, where: str) -> Any:
        if kind == EventKind.CREATED and isinstance(value, dict):
            mapped = dict(value)
            for name, rows in CREATED_IDS.items():
                if name in value:
                    mapped[name] = self.ids.logged(rows, value[name], f"{where}.{name}")
            return mapped
        if kind == EventKind.REBALANCED and isinstance(value, dict):
            return {_story_key(k, self.old_key, self.key, where): rank for k, rank in value.items()}
        if kind == EventKind.LINK and isinstance(value, dict):
            return self._link_value(value, where)
        logged_as = LOGGED_IDS.get((kind, event_field))
        return value if logged_as is None else self.ids.logged(logged_as, value, where)

    def _link_value(self, value: dict[str, Any], where: str) -> dict[str, Any]:
        """A link event's value for the copy: the other story and the link mapped when the other story is in
        the project (a link removed before the export: a negative id, as for other deleted rows); otherwise
        the other story's key alone (``link`` and ``story`` null: history, not a row)."""
        other = value.get("story")
        if isinstance(other, int) and not isinstance(other, bool) and other in self.ids.stories:
            return {
                **value,
                "link": self.ids.logged("links", value.get("link"), f"{where}.link"),
                "story": self.ids.stories[other],
                "key": _story_key(value.get("key"), self.old_key, self.key, f"{where}.key"),
            }
        return {**value, "link": None, "story": None}


# --- Users ------------------------------------------------------------------------------------

# Where the document names people, by list and field (lists of names: "consumers").
PEOPLE = {
    "members": ("username",),
    "deliverables": ("owner", "created_by", "consumers"),
    "deliverable_events": ("actor",),
    "stories": ("assignee", "created_by"),
    "events": ("actor",),
    "comments": ("author",),
    "requests": ("requester", "decided_by"),
    "links": ("created_by",),
    "pipeline_runs": ("reported_by",),
}
OPTIONAL_LISTS = {"links", "pipeline_runs"}  # absent from documents written before story links, pipeline runs


def _usernames(doc: _Object) -> set[str]:
    names: set[str] = set()
    for list_name, fields in PEOPLE.items():
        if list_name in OPTIONAL_LISTS and doc.value.get(list_name) is None:
            continue
        for item in doc.objects(list_name):
            for name in fields:
                if name == "consumers":
                    names.update(item.texts(name))
                elif (username := item.text(name, null=name != "username")) is not None:
                    names.add(username)
    for item in doc.objects("deliverables"):
        for entry in item.objects("checklist"):
            names.update(u for u in (entry.text("assignee", null=True), entry.text("ticked_by", null=True)) if u)
    for section in sections():
        if doc.value.get(section.name) is not None:
            names.update(section.people(doc.value[section.name]))
    return names


def _users(doc: _Object, missing_users: str) -> dict[str, User]:
    if missing_users not in MISSING_USERS:
        raise InvalidInput(f"missing_users must be one of {', '.join(MISSING_USERS)}.", field="missing_users")
    User = get_user_model()
    names = _usernames(doc)
    users = {user.get_username(): user for user in User.objects.filter(username__in=names)}
    missing = sorted(names - users.keys())
    if missing and missing_users == "refuse":
        shown = ", ".join(missing[:SHOWN]) + (f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else "")
        raise InvalidInput(
            f"{len(missing)} user{'s' if len(missing) != 1 else ''} named in the backup "
            f"{'do' if len(missing) != 1 else 'does'} not exist here: {shown}. Create them first "
            "(or, from the command line, pass --missing-users=create).",
            field="document",
            code="missing_users",
            missing_users=missing,
        )
    for username in missing:
        user = User(username=username, is_active=False)
        user.set_unusable_password()
        user.save()
        users[username] = user
    return users


# --- Writing -----------------------------------------------------------------------------------


def project_import(
    document: Any,
    key: str,
    actor: User | None,
    *,
    name: str | None = None,
    missing_users: str = "refuse",
) -> Project:
    """A new project ``key`` holding everything in ``document`` (``project_export``'s), in one transaction.

    ``actor`` (the person restoring from the settings page) becomes an admin of the copy, so they can
    open it; None (the command line) adds nobody. Raises InvalidInput (a malformed document, missing
    users, a log that disagrees with its rows) or Conflict (the key is taken); nothing is written then.
    """
    doc = _header(document)
    _check_key(key)
    try:
        with transaction.atomic():
            users = _users(doc, missing_users)
            job = _Import(doc=doc, key=key, users=users)
            project = _write(job, name=name)
            if actor is not None:
                _make_admin(project, actor)
            _check_log(project)
    except (IntegrityError, DataError) as exc:
        message = str(exc).strip().splitlines()[0]
        if Project.objects.filter(key=key).exists():
            raise Conflict(f"A project with key {key} already exists.", field="key", code="duplicate") from None
        raise _bad("document", f"it could not be stored ({message}).") from None
    return project


def _check_key(key: Any) -> None:
    try:
        project_key_validator(key)
    except (ValidationError, TypeError):
        raise InvalidInput("A project key is 2 to 10 capital letters, such as DATA.", field="key") from None
    if Project.objects.filter(key=key).exists():
        raise Conflict(f"A project with key {key} already exists.", field="key", code="duplicate")


def _write(job: _Import, *, name: str | None) -> Project:
    steps: tuple[Callable[[_Import], None], ...] = (
        _members,
        _states,
        _epics,
        _labels,
        _sprints,
        _deliverables,
        _stories,
        _links,
        _events,
        _comments,
        _requests,
        _commitments,
        _search_vectors,
    )
    job.project = _project(job, name=name)
    for step in steps:
        step(job)
    restoring = Restoring(project=job.project, states=job.ids.states, users=job.users)
    for section in sections():
        if job.doc.value.get(section.name) is not None:
            section.restore(restoring, job.doc.value[section.name])
    return job.project


def _project(job: _Import, *, name: str | None) -> Project:
    item = _Object(job.doc.get("project"), "project")
    project = Project(
        key=job.key,
        name=name or item.text("name"),
        sprint_length_days=item.integer("sprint_length_days"),
        timezone=item.text("timezone"),
        wip_policy=item.text("wip_policy"),
        last_story_number=item.integer("last_story_number"),
        last_event_seq=item.integer("last_event_seq"),
        last_event_at=item.moment("last_event_at", null=True),
    )
    project.flow_seq = project.last_event_seq
    item.text("key")
    try:
        project.full_clean(exclude=["key"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field_name, messages = next(iter(exc.message_dict.items()))
        raise _bad(f"project.{field_name}", messages[0]) from None
    project.save()
    created_at = item.moment("created_at", null=True)
    if created_at is not None:  # auto_now_add set it to now: the copy keeps the original's
        Project.objects.filter(pk=project.pk).update(created_at=created_at)
        project.created_at = created_at
    return project


def _members(job: _Import) -> None:
    Membership.objects.bulk_create(
        Membership(project=job.project, user=job.user(item, "username"), role=item.choice("role", Role.values))
        for item in job.doc.objects("members")
    )


def _make_admin(project: Project, actor: User) -> None:
    Membership.objects.update_or_create(project=project, user=actor, defaults={"role": Role.ADMIN})


def _created(
    job: _Import, list_name: str, build: Callable[[_Object], Any], ids: dict[int, int] | None = None
) -> list[Any]:
    """Build one row per item of ``list_name``, insert them in order, and map each item's old id to its new one."""
    items = list(job.doc.objects(list_name))
    rows = [build(item) for item in items]
    for start in range(0, len(rows), BATCH):
        type(rows[0]).objects.bulk_create(rows[start : start + BATCH])
    if ids is not None:
        for item, row in zip(items, rows, strict=True):
            old = item.integer("id")
            if old in ids:
                raise _bad(f"{item.where}.id", f"{old} appears twice in {list_name}.")
            ids[old] = row.pk
    return rows


def _keep_moments(rows: list[Any], moments: list[Any], field_name: str) -> None:
    """Put back the moments ``auto_now``/``auto_now_add`` replaced on insert (bulk_update does not touch them)."""
    for row, moment in zip(rows, moments, strict=True):
        setattr(row, field_name, moment)
    if rows:
        type(rows[0]).objects.bulk_update(rows, [field_name], batch_size=BATCH)


def _states(job: _Import) -> None:
    def build(item: _Object) -> WorkflowState:
        return WorkflowState(
            project=job.project,
            name=item.text("name"),
            position=item.integer("position"),
            category=item.choice("category", Category.values),
            wip_limit=item.integer("wip_limit", null=True) or None,
            deleted_at=item.moment("deleted_at", null=True),
        )

    _created(job, "states", build, job.ids.states)


def _epics(job: _Import) -> None:
    items = list(job.doc.objects("epics"))
    rows = _created(
        job,
        "epics",
        lambda item: Epic(project=job.project, name=item.text("name"), description=item.text("description")),
        job.ids.epics,
    )
    _keep_moments(rows, [item.moment("created_at") for item in items], "created_at")


def _labels(job: _Import) -> None:
    _created(
        job,
        "labels",
        lambda item: Label(project=job.project, name=item.text("name"), color=item.text("color")),
        job.ids.labels,
    )


def _sprints(job: _Import) -> None:
    def build(item: _Object) -> Sprint:
        return Sprint(
            project=job.project,
            name=item.text("name"),
            goal=item.text("goal"),
            start=item.day("start"),
            end=item.day("end"),
            status=item.choice("status", SprintStatus.values),
            started_at=item.moment("started_at", null=True),
            closed_at=item.moment("closed_at", null=True),
            commitment=item.array("commitment"),  # story ids and keys: mapped once the stories exist
            start_seq=item.integer("start_seq", null=True),
        )

    _created(job, "sprints", build, job.ids.sprints)


def _deliverables(job: _Import) -> None:
    items = list(job.doc.objects("deliverables"))

    def build(item: _Object) -> Deliverable:
        return Deliverable(
            project=job.project,
            name=item.text("name"),
            kind=item.choice("kind", DeliverableKind.values),
            description=item.text("description"),
            owner=job.user(item, "owner"),
            consumer_groups=item.texts("consumer_groups"),
            data_sources=item.texts("data_sources"),
            link=item.text("link"),
            target_date=item.day("target_date", null=True),
            status=item.choice("status", DeliverableStatus.values),
            published_at=item.moment("published_at", null=True),
            retired_at=item.moment("retired_at", null=True),
            version=item.integer("version"),
            created_at=item.moment("created_at"),
            updated_at=item.moment("updated_at"),
            created_by=job.user(item, "created_by"),
            expected_interval_hours=item.optional_integer("expected_interval_hours") or None,
            last_run_status=item.choice("last_run_status", ["", *RunStatus.values])
            if "last_run_status" in item.value
            else "",
            last_run_at=item.optional_moment("last_run_at"),
            last_success_at=item.optional_moment("last_success_at"),
            flagged_at=item.optional_moment("flagged_at"),
        )

    rows = _created(job, "deliverables", build, job.ids.deliverables)
    DeliverableConsumer.objects.bulk_create(
        DeliverableConsumer(deliverable=row, user=job.users[username])
        for item, row in zip(items, rows, strict=True)
        for username in item.texts("consumers")
    )
    _pipeline_runs(job)
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            deliverable=row,
            text=entry.text("text"),
            position=entry.integer("position"),
            assignee=job.user(entry, "assignee"),
            done=entry.boolean("done"),
            ticked_by=job.user(entry, "ticked_by"),
            ticked_at=entry.moment("ticked_at", null=True),
            evidence_url=entry.text("evidence_url"),
            created_at=entry.moment("created_at"),
            bound_source=_bound_source(entry),
            bound_job=entry.optional_text("bound_job"),
            evidence_run_id=job.ids.row("runs", entry.value.get("evidence_run"), f"{entry.where}.evidence_run"),
        )
        for item, row in zip(items, rows, strict=True)
        for entry in item.objects("checklist")
    )
    _created(
        job,
        "deliverable_events",
        lambda item: DeliverableEvent(
            project=job.project,
            deliverable_id=job.ids.needed("deliverables", item.get("deliverable"), f"{item.where}.deliverable"),
            kind=item.choice("kind", DeliverableEventKind.values),
            field=item.text("field"),
            from_value=item.json("from"),
            to_value=_run_named(job, item.json("to"), f"{item.where}.to"),
            actor=job.user(item, "actor"),
            at=item.moment("at"),
        ),
    )
    templates = list(job.doc.objects("checklist_templates"))
    if templates:
        rows = _created(
            job,
            "checklist_templates",
            lambda item: ChecklistTemplate(
                project=job.project, kind=item.choice("kind", DeliverableKind.values), items=item.texts("items")
            ),
        )
        _keep_moments(rows, [item.moment("updated_at") for item in templates], "updated_at")


def _bound_source(entry: _Object) -> str:
    return entry.choice("bound_source", ["", *RunSource.values]) if "bound_source" in entry.value else ""


def _pipeline_runs(job: _Import) -> None:
    """The runs the pipelines reported (a document written before pipeline runs has none)."""
    if job.doc.value.get("pipeline_runs") is None:
        return

    def build(item: _Object) -> PipelineRun:
        return PipelineRun(
            deliverable_id=job.ids.needed("deliverables", item.get("deliverable"), f"{item.where}.deliverable"),
            source=item.choice("source", RunSource.values),
            external_id=item.text("external_id"),
            job=item.text("job"),
            namespace=item.text("namespace"),
            status=item.choice("status", RunStatus.values),
            started_at=item.moment("started_at", null=True),
            finished_at=item.moment("finished_at", null=True),
            passed=item.integer("passed"),
            failed=item.integer("failed"),
            errored=item.integer("errored"),
            failures=item.texts("failures"),
            url=item.text("url"),
            message=item.text("message"),
            reported_by=job.user(item, "reported_by"),
            received_at=item.moment("received_at"),
            updated_at=item.moment("updated_at"),
        )

    _created(job, "pipeline_runs", build, job.ids.runs)


def _run_named(job: _Import, value: Any, where: str) -> Any:
    """A deliverable event's value naming a pipeline run (a run's summary): the run mapped to its copy."""
    if not isinstance(value, dict) or "run" not in value or "source" not in value:
        return value
    return {**value, "run": job.ids.logged("runs", value["run"], f"{where}.run")}


def _stories(job: _Import) -> None:
    items = list(job.doc.objects("stories"))
    numbers = [item.integer("number") for item in items]
    if numbers and max(numbers) > job.project.last_story_number:
        raise _bad("project.last_story_number", f"is below story number {max(numbers)}.")

    def build(item: _Object) -> Story:
        flow = _Object(item.get("flow"), f"{item.where}.flow")
        number = item.integer("number")
        where = item.where
        return Story(
            project=job.project,
            number=number,
            key=f"{job.key}-{number}",
            title=item.text("title"),
            description=item.text("description"),
            acceptance_criteria=item.text("acceptance_criteria"),
            kind=item.choice("kind", StoryKind.values),
            points=item.points("points"),
            state_id=job.ids.needed("states", item.get("state"), f"{where}.state"),
            rank=item.text("rank"),
            epic_id=job.ids.row("epics", item.get("epic"), f"{where}.epic"),
            assignee=job.user(item, "assignee"),
            sprint_id=job.ids.row("sprints", item.get("sprint"), f"{where}.sprint"),
            deliverable_id=job.ids.row("deliverables", item.get("deliverable"), f"{where}.deliverable"),
            blocked=item.boolean("blocked"),
            blocked_reason=item.text("blocked_reason"),
            version=item.integer("version"),
            created_at=item.moment("created_at"),
            updated_at=item.moment("updated_at"),
            created_by=job.user(item, "created_by"),
            deleted_at=item.moment("deleted_at", null=True),
            external_key=item.optional_text("external_key"),
            flow_state_since=flow.moment("state_since", null=True),
            flow_started_at=flow.moment("started_at", null=True),
            flow_finished_at=flow.moment("finished_at", null=True),
            flow_blocked_since=flow.moment("blocked_since", null=True),
            flow_reopened=flow.integer("reopened"),
            flow_cycle_days=flow.integer("cycle_days", null=True),
        )

    rows = _created(job, "stories", build, job.ids.stories)
    ImportedIssue.objects.bulk_create(
        (
            ImportedIssue(story_id=row.pk, last_change_at=item.moment("imported_up_to"))
            for item, row in zip(items, rows, strict=True)
            if item.value.get("imported_up_to") is not None
        ),
        batch_size=BATCH,
    )
    Through = Story.labels.through
    Through.objects.bulk_create(
        (
            Through(story_id=row.pk, label_id=job.ids.row("labels", label, f"{item.where}.labels"))
            for item, row in zip(items, rows, strict=True)
            for label in item.array("labels")
        ),
        batch_size=BATCH,
    )


def _links(job: _Import) -> None:
    """The links between the project's stories (a document written before links has none)."""
    if job.doc.value.get("links") is None:
        return
    _created(
        job,
        "links",
        lambda item: StoryLink(
            source_id=job.ids.needed("stories", item.get("source"), f"{item.where}.source"),
            target_id=job.ids.needed("stories", item.get("target"), f"{item.where}.target"),
            kind=item.choice("kind", LinkKind.values),
            created_at=item.moment("created_at"),
            created_by=job.user(item, "created_by"),
        ),
        job.ids.links,
    )


EVENT_COLUMNS = (
    "project_id", "seq", "story_id", "kind", "field", "from_value", "to_value", "actor_id", "actor_name", "to_name", "at"
)  # fmt: skip


def _events(job: _Import) -> None:
    rows = [_event_row(job, item, seq) for seq, item in enumerate(job.doc.objects("events"), start=1)]
    _insert_events(rows)
    if rows:
        signals.events_appended.send(sender=StoryEvent, project_id=job.project.pk, first_seq=1, last_seq=len(rows))


def _event_row(job: _Import, item: _Object, expected: int) -> tuple[Any, ...]:
    """One event as the values of EVENT_COLUMNS, its ids mapped to the copy's."""
    seq = item.integer("seq")
    if seq != expected:
        raise _bad(f"{item.where}.seq", f"is {seq}; the log's seqs run 1, 2, 3... without gaps (expected {expected}).")
    kind = item.choice("kind", EventKind.values)
    event_field = item.text("field")
    actor = job.user(item, "actor")
    return (
        job.project.pk,
        seq,
        job.ids.row("stories", item.get("story"), f"{item.where}.story"),
        kind,
        event_field,
        job.event_value(kind, event_field, item.json("from"), f"{item.where}.from"),
        job.event_value(kind, event_field, item.json("to"), f"{item.where}.to"),
        actor.pk if actor is not None else None,
        item.optional_text("actor_name")[:200],
        item.optional_text("to_name")[:200],
        item.moment("at"),
    )


def _insert_events(rows: list[tuple[Any, ...]]) -> None:
    """The log is most of a project: on PostgreSQL it goes in by COPY, inside the same transaction (50,000
    events: about 2 s, against 12 s through bulk_create, on the 2-core CI machine under load); elsewhere (the
    embedded SQLite) by bulk_create."""
    if connection.vendor != "postgresql":
        StoryEvent.objects.bulk_create(
            (StoryEvent(**dict(zip(EVENT_COLUMNS, row, strict=True))) for row in rows), batch_size=BATCH
        )
        return
    connection.ensure_connection()
    columns = ", ".join(f'"{column}"' for column in EVENT_COLUMNS)
    with connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY {StoryEvent._meta.db_table} ({columns}) FROM STDIN") as copy:
            for project_id, seq, story_id, kind, field_name, old, new, *names_and_time in rows:
                copy.write_row((project_id, seq, story_id, kind, field_name, _jsonb(old), _jsonb(new), *names_and_time))


def _jsonb(value: Any) -> str | None:
    """A JSON column's value as COPY takes it: None is SQL NULL, as the ORM stores a JSONField's None."""
    return None if value is None else json.dumps(value)


def _comments(job: _Import) -> None:
    _created(
        job,
        "comments",
        lambda item: Comment(
            story_id=job.ids.needed("stories", item.get("story"), f"{item.where}.story"),
            author=job.user(item, "author"),
            body=item.text("body"),
            created_at=item.moment("created_at"),
        ),
    )


def _search_vectors(job: _Import) -> None:
    """What search finds in the copy's stories (from their text and comments), epics, deliverables and
    requests: one UPDATE each."""
    story_services.story_search_update(project_id=job.project.pk)
    search.vectors_update(Epic.objects.filter(project=job.project), EPIC_SEARCH_FIELDS)
    search.vectors_update(Deliverable.objects.filter(project=job.project), DELIVERABLE_SEARCH_FIELDS)
    search.vectors_update(Request.objects.filter(project=job.project), REQUEST_SEARCH_FIELDS)


def _requests(job: _Import) -> None:
    items = list(job.doc.objects("requests"))

    def build(item: _Object) -> Request:
        return Request(
            project=job.project,
            requester=job.user(item, "requester"),
            requester_email=item.optional_text("requester_email")[:254],
            requester_name=item.optional_text("requester_name")[:200],
            title=item.text("title"),
            detail=item.text("detail"),
            channel=item.choice("channel", Channel.values),
            status=item.choice("status", RequestStatus.values),
            story_id=job.ids.row("stories", item.get("story"), f"{item.where}.story"),
            decline_reason=item.text("decline_reason"),
            created_at=item.moment("created_at"),
            decided_at=item.moment("decided_at", null=True),
            decided_by=job.user(item, "decided_by"),
        )

    if not items:
        return
    rows = _created(job, "requests", build, job.ids.requests)
    merged = []
    for item, row in zip(items, rows, strict=True):
        if item.get("merged_into") is not None:
            row.merged_into_id = job.ids.row("requests", item.get("merged_into"), f"{item.where}.merged_into")
            merged.append(row)
    Request.objects.bulk_update(merged, ["merged_into"], batch_size=BATCH)


def _commitments(job: _Import) -> None:
    """A sprint's commitment names its stories by id and key: point them at the copies."""
    sprints = list(Sprint.objects.filter(project=job.project).exclude(commitment=[]))
    for sprint in sprints:
        where = f"sprints[id {sprint.pk}].commitment"
        entries = []
        for entry in sprint.commitment:
            item = _Object(entry, where)
            entries.append(
                {
                    **entry,
                    "story": job.ids.row("stories", item.get("story"), f"{where}.story"),
                    "key": _story_key(item.get("key"), job.old_key, job.key, f"{where}.key"),
                }
            )
        sprint.commitment = entries
    Sprint.objects.bulk_update(sprints, ["commitment"])


def _check_log(project: Project) -> None:
    """The copy's rows must be what its log says (``verify_events``); otherwise refuse the whole document."""
    mismatches = [str(m) for _, m in zip(range(SHOWN), verify_project(project), strict=False)]
    if mismatches:
        raise InvalidInput(
            "The backup's rows and its event log disagree, so it was not imported: " + "; ".join(mismatches),
            field="document",
            code="log_mismatch",
        )
