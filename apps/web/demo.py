"""The demo project: a data team's last fourteen weeks, written as true, backdated history.

``seed_demo()`` creates the demo users, the ``DATA`` project with its epics,
labels and about 150 stories, then plays fourteen weeks of work through the
services: a setup week, six closed two-week sprints, an active sprint that
contains today and a planned next one. It is a small discrete-event simulation:
every action is scheduled at a moment in working hours (Mon–Fri, 9:00–18:00 in
the project's time zone) and the actions run in time order, so the event log's
``seq`` order is its ``at`` order, and nothing is written after ``now``.

The team pulls work from the active sprint; stories wait for review, get
blocked ("waiting for warehouse access"), fail validation, are re-estimated,
reopened, cancelled, added mid-sprint, descoped and carried over, as real ones
are. A seeded ``random.Random`` makes it deterministic: the closed sprints come
out the same whatever the day, only the cut at ``now`` moves.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Generator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.errors import Conflict
from apps.deliverables import selectors as deliverable_selectors
from apps.deliverables import services as deliverable_services
from apps.deliverables.models import Deliverable, DeliverableStatus, RunSource, RunStatus
from apps.projects import services as project_services
from apps.projects.models import CLOSED_CATEGORIES, Category, Project, Role, WorkflowState
from apps.stories import selectors, services
from apps.stories.models import Sprint, Story
from apps.web.demo_data import (
    BLOCK_REASONS,
    CATALOGUE_ENTRIES,
    CLOSED_SPRINTS,
    DELIVERABLES,
    DEMO_PASSWORD,
    DEVELOPERS,
    EPIC_OF,
    EPICS,
    EVIDENCE,
    EXPECTED_INTERVAL_HOURS,
    FAILING_RUN,
    FATES,
    FIBONACCI,
    LABELS,
    PASSING_RUN,
    PASSING_RUN_OF,
    PEOPLE,
    PROJECT_KEY,
    PROJECT_NAME,
    REESTIMATE_NOTES,
    REOPEN_NOTES,
    SEED,
    SPRINT_GOALS,
    STAKEHOLDER_ASKS,
    TIME_ZONE,
    VALIDATION_FAILURES,
    VALIDATION_NOTES,
    WAITING_NOTES,
    WORKDAY,
    DemoRun,
    Entry,
    Person,
    acceptance_criteria,
    description,
)
from sprintboard import pipelines

__all__ = ["DEMO_PASSWORD", "PEOPLE", "PROJECT_KEY", "Person", "seed_demo"]

# --- Entry point -----------------------------------------------------------------------


@transaction.atomic
def seed_demo(*, now: datetime | None = None) -> Project | None:
    """Create the demo project with its history; None, writing nothing, when it already exists."""
    if Project.objects.filter(key=PROJECT_KEY).exists():
        return None
    now = now or timezone.now()
    users = _users()
    try:
        project = project_services.project_create(
            creator=users["admin"], key=PROJECT_KEY, name=PROJECT_NAME, timezone=TIME_ZONE
        )
    except Conflict:  # another seed got there first
        return None
    for person in PEOPLE:
        if person.role != Role.ADMIN:
            project_services.membership_add(project=project, user=users[person.username], role=person.role)
    _Demo(project=project, users=users, now=now, rng=random.Random(SEED)).run()
    project.refresh_from_db()
    return project


def _users() -> dict[str, User]:
    """The demo's people; an account that already exists keeps its password."""
    User = get_user_model()
    # Hashed once: the hasher is slow on purpose, and five hashes of one public password protect nothing more.
    password = make_password(DEMO_PASSWORD)
    users = {}
    for person in PEOPLE:
        user = User.objects.filter(username=person.username).first()
        if user is None:
            admin = person.role == Role.ADMIN
            user = User.objects.create(
                username=person.username,
                email=f"{person.username}@example.com",
                password=password,
                first_name=person.first_name,
                last_name=person.last_name,
                is_staff=admin,
                is_superuser=admin,
            )
        users[person.username] = user
    return users


# --- The simulation --------------------------------------------------------------------

# A process yields how long it waits: working hours (a number) or until a moment (a datetime).
Process = Generator[float | datetime, None, None]


class _Demo:
    def __init__(self, *, project: Project, users: dict[str, User], now: datetime, rng: random.Random) -> None:
        self.project = project
        self.users = users
        self.now = now
        self.rng = rng
        self.zone = ZoneInfo(TIME_ZONE)
        self.states = {state.name: state for state in WorkflowState.objects.filter(project=project)}
        self.epics = {
            code: services.epic_save(project=project, name=name, description=f"{about}\n\n**For:** {consumers}")
            for code, (name, about, consumers, _) in EPICS.items()
        }
        self.labels = {
            name: services.label_save(project=project, name=name, color=color) for name, color in LABELS.items()
        }
        self.speed = {p.username: p.hours_per_point for p in PEOPLE if p.hours_per_point}
        self.busy: dict[str, set[int]] = {dev: set() for dev in DEVELOPERS}
        self.stories: dict[int, Story] = {}
        self.entries: dict[int, Entry] = {}
        self.active: Sprint | None = None
        self.added_mid_sprint = 0
        self.queue: list[tuple[datetime, int, Process]] = []
        self.deliverables: dict[str, Deliverable] = {}
        # Its own random stream, so that the deliverables leave the stories' history exactly as it was.
        self.deliverable_rng = random.Random(SEED + 1)
        self.deliverable_for = {title: code for code, spec in DELIVERABLES.items() for title in spec[-1]}
        self.order = itertools.count()
        today = now.astimezone(self.zone).date()
        # The active sprint started on the Monday of last week, so today is in its second week.
        active_start = today - timedelta(days=today.weekday() + 7)
        self.first_start = active_start - timedelta(weeks=2 * CLOSED_SPRINTS)
        self.clock = self._moment(self.first_start - timedelta(days=7), 0)

    # The event loop -------------------------------------------------------------

    def run(self) -> None:
        self.spawn(self._calendar(), self._moment(self.first_start - timedelta(days=7), 9))
        self.spawn(self._intake(), self._moment(self.first_start, 9))
        self.spawn(self._incidents(), self._moment(self.first_start, 9))
        self._create_deliverables(self._moment(self.first_start - timedelta(days=7), 9))
        self.spawn(self._deliverable_work(), self._moment(self.first_start, 14))
        while self.queue:
            at, _, process = heapq.heappop(self.queue)
            if at > self.now:
                break
            self.clock = at
            try:
                wait = next(process)
            except StopIteration:
                continue
            self.spawn(process, wait if isinstance(wait, datetime) else self._after(at, wait))
        self._pipeline_runs()

    def spawn(self, process: Process, at: datetime) -> None:
        heapq.heappush(self.queue, (max(at, self.clock), next(self.order), process))

    def _moment(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone).astimezone(UTC)

    def _after(self, start: datetime, hours: float) -> datetime:
        """``hours`` of working time after ``start``: Mon–Fri, 9:00–18:00 in the project's zone."""
        local = self._next_working(start.astimezone(self.zone))
        remaining = timedelta(minutes=round(hours * 60))
        while True:
            closing = local.replace(hour=WORKDAY[1].hour, minute=0, second=0, microsecond=0)
            if local + remaining <= closing:
                return (local + remaining).astimezone(UTC)
            remaining -= closing - local
            local = self._next_working(closing)

    def _next_working(self, local: datetime) -> datetime:
        while local.weekday() >= 5 or local.time() >= WORKDAY[1]:
            local = datetime.combine(local.date() + timedelta(days=1), WORKDAY[0], tzinfo=self.zone)
        if local.time() < WORKDAY[0]:
            local = datetime.combine(local.date(), WORKDAY[0], tzinfo=self.zone)
        return local

    def _sprint_day(self) -> int:
        return (self.clock.astimezone(self.zone).date() - self.active.start).days if self.active else -1

    # Writes, always at the simulation's clock -----------------------------------------------

    def _create(
        self,
        entry: Entry,
        *,
        actor: str,
        sprint: Sprint | None = None,
        state: str = "Backlog",
        estimated: bool = True,
        placement: services.Placement = services.BOTTOM,
    ) -> Story:
        story = services.story_create(
            project=self.project,
            actor=self.users[actor],
            title=entry.title,
            description=description(entry),
            acceptance_criteria=acceptance_criteria(entry),
            kind=entry.kind,
            points=entry.points if estimated else None,
            state=self.states[state],
            epic=self.epics[entry.epic],
            labels=[self.labels[name] for name in entry.labels],
            sprint=sprint,
            placement=placement,
            at=self.clock,
            deliverable=self._open_deliverable(entry.title),
        )
        self.stories[story.pk] = story
        self.entries[story.pk] = entry
        return story

    def _update(self, story: Story, actor: str, **fields) -> Story:
        return services.story_update(story=story, actor=self.users[actor], at=self.clock, **fields)

    def _state(self, story: Story, actor: str, name: str, **fields) -> Story:
        return self._update(story, actor, state=self.states[name], **fields)

    def _move(self, story: Story, actor: str, placement: services.Placement, **sprint) -> Story:
        return services.story_move(story=story, actor=self.users[actor], placement=placement, at=self.clock, **sprint)

    def _comment(self, story: Story, author: str, body: str) -> None:
        services.comment_add(story=story, author=self.users[author], body=body, at=self.clock)

    def _backlog(self) -> list[Story]:
        rows = Story.objects.filter(project=self.project).filter(selectors.backlog_filter()).order_by("rank")
        return [self.stories[pk] for pk in rows.values_list("pk", flat=True)]

    def _open_in(self, sprint: Sprint) -> list[Story]:
        rows = Story.objects.alive().filter(sprint=sprint).exclude(state__category__in=CLOSED_CATEGORIES)
        return [self.stories[pk] for pk in rows.order_by("rank").values_list("pk", flat=True)]

    # The calendar: setup week, then plan, start, refine, descope and close each sprint -------------

    def _calendar(self) -> Process:
        setup = self.first_start - timedelta(days=7)
        initial = self._initial_entries()
        moments = sorted(self._after(self._moment(setup, 9), self.rng.uniform(0, 4 * 9)) for _ in initial)
        for entry, at in zip(initial, moments, strict=True):
            yield at
            self._create(entry, actor=self.rng.choice(("owner", "owner", "admin")), estimated=self.rng.random() < 0.6)
        yield self._moment(setup + timedelta(days=4), 15)
        self._refine(backlog_only=True)
        sprint = self._plan_next(0)
        for index in range(CLOSED_SPRINTS + 1):
            start = sprint.start
            yield self._moment(start, 9, 30)
            self._plan(sprint)
            yield self._moment(start, 10)
            self.active = services.sprint_start(sprint=sprint, actor=self.users["owner"], at=self.clock)
            self.added_mid_sprint = 0
            self._pull_everyone()
            yield self._moment(start + timedelta(days=2), 14)
            self._refine()
            following = self._plan_next(index + 1)
            yield self._moment(start + timedelta(days=7), 10)
            self._descope()
            if index == CLOSED_SPRINTS:
                return
            yield self._moment(start + timedelta(days=11), 16)
            self._close(sprint)
            sprint = following

    def _initial_entries(self) -> list[Entry]:
        """The backlog the team starts with: the first three fifths of the early epics' planned work."""
        initial = []
        for code, (_, _, _, wave) in EPICS.items():
            planned = [e for e in CATALOGUE_ENTRIES if e.epic == code and e.kind != "bug"]
            if wave == 0:
                initial += planned[: round(len(planned) * 0.6)]
        return initial

    def _plan_next(self, index: int) -> Sprint:
        start = self.first_start + timedelta(weeks=2 * index)
        sprint = services.sprint_create(
            project=self.project,
            actor=self.users["owner"],
            name=f"Sprint {index + 1}",
            goal=SPRINT_GOALS[index],
            start=start,
            end=start + timedelta(days=self.project.sprint_length_days - 1),
            at=self.clock,
        )
        if index > 0:  # a head start on the next sprint, agreed at refinement
            for story in self._backlog()[: self.rng.randint(1, 3)]:
                self._commit(story, sprint)
        return sprint

    def _commit(self, story: Story, sprint: Sprint) -> None:
        if story.points is None:
            self._estimate(story)
        self._move(story, "owner", services.BOTTOM, sprint=sprint)
        if story.state.category == Category.BACKLOG:
            self._state(story, "owner", "Ready")

    def _estimate(self, story: Story) -> None:
        entry = self.entries[story.pk]
        points = entry.points if entry.points is not None else self.rng.choice((1, 2, 3, 5))
        services.story_estimate(story=story, points=points, actor=self.users["owner"], at=self.clock)

    def _plan(self, sprint: Sprint) -> None:
        """Fill the sprint from the top of the backlog up to the points the team expects to finish."""
        target = self.rng.randint(22, 25) if sprint.start == self.first_start else self.rng.randint(26, 31)
        planned: Decimal | int = sum(s.points or 0 for s in self._open_in(sprint))
        for story in self._backlog():
            if planned >= target:
                break
            self._commit(story, sprint)
            planned += story.points or 0

    def _refine(self, *, backlog_only: bool = False) -> None:
        """Backlog refinement: estimate the top of the backlog, reorder it, drop what is no longer wanted."""
        backlog = self._backlog()
        for story in [s for s in backlog[:20] if s.points is None][:8]:
            self._estimate(story)
        if backlog_only or len(backlog) < 12:
            return
        if self.active is not None and self.rng.random() < 0.6:
            # A stakeholder's request jumps the queue: added to the running sprint.
            requests = [s for s in backlog if "stakeholder-request" in self.entries[s.pk].labels]
            urgent = (requests or backlog)[0]
            self._comment(urgent, "owner", "Pulling this into the current sprint: Sofia needs it for the QBRs.")
            self._commit(urgent, self.active)
            backlog.remove(urgent)
            self._pull_everyone()
        for story in self.rng.sample(backlog[8:30], 2):
            self._move(story, "owner", self.rng.choice((services.TOP, services.Placement(after=backlog[1]))))
        if self.rng.random() < 0.5:
            dropped = self.rng.choice(backlog[-15:])
            self._comment(dropped, "owner", "Superseded by the new plan with sales ops; closing.")
            self._state(dropped, "owner", "Won't do")
        if self.rng.random() < 0.4:
            story = self.rng.choice([s for s in backlog[:15] if s.points is not None] or backlog[:1])
            bigger = [p for p in FIBONACCI if p > (story.points or 0)][0]
            services.story_estimate(story=story, points=bigger, actor=self.users["owner"], at=self.clock)

    def _descope(self) -> None:
        """Halfway through, the product owner takes out work that will not fit."""
        if self.active is None:
            return
        waiting = [s for s in self._open_in(self.active) if s.state.category in (Category.BACKLOG, Category.TODO)]
        if len(waiting) >= 2 and self.rng.random() < 0.6:
            story = waiting.pop()
            self._comment(story, "owner", "Descoped: it will not fit this sprint, back to the backlog.")
            self._move(story, "owner", services.TOP, sprint=None)
        if len(waiting) >= 2 and self.rng.random() < 0.35:
            story = waiting.pop()
            self._comment(story, "owner", "Sales ops no longer needs this after the reorganisation.")
            self._state(story, "owner", "Won't do")

    def _close(self, sprint: Sprint) -> None:
        carried = [s.pk for s in self._open_in(sprint)]
        services.sprint_close(sprint=sprint, actor=self.users["owner"], unfinished="next_sprint", at=self.clock)
        for pk in carried:  # moved by sprint_close on its own instances
            self.stories[pk].refresh_from_db()
        self.active = None

    # New work arriving: planned stories, bugs found, stakeholder requests -------------------------

    def _intake(self) -> Process:
        initial = set(self._initial_entries())
        later = [e for e in CATALOGUE_ENTRIES if e not in initial]
        later.sort(key=lambda e: e.wave * 10 + self.rng.uniform(0, 55))
        working_days = [self.first_start + timedelta(days=d) for d in range(2 * 7 * CLOSED_SPRINTS + 5) if (d % 7) < 5]
        for position, entry in enumerate(later):
            day = working_days[position * len(working_days) // len(later)]
            yield max(self._moment(day, 9) + timedelta(minutes=self.rng.randrange(9 * 60)), self.clock)
            self._arrive(entry)

    def _arrive(self, entry: Entry) -> None:
        requester = "stakeholder" if "stakeholder-request" in entry.labels else None
        urgent = entry.kind == "bug" and self.active is not None and self._sprint_day() < 10 and self.rng.random() < 0.4
        if urgent:  # a production bug goes straight into the running sprint
            self._create(entry, actor=self.rng.choice(("owner", "member", "priya")), sprint=self.active, state="Ready")
            self._pull_everyone()
            return
        actor = requester or ("owner" if entry.kind != "bug" else self.rng.choice(DEVELOPERS))
        estimated = self.rng.random() < 0.5
        jumps_the_queue = (entry.kind == "bug" or requester is not None) and self.rng.random() < 0.5
        placement = services.TOP if jumps_the_queue else services.BOTTOM
        story = self._create(entry, actor=actor, estimated=estimated, placement=placement)
        if requester:
            self._comment(story, requester, self.rng.choice(STAKEHOLDER_ASKS))

    def _incidents(self) -> Process:
        """One-off moments the demo should show: an edit, a duplicate removed, a deletion undone."""
        yield self._moment(self.first_start + timedelta(days=1), 11, 20)
        contacts = self._find("Ingest HubSpot contacts")
        self._update(
            contacts,
            "member",
            title="Ingest HubSpot contacts and companies",
            description=contacts.description + "\n\nCompanies come along: attribution needs the company domain.",
        )
        yield self._moment(self.first_start + timedelta(days=16), 11, 5)
        original = self._find("Add a region filter to the revenue dashboard")
        duplicate = self._create(
            Entry(
                "R",
                "story",
                None,
                ("looker", "stakeholder-request"),
                "Region filter on the revenue dashboard please",
                "Regional managers keep asking me for their own numbers.",
            ),
            actor="stakeholder",
        )
        yield self._moment(self.first_start + timedelta(days=17), 9, 40)
        self._comment(original, "owner", f"Sofia asked for this again in {duplicate.key}; keeping this one.")
        services.story_delete(story=duplicate, actor=self.users["owner"], at=self.clock)
        yield self._moment(self.first_start + timedelta(days=44), 15, 10)
        victim = self._backlog()[-1]
        services.story_delete(story=victim, actor=self.users["owner"], at=self.clock)
        yield self._moment(self.first_start + timedelta(days=44), 15, 25)
        services.story_restore(story=victim, actor=self.users["owner"], at=self.clock)
        self._comment(victim, "owner", "Deleted by mistake while cleaning up the backlog; restored.")

    # Deliverables: the data products the stories build, their checklists and publication ----------------

    def _create_deliverables(self, at: datetime) -> None:
        for code, (name, kind, owner, consumers, groups, sources, link, weeks, _) in DELIVERABLES.items():
            deliverable = deliverable_services.deliverable_create(
                project=self.project,
                actor=self.users["owner"],
                name=name,
                kind=kind,
                owner=self.users[owner],
                consumers=[self.users[u] for u in consumers],
                consumer_groups=groups,
                data_sources=sources,
                link=link,
                target_date=self.first_start + timedelta(weeks=weeks),
                description=EPICS[EPIC_OF[code]][1],
                at=at,
            )
            for item in deliverable.checklist.filter(text__icontains="sign-off"):
                deliverable_services.checklist_item_update(
                    item=item, actor=self.users["owner"], assignee=self.users["stakeholder"], at=at
                )
            self.deliverables[code] = deliverable

    def _open_deliverable(self, title: str) -> Deliverable | None:
        deliverable = self.deliverables.get(self.deliverable_for.get(title, ""))
        return deliverable if deliverable is not None and not deliverable.is_final else None

    def _deliverable_work(self) -> Process:
        """Every working day at 14:00 (inside a sprint, even on closing day): start, validate, tick and publish the
        deliverables whose stories allow it."""
        day = self.first_start
        while True:
            if day.weekday() < 5:
                yield self._moment(day, 14)
                for code, deliverable in self.deliverables.items():
                    if not deliverable.is_final:
                        self._advance(code, deliverable)
            day += timedelta(days=1)

    def _advance(self, code: str, deliverable: Deliverable) -> None:
        stories = list(deliverable_selectors.linked_stories(deliverable))
        if not stories:
            return
        owner = deliverable.owner
        categories = [s.state.category for s in stories]
        started = [c for c in categories if c in (Category.ACTIVE, Category.WAITING, Category.DONE)]
        if deliverable.status == DeliverableStatus.PROPOSED and started:
            deliverable = deliverable_services.deliverable_change_status(
                deliverable=deliverable, status="in_development", actor=owner, at=self.clock
            )
        open_items = list(deliverable_selectors.checklist(deliverable).filter(done=False))
        all_created = len(stories) == len(DELIVERABLES[code][-1])
        finished = all_created and all(c in CLOSED_CATEGORIES for c in categories)
        some_done = Category.DONE in categories
        if finished and deliverable.status == DeliverableStatus.IN_DEVELOPMENT:
            deliverable = deliverable_services.deliverable_change_status(
                deliverable=deliverable, status="validating", actor=owner, at=self.clock
            )
        # While stories are still open, some items get ticked early, but never all of them.
        if open_items and (finished or (some_done and len(open_items) > 2)) and self.deliverable_rng.random() < 0.6:
            item = open_items[0]
            ticker = item.assignee or owner
            evidence = EVIDENCE.format(self.deliverable_rng.randrange(1000, 9999)) if item.assignee is None else ""
            deliverable_services.checklist_item_update(
                item=item, actor=ticker, done=True, evidence_url=evidence, at=self.clock
            )
        elif finished and not open_items and deliverable.status == DeliverableStatus.VALIDATING:
            deliverable = deliverable_services.deliverable_publish(deliverable=deliverable, actor=owner, at=self.clock)
        self.deliverables[code] = deliverable  # the services return the row as saved

    def _pipeline_runs(self) -> None:
        """The pipelines' latest runs, through the service a pipeline's report goes through: a passing dbt build
        of a dataset expected daily (fresh), and a failing Great Expectations checkpoint, bound to a checklist
        item, on a deliverable of the active sprint (its cards say "Run failed")."""
        admin = self.users["admin"]
        crm = self.deliverables[PASSING_RUN_OF]
        crm = deliverable_services.deliverable_update(
            deliverable=crm, actor=crm.owner, expected_interval_hours=EXPECTED_INTERVAL_HOURS, at=self.now
        )
        self._run(crm, RunSource.DBT, RunStatus.PASSED, PASSING_RUN, actor=admin)
        linked = (
            Story.objects.filter(sprint=self.active, deliverable__isnull=False, deleted_at=None)
            .exclude(deliverable=crm)
            .exclude(deliverable__status=DeliverableStatus.RETIRED)
            .order_by("number")
            .first()
            if self.active is not None
            else None
        )
        if linked is None or linked.deliverable is None:
            return
        watched = linked.deliverable
        item = deliverable_selectors.checklist(watched).order_by("position", "id").last()
        if item is not None:
            deliverable_services.checklist_item_update(
                item=item, actor=watched.owner, bound_source=RunSource.GREAT_EXPECTATIONS, at=self.now
            )
        self._run(watched, RunSource.GREAT_EXPECTATIONS, RunStatus.FAILED, FAILING_RUN, actor=admin)

    def _run(self, deliverable: Deliverable, source: str, status: str, spec: DemoRun, *, actor: User) -> None:
        finished = self.now - timedelta(hours=spec.hours_ago)
        failures = spec.failures
        report = pipelines.PipelineRun(
            source=source,
            external_id=spec.url.rsplit("/", 1)[-1],
            job=spec.job,
            status=status,
            started_at=finished - timedelta(minutes=12),
            finished_at=finished,
            passed=spec.passed,
            failed=len(failures),
            failures=failures,
            url=spec.url,
        )
        deliverable_services.pipeline_run_record(deliverable=deliverable, actor=actor, report=report, at=self.now)

    def _find(self, title: str) -> Story:
        return next(s for s in self.stories.values() if s.title == title)

    # The team: pull the next story, work it through the board ---------------------------------

    def _pull_everyone(self) -> None:
        for dev in self.rng.sample(DEVELOPERS, len(DEVELOPERS)):
            self._pull(dev)

    def _pull(self, dev: str) -> None:
        if self.active is None or self.busy[dev]:
            return
        user = self.users[dev]
        pk = (
            Story.objects.alive()
            .filter(sprint=self.active, state__category__in=(Category.BACKLOG, Category.TODO))
            .filter(Q(assignee__isnull=True) | Q(assignee=user))
            .order_by("rank")
            .values_list("pk", flat=True)
            .first()
        )
        story = self.stories[pk] if pk is not None else self._top_up()
        if story is None:
            return
        if story.kind == "chore" and (story.points or 0) <= 1 and self.rng.random() < 0.6:
            self._state(story, dev, "Done", assignee=user)  # done in passing: Ready straight to Done
            self.spawn(self._pull_later(dev), self.clock)
            return
        self.busy[dev].add(story.pk)
        self._state(story, dev, "In progress", assignee=user)
        self.spawn(self._work(story, dev), self.clock)

    def _pull_later(self, dev: str) -> Process:
        yield 1.0
        self._pull(dev)

    def _top_up(self) -> Story | None:
        """Someone ran out of work early in the sprint: the product owner adds the next story from the backlog."""
        if self.active is None or self.added_mid_sprint >= 2 or self._sprint_day() > 8:
            return None
        backlog = self._backlog()
        if not backlog:
            return None
        self.added_mid_sprint += 1
        self._commit(backlog[0], self.active)
        return backlog[0]

    def _release(self, dev: str, story: Story) -> None:
        self.busy[dev].discard(story.pk)
        self._pull(dev)

    def _work(self, story: Story, dev: str) -> Process:
        """One story from In progress to Done (or Won't do), with what happens on the way."""
        rng = self.rng
        fate = FATES.get(story.title) or rng.choices(("normal", "reopen", "cancel", "block"), (80, 5, 3, 12))[0]
        remaining = (float(story.points) if story.points else 2.0) * self.speed[dev] * rng.lognormvariate(0, 0.25)
        if fate == "cancel":
            yield remaining * 0.4
            self._comment(
                story, dev, "Stopping here: what we learned so far answers the question; the rest is not worth it."
            )
            self._state(story, dev, "Won't do")
            self._release(dev, story)
            return
        if story.points and rng.random() < 0.15:
            yield remaining * 0.3
            remaining *= 0.7
            bigger = [p for p in FIBONACCI if p > story.points][0]
            remaining *= bigger / float(story.points)
            self._comment(story, dev, rng.choice(REESTIMATE_NOTES))
            services.story_estimate(story=story, points=bigger, actor=self.users[dev], at=self.clock)
        if fate == "block":
            yield remaining * rng.uniform(0.2, 0.5)
            remaining *= 0.6
            reason = rng.choice(BLOCK_REASONS)
            story = self._update(story, dev, blocked=True, blocked_reason=reason)
            self._release(dev, story)
            yield rng.uniform(4, 20)
            self._update(story, dev, blocked=False)
            self.busy[dev].add(story.pk)
        if rng.random() < 0.25:
            yield remaining * rng.uniform(0.4, 0.8)
            remaining *= 0.3
            self._comment(story, dev, rng.choice(WAITING_NOTES))
            self._state(story, dev, "Waiting")
            self._release(dev, story)
            yield rng.uniform(3, 16)
            self._state(story, dev, "In progress")
            self.busy[dev].add(story.pk)
        yield remaining
        yield from self._finish(story, dev)
        if fate == "reopen" or rng.random() < 0.03:
            yield rng.uniform(3, 12)
            if self.active is None or story.sprint_id != self.active.pk:
                return  # its sprint is closed: history stays, a follow-up would be a new story
            self._comment(story, self.rng.choice(("owner", "stakeholder")), rng.choice(REOPEN_NOTES))
            self._state(story, dev, "In progress")
            self.busy[dev].add(story.pk)
            yield rng.uniform(2, 8)
            yield from self._finish(story, dev)

    def _finish(self, story: Story, dev: str) -> Process:
        rng = self.rng
        if story.kind == "spike" or rng.random() < 0.3:  # no validation step: straight to Done
            self._state(story, dev, "Done")
            self._release(dev, story)
            return
        self._state(story, dev, "Validating")
        self._release(dev, story)
        yield rng.uniform(2, 10)
        if rng.random() < 0.12:
            self._comment(story, "owner", rng.choice(VALIDATION_FAILURES))
            self._state(story, "owner", "In progress")
            self.busy[dev].add(story.pk)
            yield rng.uniform(2, 6)
            self._state(story, dev, "Validating")
            self._release(dev, story)
            yield rng.uniform(1, 4)
        if rng.random() < 0.3:
            self._comment(story, "owner", rng.choice(VALIDATION_NOTES))
        self._state(story, "owner", "Done")
