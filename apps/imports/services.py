"""The writers of imports: analyse an upload, confirm its mapping, run it, and the bulk writer of history.

An upload is read and analysed at once (a malformed file is refused with what and where: file, issue
key, field) and kept in status ``mapping`` with the pre-filled mapping; :func:`import_confirm` takes the
user's mapping and queues :func:`import_run` in Celery (after the commit). The run plans the history in
``sprintboard.jira`` and writes it with :func:`import_write`, in one transaction: a failed import changes
nothing.

:func:`import_write` writes what the ordinary services would, in bulk: each story's ``created`` snapshot,
then its state, sprint, points, assignee and flag changes with their original times and authors, merged
oldest first across all stories, with gapless sequence numbers; the flow projection advanced event by
event (``sprintboard.projection.advance``, ``Story.set_flow``); sprints with their dates, start and close
times, commitment and ``start_seq``. A re-import matches stories on ``Story.external_key`` and writes only
changes newer than those already imported (``ImportedIssue``); title, description, kind, epic and label
changes are logged as ``updated`` at the time of the re-import.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from apps.core.errors import Conflict, DomainError, InvalidInput
from apps.imports.models import Import, ImportedIssue, ImportFile, ImportSource, ImportStatus
from apps.imports.tasks import import_run_task
from apps.projects import services as project_services
from apps.projects.models import CLOSED_CATEGORIES, Project, WorkflowState
from apps.stories import services as story_services
from apps.stories import signals
from apps.stories.models import Epic, EventKind, Label, Sprint, SprintStatus, Story, StoryEvent
from apps.stories.selectors import points_value
from apps.stories.services.events import EVENT_COLUMNS
from sprintboard import csvimport, jira, projection, ranking
from sprintboard.records import to_jsonable

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 256 * 1024 * 1024
MAX_DESCRIPTION = 20_000
FLAG_REASON = "Flagged in Jira"
BATCH = 5_000
# Jira logs the carry-over of a completed sprint's unfinished issues within a moment of its completeDate.
CARRY_OVER_WINDOW = timedelta(seconds=2)


class ImportRefused(InvalidInput):
    """The files or the mapping are refused, whole; ``problems`` lists what and where."""

    code = "invalid_import"

    def __init__(self, problems: Sequence[jira.Problem]) -> None:
        super().__init__(str(problems[0]), field=_field(problems[0]))
        self.problems = tuple(problems)

    def errors(self) -> list[dict[str, Any]]:
        return [{"field": _field(p), "code": self.code, "message": str(p)} for p in self.problems]


def _field(problem: jira.Problem) -> str:
    if problem.file == "mapping":
        return f"mapping.{problem.field}" if problem.field else "mapping"
    return problem.field or "files"


# --- Reading and mapping ------------------------------------------------------------------------------


def _clean_options(source: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    if source not in ImportSource.values:
        raise InvalidInput(f"source is one of {', '.join(ImportSource.values)}.", field="source")
    options = dict(options or {})
    if source == ImportSource.JIRA:
        return {}
    shape = options.get("shape", "changes")
    if shape not in csvimport.SHAPES:
        raise InvalidInput(f"shape is one of {', '.join(csvimport.SHAPES)}.", field="shape")
    columns = options.get("columns")
    if columns is not None and (
        not isinstance(columns, dict) or not all(isinstance(v, str | type(None)) for v in columns.values())
    ):
        raise InvalidInput("columns maps each column (key, summary, ...) to a header of the CSV.", field="columns")
    date_format = options.get("date_format") or None
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        raise InvalidInput(
            "date_format is a strptime format such as %d/%m/%Y %H:%M, or empty for ISO.", field="date_format"
        )
    return {"shape": shape, "columns": columns, "date_format": date_format}


def _read(project: Project, source: str, options: Mapping[str, Any], files: Sequence[tuple[str, bytes]]) -> jira.Export:
    if not files:
        raise InvalidInput("Upload at least one file.", field="files")
    if sum(len(content) for _, content in files) > MAX_UPLOAD_BYTES:
        raise InvalidInput(f"The files are larger than {MAX_UPLOAD_BYTES // 2**20} MiB in all.", field="files")
    try:
        if source == ImportSource.JIRA:
            return jira.read_export(files)
        return csvimport.read_csv(
            files,
            shape=options["shape"],
            columns=options.get("columns"),
            date_format=options.get("date_format"),
            tz=project.tzinfo,
        )
    except jira.ImportFormatError as exc:
        raise ImportRefused(exc.problems) from None


def _members(project: Project) -> dict[str, User]:
    users = get_user_model().objects.filter(memberships__project=project)
    return {user.get_username(): user for user in users}


def _usernames(project: Project) -> dict[str, str]:
    """Lower-cased user names and e-mail addresses of the project's members -> their user names."""
    found: dict[str, str] = {}
    for username, user in _members(project).items():
        found[username.lower()] = username
        email = getattr(user, "email", "")
        if email:
            found.setdefault(email.lower(), username)
    return found


def _mapping(project: Project, analysis: jira.Analysis, raw: object) -> jira.ImportMapping:
    try:
        chosen = jira.mapping_from_json(raw, analysis, usernames=_usernames(project))
    except jira.ImportFormatError as exc:
        raise ImportRefused(exc.problems) from None
    members = _members(project)
    strangers = [
        jira.Problem("mapping", None, f"users.{key}", f"{username!r} is not a member of {project.key}")
        for key, username in chosen.users.items()
        if username is not None and username not in members
    ]
    if strangers:
        raise ImportRefused(strangers[:20])
    return chosen


# --- The import's life: upload, confirm, run ------------------------------------------------------------


def import_create(
    *,
    project: Project,
    actor: User | None,
    source: str,
    files: Sequence[tuple[str, bytes]],
    options: Mapping[str, Any] | None = None,
    mapping: object = None,
    confirm: bool = False,
) -> Import:
    """Read and analyse the files (refused whole when malformed) and keep them with the pre-filled mapping
    (or ``mapping`` over it); ``confirm`` queues the import at once."""
    cleaned = _clean_options(source, options)
    export = _read(project, source, cleaned, files)
    analysis = jira.analyse(export)
    chosen = _mapping(project, analysis, mapping)
    _plan(export, chosen)  # a changelog value that cannot be read is refused now, not when the import runs
    with transaction.atomic():
        upload = Import.objects.create(
            project=project,
            source=source,
            options=cleaned,
            analysis=to_jsonable(analysis),
            mapping=chosen.as_json(),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        ImportFile.objects.bulk_create(ImportFile(upload=upload, name=name[:255], content=data) for name, data in files)
        if confirm:
            _queue(upload)
    return upload


def import_confirm(*, upload: Import, mapping: object = None) -> Import:
    """Take the user's mapping (None: the stored one) and queue the import; a failed one may be queued again."""
    with transaction.atomic():
        upload = Import.objects.select_for_update().select_related("project").get(pk=upload.pk)
        if upload.status not in (ImportStatus.MAPPING, ImportStatus.FAILED):
            raise Conflict(
                f"This import is {upload.status}: only one waiting for its mapping, or failed, can (re)start.",
                code="bad_transition",
            )
        analysis = jira.analysis_from_json(upload.analysis)
        upload.mapping = _mapping(upload.project, analysis, upload.mapping if mapping is None else mapping).as_json()
        _queue(upload)
    return upload


def _queue(upload: Import) -> None:
    upload.status, upload.progress, upload.error = ImportStatus.QUEUED, 0, ""
    upload.save(update_fields=["status", "progress", "error", "mapping"])
    transaction.on_commit(partial(_enqueue, upload.pk))


def _enqueue(import_id: int) -> None:
    try:
        import_run_task.delay(import_id)
    except Exception as exc:  # noqa: BLE001 - the broker is down: the import fails with the reason, never a 500
        logger.exception("could not queue import %s", import_id)
        _fail(import_id, f"The import could not be queued ({type(exc).__name__}); try again.")


def _fail(import_id: int, error: str) -> None:
    Import.objects.filter(pk=import_id).exclude(status=ImportStatus.DONE).update(
        status=ImportStatus.FAILED, error=error, finished_at=timezone.now()
    )


def _progress(import_id: int, percent: int) -> None:
    Import.objects.filter(pk=import_id, status=ImportStatus.RUNNING).update(progress=percent)


def import_run(*, import_id: int) -> str:
    """The task's body: claim the queued import (once: compare-and-swap), plan it and write it; its status."""
    now = timezone.now()
    # A run whose worker died mid-way rolled back everything it wrote: after the task's time limit, a
    # redelivery may take it over.
    stale = Q(status=ImportStatus.RUNNING, started_at__lt=now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT))
    claimed = Import.objects.filter(Q(status=ImportStatus.QUEUED) | stale, pk=import_id).update(
        status=ImportStatus.RUNNING, progress=5, started_at=now
    )
    if not claimed:
        return "not queued"
    upload = Import.objects.select_related("project", "created_by").get(pk=import_id)
    try:
        files = [(f.name, bytes(f.content)) for f in upload.files.all()]
        export = _read(upload.project, upload.source, upload.options, files)
        _progress(import_id, 20)
        chosen = _mapping(upload.project, jira.analyse(export), upload.mapping)
        planned = _plan(export, chosen)
        _progress(import_id, 40)
        summary = import_write(
            project=upload.project, export=export, mapping=chosen, plan=planned, actor=upload.created_by
        )
    except DomainError as exc:
        _fail(import_id, exc.message)
        return ImportStatus.FAILED
    except Exception as exc:  # noqa: BLE001 - recorded on the import: the page shows it, nothing was written
        logger.exception("import %s failed", import_id)
        _fail(import_id, f"The import failed ({type(exc).__name__}); nothing was changed.")
        return ImportStatus.FAILED
    Import.objects.filter(pk=import_id).update(
        status=ImportStatus.DONE, progress=100, summary=summary, finished_at=timezone.now()
    )
    ImportFile.objects.filter(upload_id=import_id).delete()  # the history is in the log now
    return ImportStatus.DONE


def _plan(export: jira.Export, mapping: jira.ImportMapping) -> jira.Plan:
    try:
        return jira.plan(export, mapping)
    except jira.ImportFormatError as exc:
        raise ImportRefused(exc.problems) from None


def import_files_now(
    *,
    project: Project,
    actor: User | None,
    source: str,
    files: Sequence[tuple[str, bytes]],
    options: Mapping[str, Any] | None = None,
    mapping: object = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Read, map and write in one call (the ``import_jira`` command); ``dry_run`` writes nothing and says
    what would be written."""
    cleaned = _clean_options(source, options)
    export = _read(project, source, cleaned, files)
    chosen = _mapping(project, jira.analyse(export), mapping)
    planned = _plan(export, chosen)
    if dry_run:
        return plan_summary(planned, chosen)
    return import_write(project=project, export=export, mapping=chosen, plan=planned, actor=actor)


def csv_preview(*, project: Project, files: Sequence[tuple[str, bytes]], options: Mapping[str, Any]) -> dict[str, Any]:
    """The first file's headers, columns (guessed unless given) and first rows as they will be read."""
    cleaned = _clean_options(ImportSource.CSV, options)
    if not files:
        raise InvalidInput("Upload a CSV file.", field="files")
    name, content = files[0]
    try:
        shown = csvimport.preview(
            content,
            name=name,
            shape=cleaned["shape"],
            columns=cleaned["columns"],
            date_format=cleaned["date_format"],
            tz=project.tzinfo,
        )
    except jira.ImportFormatError as exc:
        raise ImportRefused(exc.problems) from None
    return to_jsonable(shown)  # type: ignore[return-value]


def plan_summary(planned: jira.Plan, mapping: jira.ImportMapping) -> dict[str, Any]:
    """What an import would write, without writing it."""
    kinds = Counter(step.kind for step in planned.steps)
    return {
        "stories": len(planned.stories),
        "epics": len(planned.epics),
        "events": dict(sorted(kinds.items())),
        "skipped": [{"key": key, "reason": reason} for key, reason in planned.skipped],
        "mapping": mapping.as_json(),
    }


# --- The bulk writer ---------------------------------------------------------------------------------------


@dataclass
class _Live:
    """One story as the import replays it: the row being built and the values its log has reached."""

    story: Story
    new: bool
    sprint_id: int | None
    points: Decimal | None
    assignee: User | None
    flow: projection.StoryFlow | None
    watermark: datetime | None = None  # changes at or before this were imported before
    last_at: datetime | None = None
    changed: bool = False
    labels: list[Label] = field(default_factory=list)
    labels_changed: bool = False
    assignee_name: str = ""  # a Jira assignee who is no Sprintboard user (the row's assignee is then None)


@dataclass
class _Summary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    events: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    states_created: list[str] = field(default_factory=list)
    epics_created: int = 0
    sprints_created: int = 0
    unmatched_users: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

    def skip(self, key: str, reason: str) -> None:
        self.skipped.append({"key": key, "reason": reason})

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["unmatched_users"] = sorted(self.unmatched_users)
        return data


@dataclass
class _Event:
    live: _Live
    kind: str
    field: str
    from_value: Any
    to_value: Any
    actor_id: int | None
    at: datetime
    actor_name: str = ""  # a Jira author who is no Sprintboard user
    to_name: str = ""


def _started(sprint: Sprint) -> datetime:
    """A queued sprint's start: only sprints that started are queued to commit."""
    if sprint.started_at is None:
        raise ValueError(f"sprint {sprint.pk} was queued to commit but has not started")
    return sprint.started_at


def _closed(sprint: Sprint) -> datetime:
    """A queued sprint's close: only closed sprints are queued to close."""
    if sprint.closed_at is None:
        raise ValueError(f"sprint {sprint.pk} was queued to close but is not closed")
    return sprint.closed_at


class _Writer:
    """Replays the plan onto rows in memory, then writes stories, events and sprints in bulk."""

    def __init__(
        self, project: Project, export: jira.Export, mapping: jira.ImportMapping, plan: jira.Plan, actor: Any
    ) -> None:
        self.project, self.export, self.mapping, self.plan = project, export, mapping, plan
        # The importer: the actor of the updates a re-import logs at its own time.
        self.actor_id: int | None = getattr(actor, "pk", None)
        self.summary = _Summary()
        self.floor = project.last_event_at
        self.events: list[_Event] = []
        self.lives: dict[str, _Live] = {}
        self.commitments: list[tuple[Sprint, list[_Live]]] = []
        self.closes: list[Sprint] = []
        self.commitment_points: dict[tuple[int, int], int | float | None] = {}
        self.initial = {p.key: p.initial for p in plan.stories}
        self.too_old: Counter[str] = Counter()

    # -- what the stories point at

    def prepare(self) -> None:
        self.states = self._states()
        self.users = self._users()
        self.epics = self._epics()
        self.labels = self._labels()
        self.sprints = self._sprints()
        self.sprint_names: dict[int | None, str] = {sprint.pk: sprint.name for sprint in self.sprints.values()}

    def _states(self) -> dict[str, WorkflowState]:
        live = {s.name.lower(): s for s in WorkflowState.objects.filter(project=self.project)}
        found: dict[str, WorkflowState] = {}
        for key, (name, category) in self.mapping.statuses.items():
            state = live.get(name.lower())
            if state is None:
                state = project_services.state_add(project=self.project, name=name, category=category)
                live[name.lower()] = state
                self.summary.states_created.append(name)
            elif state.category != category:
                self.summary.warnings.append(
                    f"{name} stays {state.category} (the project's workflow), not {category} as mapped."
                )
            found[key] = state
        return found

    def _users(self) -> dict[str, User]:
        members = _members(self.project)
        return {key: members[name] for key, name in self.mapping.users.items() if name is not None and name in members}

    def _epics(self) -> dict[str, Epic]:
        existing = {e.name: e for e in Epic.objects.filter(project=self.project)}
        epics = {}
        for planned in self.plan.epics:
            epic = existing.get(planned.name)
            if epic is None:
                epic = story_services.epic_save(
                    project=self.project, name=planned.name, description=planned.description
                )
                existing[planned.name] = epic
                self.summary.epics_created += 1
            epics[planned.key] = epic
        return epics

    def _labels(self) -> dict[str, Label]:
        names = {name for story in self.plan.stories for name in story.labels}
        labels = {label.name: label for label in Label.objects.filter(project=self.project, name__in=names)}
        for name in sorted(names - set(labels)):
            labels[name] = story_services.label_save(project=self.project, name=name)
        return labels

    def _sprints(self) -> dict[str, Sprint]:
        used = {s for story in self.plan.stories for s in (story.initial.sprint, story.current.sprint) if s}
        used |= {str(step.value) for step in self.plan.steps if step.kind == "sprint" and step.value}
        existing = {s.name: s for s in Sprint.objects.filter(project=self.project)}
        found: dict[str, Sprint] = {}
        wanted = sorted((self.export.sprints[i] for i in used if i in self.export.sprints), key=jira.sprint_order)
        for sprint_id in sorted(used - set(self.export.sprints)):
            self.summary.warnings.append(
                f"Sprint {sprint_id} is named in the changelog only: its stories go to the backlog."
            )
        for jira_sprint in wanted:
            sprint = existing.get(jira_sprint.name)
            found[jira_sprint.id] = self._sprint(jira_sprint, sprint)
        return found

    def _sprint(self, source: jira.JiraSprint, sprint: Sprint | None) -> Sprint:
        status = {"closed": SprintStatus.CLOSED, "active": SprintStatus.ACTIVE}.get(source.state, SprintStatus.PLANNED)
        if sprint is not None:
            return self._advance_sprint(sprint, source, status)
        zone = self.project.tzinfo
        start = (source.start or self._first_use(source) or timezone.now()).astimezone(zone).date()
        end = (
            source.end.astimezone(zone).date()
            if source.end
            else start + timedelta(days=self.project.sprint_length_days - 1)
        )
        self._check_active(source, status)
        end = max(start, end)
        # A started sprint always has its start (and a closed one its close): the dates stand in when Jira has none.
        started_at = (
            (source.start or datetime.combine(start, time.min, zone)) if status != SprintStatus.PLANNED else None
        )
        closed_at = None
        if status == SprintStatus.CLOSED:
            closed_at = self._close_time(source) or datetime.combine(end + timedelta(days=1), time.min, zone)
            closed_at = min(max(closed_at, started_at), timezone.now())  # type: ignore[type-var]
        sprint = Sprint.objects.create(
            project=self.project,
            name=source.name,
            goal=source.goal[:2000],
            start=start,
            end=end,
            status=status,
            started_at=started_at,
            closed_at=closed_at,
        )
        self.summary.sprints_created += 1
        if sprint.started_at is not None:
            self.commitments.append((sprint, []))
        if sprint.closed_at is not None:
            self.closes.append(sprint)
        return sprint

    def _first_use(self, source: jira.JiraSprint) -> datetime | None:
        """When the history first puts a story in a sprint Jira gives no dates for."""
        moves = [s.at for s in self.plan.steps if s.kind == "sprint" and s.value == source.id]
        created = [p.created for p in self.plan.stories if source.id in (p.initial.sprint, p.current.sprint)]
        return min(moves + created, default=None)

    def _close_time(self, source: jira.JiraSprint) -> datetime | None:
        """Jira's completeDate, just before the carry-over it logs at the same moment (as ``sprint_close`` does:
        the report as at the close counts those stories as not completed, not as removed)."""
        close = source.completed or source.end
        if close is None:
            return None
        window = close - CARRY_OVER_WINDOW
        moves = [
            s.at for s in self.plan.steps if s.kind == "sprint" and window <= s.at <= close and s.value != source.id
        ]
        return min([close, *(at - story_services.CARRY_OVER_DELAY for at in moves)])

    def _check_active(self, source: jira.JiraSprint, status: str) -> None:
        if status != SprintStatus.ACTIVE:
            return
        active = Sprint.objects.filter(project=self.project, status=SprintStatus.ACTIVE).first()
        if active is not None:
            raise Conflict(
                f"{active.name} is active in {self.project.key}, and Jira's {source.name} is active too: close one first.",
                field="sprints",
                code="sprint_active",
            )

    def _advance_sprint(self, sprint: Sprint, source: jira.JiraSprint, status: str) -> Sprint:
        """A sprint imported before moves forward with Jira (planned → active → closed), never back."""
        order: list[str] = [SprintStatus.PLANNED, SprintStatus.ACTIVE, SprintStatus.CLOSED]
        if order.index(status) <= order.index(sprint.status):
            return sprint
        if status == SprintStatus.ACTIVE:
            self._check_active(source, status)
        if sprint.started_at is None:
            sprint.started_at = source.start or timezone.now()
            sprint.start_seq = self.project.last_event_seq
            sprint.commitment = []
        if status == SprintStatus.CLOSED:
            sprint.closed_at = self._close_time(source) or timezone.now()
        sprint.status = status
        sprint.save()
        return sprint

    # -- the stories

    def build(self) -> None:
        existing = {
            s.external_key: s
            for s in Story.objects.filter(project=self.project, external_key__in=[p.key for p in self.plan.stories])
            .select_related("state", "assignee")
            .prefetch_related("labels")
        }
        watermarks = dict(
            ImportedIssue.objects.filter(story__in=existing.values()).values_list("story_id", "last_change_at")
        )
        new = [p for p in self.plan.stories if p.key not in existing]
        top = Story.objects.filter(project=self.project).aggregate(m=Max("rank"))["m"]
        ranks = iter(ranking.spread(top, None, len(new)) if new else [])
        for planned in self.plan.stories:
            story = existing.get(planned.key)
            if story is None:
                self._new(planned, next(ranks))
            elif story.deleted_at is not None:
                self.summary.skip(planned.key, f"{story.key} was deleted in Sprintboard")
            else:
                self.lives[planned.key] = self._existing(story, watermarks.get(story.pk))

    def _new(self, planned: jira.PlannedStory, rank: str) -> None:
        if self.floor is not None and planned.created < self.floor:
            self.summary.skip(
                planned.key,
                f"created {planned.created.isoformat()}, before {self.project.key}'s last event "
                f"({self.floor.isoformat()}): the log is written oldest first",
            )
            return
        initial = planned.initial
        self.project.last_story_number += 1
        number = self.project.last_story_number
        story = Story(
            project=self.project,
            number=number,
            key=f"{self.project.key}-{number}",
            external_key=planned.key,
            title=planned.title,
            description=planned.description[:MAX_DESCRIPTION],
            kind=planned.kind,
            state=self.states[initial.state],
            rank=rank,
            epic=self.epics.get(planned.epic) if planned.epic else None,
            created_at=planned.created,
            updated_at=planned.created,
            created_by=self.users.get(planned.reporter) if planned.reporter else None,
        )
        self.lives[planned.key] = _Live(
            story=story,
            new=True,
            sprint_id=None,
            points=None,
            assignee=None,
            flow=None,
            labels=[self.labels[name] for name in planned.labels],
        )

    def _existing(self, story: Story, watermark: datetime | None) -> _Live:
        return _Live(
            story=story,
            new=False,
            sprint_id=story.sprint_id,
            points=story.points,
            assignee=story.assignee,
            flow=story.flow,
            watermark=watermark,
            labels=list(story.labels.all()),
        )

    def replay(self) -> None:
        pending = sorted((s for s in self.commitments if s[0].started_at), key=lambda s: _started(s[0]))
        closes = sorted(self.closes, key=_closed)
        for step in self.plan.steps:
            while pending and _started(pending[0][0]) < step.at:
                self._commit(*pending.pop(0))
            while closes and _closed(closes[0]) + story_services.CARRY_OVER_DELAY < step.at:
                self._close(closes.pop(0))
            live = self.lives.get(step.key)
            if live is None:
                continue
            live.last_at = step.at
            if live.watermark is not None and step.at <= live.watermark:
                continue
            if self.floor is not None and step.at < self.floor and not live.new:
                self.too_old[step.key] += 1
                continue
            self._apply(live, step)
        for sprint, members in pending:
            self._commit(sprint, members)
        for sprint in closes:
            self._close(sprint)
        for key, count in self.too_old.items():
            self.summary.skip(
                key,
                f"{count} change{'s' if count > 1 else ''} older than {self.project.key}'s last event "
                f"({self.floor.isoformat() if self.floor else ''}) not written: the log is written oldest first",
            )

    def _commit(self, sprint: Sprint, members: list[_Live]) -> None:
        """The sprint starts: its commitment is the stories in it now, and the log's seq so far."""
        sprint.start_seq = self.project.last_event_seq + len(self.events)
        members.extend(live for live in self.lives.values() if live.sprint_id == sprint.pk and live.flow is not None)
        for live in members:
            self.commitment_points[(sprint.pk, id(live))] = points_value(live.points)

    def _close(self, sprint: Sprint) -> None:
        """The sprint closes: unfinished stories still in it go to the backlog, as ``sprint_close`` moves them (Jira
        keeps a completed sprint on the issues it sends back to the backlog, and logs nothing)."""
        at = _closed(sprint) + story_services.CARRY_OVER_DELAY
        for live in self.lives.values():
            story = live.story
            if live.sprint_id != sprint.pk or live.flow is None or story.state.category in CLOSED_CATEGORIES:
                continue
            live.sprint_id = story.sprint_id = None
            self.events.append(_Event(live, EventKind.SPRINT, "", sprint.pk, None, None, at))
            story.version += 1
            story.updated_at = at
            live.changed = True

    def _actor(self, author: str | None) -> tuple[int | None, str]:
        """The author's Sprintboard user id, or their Jira name when they are none (kept on the events)."""
        user = self.users.get(author) if author else None
        if author and user is None:
            return None, self._unmatched(author)
        return (user.pk if user is not None else None), ""

    def _unmatched(self, key: str) -> str:
        known = self.export.users.get(key)
        name = (known.display_name if known else key)[:200]
        self.summary.unmatched_users.add(name)
        return name

    def _apply(self, live: _Live, step: jira.Step) -> None:
        story = live.story
        actor, actor_name = self._actor(step.author)
        if step.kind == "created":
            if live.new:
                self._created(live, step, actor, actor_name)
            return
        if live.flow is None:  # a story skipped at creation: nothing to change
            return
        change = self._change(live, step)
        if change is None:
            return
        kind, from_value, to_value, to_name = change
        self.events.append(_Event(live, kind, "", from_value, to_value, actor, step.at, actor_name, to_name))
        live.flow = projection.advance(live.flow, kind=kind, at=step.at, category=story.state.category)
        story.version += 1
        story.updated_at = step.at
        live.changed = True

    def _created(self, live: _Live, step: jira.Step, actor: int | None, actor_name: str) -> None:
        story = live.story
        planned_initial = self.initial[step.key]
        live.sprint_id = self._sprint_pk(planned_initial.sprint)
        live.points = _points(planned_initial.points)
        live.assignee, live.assignee_name = self._assignee(planned_initial.assignee)
        story.sprint_id, story.points, story.assignee = live.sprint_id, live.points, live.assignee
        if planned_initial.flag:
            story.blocked, story.blocked_reason = True, planned_initial.flag[:300]
        snapshot = {
            "state": story.state.pk,
            "sprint": live.sprint_id,
            "points": points_value(live.points),
            "assignee": live.assignee.get_username() if live.assignee else None,
            "title": story.title,
            "kind": story.kind,
            "epic": story.epic.pk if story.epic else None,
            "labels": sorted(label.name for label in live.labels),
            "deliverable": None,
            "rank": story.rank,
        }
        by = {"actor_name": actor_name}
        self.events.append(
            _Event(live, EventKind.CREATED, "", None, snapshot, actor, step.at, **by, to_name=story.state.name)
        )
        live.flow = projection.advance(None, kind=EventKind.CREATED, at=step.at, category=story.state.category)
        if live.assignee_name:  # assigned in Jira to someone who is no Sprintboard user: the name, on the log
            self.events.append(
                _Event(live, EventKind.ASSIGNEE, "", None, None, actor, step.at, **by, to_name=live.assignee_name)
            )
            live.flow = projection.advance(live.flow, kind=EventKind.ASSIGNEE, at=step.at)
        if story.blocked:  # flagged from the start: a block right after creation, as the services would log it
            self.events.append(_Event(live, EventKind.BLOCKED, "", None, story.blocked_reason, actor, step.at, **by))
            live.flow = projection.advance(live.flow, kind=EventKind.BLOCKED, at=step.at)
        live.changed = True

    def _sprint_pk(self, jira_id: str | None) -> int | None:
        sprint = self.sprints.get(jira_id) if jira_id else None
        return sprint.pk if sprint is not None else None

    def _assignee(self, key: str | None) -> tuple[User | None, str]:
        """A Jira assignee as a Sprintboard user, or as a name alone when they are none."""
        if key is None:
            return None, ""
        user = self.users.get(key)
        return (user, "") if user is not None else (None, self._unmatched(key))

    def _change(self, live: _Live, step: jira.Step) -> tuple[str, Any, Any, str] | None:
        """The event a step writes (kind, from, to, to's name), with the row changed; None when nothing changes."""
        story = live.story
        before: Any  # the value the step replaces: a state id, a sprint id, points, a user...
        if step.kind == "state":
            state = self.states.get(str(step.value)) if step.value is not None else None
            if state is None or state.pk == story.state.pk:
                return None
            before, story.state = story.state.pk, state
            return EventKind.STATE, before, state.pk, state.name
        if step.kind == "sprint":
            sprint_id = self._sprint_pk(str(step.value) if step.value else None)
            if sprint_id == live.sprint_id:
                return None
            before, live.sprint_id = live.sprint_id, sprint_id
            story.sprint_id = sprint_id
            return EventKind.SPRINT, before, sprint_id, self.sprint_names.get(sprint_id, "")
        if step.kind == "points":
            points = _points(step.value)
            if points == live.points:
                return None
            before, live.points = live.points, points
            story.points = points
            return EventKind.POINTS, points_value(before), points_value(points), ""
        if step.kind == "assignee":
            user, name = self._assignee(str(step.value) if step.value else None)
            if user == live.assignee and name == live.assignee_name:
                return None
            before, live.assignee, live.assignee_name = live.assignee, user, name
            story.assignee = user
            username = user.get_username() if user else None
            return (
                EventKind.ASSIGNEE,
                before.get_username() if before else None,
                username,
                name or story_services.value_name(user),
            )
        if step.kind == "blocked":
            reason = str(step.value or FLAG_REASON).strip()[:300] or FLAG_REASON
            if story.blocked and story.blocked_reason == reason:
                return None
            story.blocked, story.blocked_reason = True, reason
            return EventKind.BLOCKED, None, reason, ""
        if step.kind == "unblocked" and story.blocked:
            story.blocked, story.blocked_reason = False, ""
            return EventKind.UNBLOCKED, None, None, ""
        return None

    def refresh_existing(self, at: datetime) -> None:
        """Title, description, kind, epic and labels as Jira has them now: ``updated`` events at ``at``."""
        for planned in self.plan.stories:
            live = self.lives.get(planned.key)
            if live is None or live.new:
                continue
            story = live.story
            wanted = {
                "title": planned.title,
                "description": planned.description[:MAX_DESCRIPTION],
                "kind": planned.kind,
                "epic": self.epics.get(planned.epic) if planned.epic else None,
            }
            for name, value in wanted.items():
                old = getattr(story, name)
                if old == value:
                    continue
                setattr(story, name, value)
                logged = (lambda v: v.pk if v is not None else None) if name == "epic" else (lambda v: v)
                from_value, to_value = (None, None) if name == "description" else (logged(old), logged(value))
                to_name = story_services.value_name(value) if name == "epic" else ""
                self.events.append(
                    _Event(live, EventKind.UPDATED, name, from_value, to_value, self.actor_id, at, to_name=to_name)
                )
                live.changed = True
            labels = sorted(planned.labels)
            current = sorted(label.name for label in live.labels)
            if labels != current:
                live.labels = [self.labels[name] for name in labels]
                self.events.append(_Event(live, EventKind.UPDATED, "labels", current, labels, self.actor_id, at))
                live.labels_changed = True
                live.changed = True
            if live.changed:
                story.version += 1
                story.updated_at = max(story.updated_at, at)

    # -- writing

    def write(self) -> None:
        zone = self.project.tzinfo
        lives = [live for live in self.lives.values() if live.flow is not None]
        for live in lives:
            live.story.set_flow(live.flow, zone=zone)  # type: ignore[arg-type]
        new = [live.story for live in lives if live.new]
        Story.objects.bulk_create(new, batch_size=2_000)
        through = Story.labels.through
        through.objects.bulk_create(
            [through(story_id=live.story.pk, label_id=label.pk) for live in lives if live.new for label in live.labels],
            batch_size=BATCH,
        )
        self._write_existing([live for live in lives if not live.new and live.changed])
        story_services.story_search_update(
            project_id=self.project.pk,
            story_ids=[live.story.pk for live in lives if live.new or live.changed],
        )
        self._write_events()
        self._write_sprints()
        self._write_watermarks(lives)
        self.summary.created = len(new)
        self.summary.updated = sum(1 for live in lives if not live.new and live.changed)
        self.summary.unchanged = sum(1 for live in lives if not live.new and not live.changed)

    def _write_existing(self, lives: list[_Live]) -> None:
        fields = [
            "state", "sprint", "points", "assignee", "blocked", "blocked_reason", "title", "description", "kind",
            "epic", "version", "updated_at", *Story.FLOW_FIELDS,
        ]  # fmt: skip
        Story.objects.bulk_update([live.story for live in lives], fields, batch_size=2_000)
        for live in lives:
            if live.labels_changed:
                live.story.labels.set(live.labels)

    def _write_events(self) -> None:
        if not self.events:
            return
        first = self.project.last_event_seq + 1
        if connection.vendor == "postgresql":
            self._copy_events(first)
        else:
            rows = [
                StoryEvent(
                    project=self.project,
                    seq=first + offset,
                    story_id=event.live.story.pk,
                    kind=event.kind,
                    field=event.field,
                    from_value=event.from_value,
                    to_value=event.to_value,
                    actor_id=event.actor_id,
                    actor_name=event.actor_name,
                    to_name=event.to_name,
                    at=event.at,
                )
                for offset, event in enumerate(self.events)
            ]
            StoryEvent.objects.bulk_create(rows, batch_size=BATCH)
        self.project.last_event_seq += len(self.events)
        self.project.last_event_at = self.events[-1].at
        self.summary.events = len(self.events)
        signals.events_appended.send(
            sender=StoryEvent, project_id=self.project.pk, first_seq=first, last_seq=self.project.last_event_seq
        )

    def _copy_events(self, first: int) -> None:
        """The same rows as ``bulk_create`` writes, by COPY: the ORM's per-value preparation of 100,000 events
        costs more than the database's work. In the import's transaction like any other write."""
        table = connection.ops.quote_name(StoryEvent._meta.db_table)
        # get_field is typed to answer reverse relations too; these names are all columns.
        columns = ", ".join(connection.ops.quote_name(StoryEvent._meta.get_field(n).column) for n in EVENT_COLUMNS)  # type: ignore[union-attr, arg-type]
        project_id = self.project.pk
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for offset, event in enumerate(self.events):
                copy.write_row(
                    (
                        project_id,
                        first + offset,
                        event.live.story.pk,
                        event.kind,
                        event.field,
                        None if event.from_value is None else json.dumps(event.from_value),
                        None if event.to_value is None else json.dumps(event.to_value),
                        event.actor_id,
                        event.actor_name,
                        event.to_name,
                        event.at,
                    )
                )

    def _write_sprints(self) -> None:
        points = self.commitment_points
        for sprint, members in self.commitments:
            sprint.commitment = [
                {"story": live.story.pk, "key": live.story.key, "points": points.get((sprint.pk, id(live)))}
                for live in sorted(members, key=lambda live: live.story.rank)
                if live.story.pk is not None
            ]
            sprint.save(update_fields=["commitment", "start_seq"])

    def _write_watermarks(self, lives: list[_Live]) -> None:
        marks = [ImportedIssue(story_id=live.story.pk, last_change_at=live.last_at) for live in lives if live.last_at]
        ImportedIssue.objects.bulk_create(
            marks, batch_size=BATCH, update_conflicts=True, unique_fields=["story"], update_fields=["last_change_at"]
        )


def _points(value: object) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.1"))


@transaction.atomic
def import_write(
    *,
    project: Project,
    export: jira.Export,
    mapping: jira.ImportMapping,
    plan: jira.Plan,
    actor: User | None,
) -> dict[str, Any]:
    """Write ``plan`` into ``project`` in bulk, exactly as the services would have written it change by
    change; the summary (created, updated, unchanged, skipped with reasons, events, ...)."""
    project, now = story_services.lock_project(project.pk, None)
    writer = _Writer(project, export, mapping, plan, actor)
    writer.prepare()
    writer.build()
    writer.replay()
    last = writer.events[-1].at if writer.events else now
    writer.refresh_existing(max(now, last))
    writer.write()
    Project.objects.filter(pk=project.pk).update(
        last_story_number=project.last_story_number,
        last_event_seq=project.last_event_seq,
        last_event_at=project.last_event_at,
        flow_seq=project.last_event_seq,
    )
    summary = writer.summary
    summary.skipped = [*({"key": k, "reason": r} for k, r in plan.skipped), *summary.skipped]
    return summary.as_json()


__all__ = [
    "ImportRefused",
    "import_confirm",
    "import_create",
    "import_files_now",
    "import_run",
    "import_write",
    "csv_preview",
    "plan_summary",
]
