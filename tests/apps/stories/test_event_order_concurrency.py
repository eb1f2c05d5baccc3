"""Fifty writers on one project at once, on the real PostgreSQL: the log stays in time order and every report computes.

A change takes its time once it holds the project's lock, so the order the changes commit in (their seq)
is also their order in time. Before that, a change that waited for the lock carried a time from before
the wait, and the engine refused the log ("events out of order"): every report of the project failed.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.core.errors import DomainError
from apps.deliverables.selectors import engine_deliverables
from apps.projects.models import Project, Role, WorkflowState
from apps.reports import parameters as report_parameters
from apps.stories import services
from apps.stories.models import Sprint, SprintStatus, Story, StoryEvent
from apps.stories.selectors import engine_input
from apps.stories.verification import verify_project
from sprintboard import dataops, flow, forecast, sprints, waste
from sprintboard.history import replay
from tests.apps.stories.test_concurrency import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 50
STEPS = 6
REASONS = ["waiting for access", "upstream late", "needs review"]


class Writer:
    """One user's random changes: states, points, assignee, blocks, moves in rank and between lists."""

    def __init__(self, project: Project, actors: list, story_ids: list[int], rng: random.Random) -> None:
        self.project, self.actors, self.story_ids, self.rng = project, actors, story_ids, rng
        self.states = list(WorkflowState.objects.filter(project=project))
        self.sprints = list(Sprint.objects.filter(project=project).exclude(status=SprintStatus.CLOSED))

    def step(self) -> str:
        """One change; returns what was tried (a refused change is normal under contention)."""
        rng = self.rng
        story = Story.objects.get(pk=rng.choice(self.story_ids))
        actor = rng.choice(self.actors)
        action = rng.choice(["state", "state", "points", "assignee", "block", "unblock", "move", "move", "move_list"])
        if action == "state":
            services.story_change_state(story=story, state=rng.choice(self.states), actor=actor)
        elif action == "points":
            services.story_estimate(story=story, points=rng.choice([None, 0.5, 1, 2, 3, 5, 8]), actor=actor)
        elif action == "assignee":
            services.story_assign(story=story, assignee=rng.choice([None, *self.actors]), actor=actor)
        elif action == "block":
            services.story_block(story=story, reason=rng.choice(REASONS), actor=actor)
        elif action == "unblock":
            services.story_unblock(story=story, actor=actor)
        elif action == "move":
            services.story_move(story=story, actor=actor, placement=self.placement(story))
        else:
            services.story_move(
                story=story, actor=actor, placement=services.TOP, sprint=rng.choice([None, *self.sprints])
            )
        return action

    def placement(self, story: Story) -> services.Placement:
        how = self.rng.choice(["top", "bottom", "before", "after"])
        if how in ("top", "bottom"):
            return services.Placement(position=how)
        anchor = Story.objects.get(pk=self.rng.choice([pk for pk in self.story_ids if pk != story.pk]))
        return services.Placement(**{how: anchor})


def hammer(project: Project, actors: list, story_ids: list[int], *, closer: Sprint | None = None) -> Counter:
    """Every thread makes STEPS changes; thread 0 also closes ``closer`` half-way. Returns outcomes by kind."""

    def work(index: int) -> list[str]:
        rng = random.Random(index)
        writer = Writer(project, actors, story_ids, rng)
        outcomes = []
        for step in range(STEPS):
            if index == 0 and closer is not None and step == STEPS // 2:
                services.sprint_close(sprint=closer, actor=actors[0], unfinished="next_sprint")
                outcomes.append("closed")
                continue
            try:
                outcomes.append(writer.step())
            except DomainError as exc:  # a stale anchor, a closed sprint, a WIP limit: refused, nothing written
                outcomes.append(f"refused {exc.code}")
        return outcomes

    results = run_in_threads(THREADS, work)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    return Counter(outcome for outcomes in results for outcome in outcomes)


def assert_log_in_order(project: Project) -> None:
    rows = list(StoryEvent.objects.filter(project=project).order_by("seq").values_list("seq", "at"))
    assert [seq for seq, _ in rows] == list(range(1, len(rows) + 1)), "seq is gapless"
    assert Project.objects.get(pk=project.pk).last_event_seq == len(rows)
    inversions = [(b[0], a[1] - b[1]) for a, b in zip(rows, rows[1:], strict=False) if b[1] < a[1]]
    assert not inversions, f"{len(inversions)} events earlier than the one before them: {inversions[:5]}"
    assert Project.objects.get(pk=project.pk).last_event_at == rows[-1][1]


def compute_every_report(project: Project) -> dict[str, object]:
    """Flow, velocity, waste, forecast, DataOps and every started sprint's report, as the report task computes
    them (apps.reports.services): any EngineError fails the test."""
    data = engine_input(project)
    deliverables = engine_deliverables(project)
    history = replay(data.events, stories=data.stories, workflow=data.workflow, tz=data.timezone, as_of=timezone.now())
    assert history.n_events == len(data.events) == data.watermark
    start, end = report_parameters.window_of({}, history.as_of_day)
    reports: dict[str, object] = {
        "flow": flow.flow_report(history, start=start, end=end),
        "velocity": sprints.velocity_report(history, sprints=data.sprints),
        "waste": waste.waste_report(history, sprints=data.sprints, deliverables=deliverables, start=start, end=end),
        "waste_trend": waste.waste_trend(history, sprints=data.sprints),
        "forecast_how_many": forecast.forecast_how_many(history, by=history.as_of_day + timedelta(days=14), seed=0),
        "forecast_when": forecast.forecast_when(history, items=5, seed=0),
        "dataops": dataops.dataops_report(history, deliverables=deliverables, sprints=data.sprints),
    }
    for sprint in data.sprints:
        if sprint.started_at is None:
            continue
        at_close = history
        if sprint.closed_at is not None:  # a closed sprint's report is as at its close
            at_close = replay(
                data.events, stories=data.stories, workflow=data.workflow, tz=data.timezone, as_of=sprint.closed_at
            )
        report = sprints.sprint_report(at_close, sprint=sprint)
        assert report.identity.holds, sprint.name
        reports[f"sprint {sprint.name}"] = report
        reports[f"published in {sprint.name}"] = dataops.published_in_sprint(deliverables, sprint, at_close.as_of)
    return reports


def assert_consistent(project: Project) -> dict[str, object]:
    assert_log_in_order(project)
    mismatches = [str(m) for m in verify_project(Project.objects.get(pk=project.pk))]
    assert not mismatches, mismatches[:10]
    return compute_every_report(project)


def test_fifty_concurrent_writers_leave_a_log_in_time_order_that_every_report_reads(project, people, states):
    owner, member = people["owner"], people["member"]
    active = services.sprint_create(project=project, actor=owner)
    services.sprint_create(project=project, actor=owner)  # planned: the next sprint takes the carry-over
    ids = []
    for i in range(16):
        in_sprint = active if i % 2 else None
        state = [states["Ready"], states["In progress"], states["Done"], states["Backlog"]][i % 4]
        ids.append(
            services.story_create(
                project=project, actor=owner, title=f"S{i}", points=i % 5 or None, sprint=in_sprint, state=state
            ).pk
        )
    services.sprint_start(sprint=active, actor=owner)

    outcomes = hammer(project, [owner, member], ids, closer=active)

    changed = sum(count for outcome, count in outcomes.items() if not outcome.startswith("refused"))
    assert changed > THREADS * STEPS // 2, outcomes
    assert Sprint.objects.get(pk=active.pk).status == SprintStatus.CLOSED
    reports = assert_consistent(project)
    closed_report = reports[f"sprint {active.name}"]
    assert closed_report.identity.holds


def test_fifty_concurrent_writers_on_the_seeded_demo():
    call_command("seed_demo", "--i-know-this-is-not-production", stdout=StringIO())
    demo = Project.objects.get(key="DATA")
    assert_consistent(demo)
    members = [m.user for m in demo.memberships.select_related("user").exclude(role=Role.STAKEHOLDER)]
    ids = list(Story.objects.alive().filter(project=demo).order_by("-pk").values_list("pk", flat=True)[:20])
    active = Sprint.objects.filter(project=demo, status=SprintStatus.ACTIVE).first()

    hammer(demo, members, ids, closer=active)

    assert_consistent(demo)
