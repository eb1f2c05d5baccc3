"""The demo seed: who can log in, what the project holds, and whether its history reads like real work.

Seeding takes a few seconds, so one seed (through the management command, as
``make run`` does) serves the whole module and is rolled back at the end.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone

from apps.deliverables.models import Deliverable, PipelineRun, RunSource, RunStatus
from apps.deliverables.selectors import freshness_of
from apps.projects.models import Category, Membership, Project, Role
from apps.stories.models import Comment, Sprint, SprintStatus, Story, StoryEvent
from apps.stories.selectors import points_value
from apps.stories.services import CARRY_OVER_DELAY
from apps.web.demo import CLOSED_SPRINTS, DEMO_PASSWORD, PROJECT_KEY, seed_demo

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once for the module; everything is rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        output = StringIO()
        call_command("seed_demo", "--i-know-this-is-not-production", stdout=output)
        seeded_at = timezone.now()
        yield output.getvalue(), seeded_at
        transaction.set_rollback(True)


@pytest.fixture
def project(seeded):
    return Project.objects.get(key=PROJECT_KEY)


@pytest.fixture
def events(project):
    return list(StoryEvent.objects.filter(project=project).order_by("seq"))


@pytest.fixture
def done_states(project):
    return set(project.states.filter(category=Category.DONE).values_list("pk", flat=True))


def sprints(project, status):
    return list(Sprint.objects.filter(project=project, status=status).order_by("start"))


# --- People, project, size ----------------------------------------------------------------


def test_it_creates_the_demo_users_with_working_passwords_and_roles(project):
    expected = {
        "admin": Role.ADMIN,
        "owner": Role.PRODUCT_OWNER,
        "member": Role.MEMBER,
        "priya": Role.MEMBER,
        "stakeholder": Role.STAKEHOLDER,
    }
    request = RequestFactory().post("/login/")  # django-axes checks every login against its request
    for username, role in expected.items():
        user = authenticate(request, username=username, password=DEMO_PASSWORD)
        assert user is not None, f"{username} cannot log in with the demo password"
        assert Membership.objects.get(project=project, user=user).role == role
    admin = authenticate(request, username="admin", password=DEMO_PASSWORD)
    assert admin.is_superuser and admin.is_staff


def test_it_prints_the_logins(seeded):
    output, _ = seeded
    for username in ("admin", "owner", "member", "priya", "stakeholder"):
        assert username in output
    assert DEMO_PASSWORD in output


def test_the_project_is_a_data_team_with_epics_labels_and_about_150_stories(project):
    assert project.timezone == "Europe/Amsterdam"
    assert 140 <= project.stories.count() <= 170
    assert {"CRM ingestion", "Revenue dashboard", "Churn model", "Data quality"} <= set(
        project.epics.values_list("name", flat=True)
    )
    assert {"dbt", "airflow", "looker", "ml", "pii"} <= set(project.labels.values_list("name", flat=True))
    assert set(project.stories.values_list("kind", flat=True)) == {"story", "bug", "chore", "spike"}
    story = project.stories.exclude(acceptance_criteria="").first()
    assert story.description and story.acceptance_criteria.startswith("- [ ]")
    assert project.stories.exclude(epic=None).filter(labels__isnull=False).exists()


def test_there_are_six_closed_sprints_an_active_one_containing_today_and_a_planned_one(project):
    closed, active, planned = (
        sprints(project, s) for s in (SprintStatus.CLOSED, SprintStatus.ACTIVE, SprintStatus.PLANNED)
    )
    assert (len(closed), len(active), len(planned)) == (CLOSED_SPRINTS, 1, 1)
    today = timezone.now().astimezone(project.tzinfo).date()
    assert active[0].start <= today <= active[0].end
    every = [*closed, *active, *planned]
    assert all(s.length_days == 14 for s in every)
    assert all(a.end < b.start for a, b in zip(every, every[1:], strict=False))
    assert planned[0].stories.exists()


def test_velocity_looks_like_a_real_teams(project):
    velocity = []
    for sprint in sprints(project, SprintStatus.CLOSED):
        done = sprint.stories.filter(deleted_at=None, state__category=Category.DONE)
        velocity.append(sum(s.points or 0 for s in done))
    assert all(10 <= v <= 45 for v in velocity), velocity
    assert 20 <= sum(velocity) / len(velocity) <= 35, velocity


def test_a_backlog_of_several_dozen_ordered_stories_remains(project):
    backlog = project.stories.filter(sprint=None, deleted_at=None).exclude(
        state__category__in=(Category.DONE, Category.CANCELLED)
    )
    assert backlog.count() >= 30
    ranks = list(backlog.order_by("rank").values_list("rank", flat=True))
    assert len(set(ranks)) == len(ranks)


def test_it_refuses_outside_debug_without_the_flag(settings, django_user_model):
    settings.DEBUG = False
    users = django_user_model.objects.count()
    with pytest.raises(CommandError, match="--i-know-this-is-not-production"):
        call_command("seed_demo", stdout=StringIO())
    assert django_user_model.objects.count() == users


def test_it_seeds_in_debug_without_the_flag(settings, project):
    settings.DEBUG = True
    output = StringIO()
    call_command("seed_demo", stdout=output)  # as `make run` does, with DJANGO_DEBUG=1
    assert "already exists" in output.getvalue()


def test_running_it_twice_writes_nothing(project):
    before = (Story.objects.count(), StoryEvent.objects.count(), Sprint.objects.count(), Comment.objects.count())
    output = StringIO()
    call_command("seed_demo", "--i-know-this-is-not-production", stdout=output)
    assert "already exists" in output.getvalue()
    assert seed_demo() is None
    assert (
        Story.objects.count(),
        StoryEvent.objects.count(),
        Sprint.objects.count(),
        Comment.objects.count(),
    ) == before


# --- The history -----------------------------------------------------------------------------


def test_events_are_in_time_order_and_none_is_in_the_future(events, seeded):
    _, seeded_at = seeded
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    times = [e.at for e in events]
    assert times == sorted(times)
    assert times[-1] <= seeded_at


def test_comments_are_dated_within_the_history(project, seeded):
    _, seeded_at = seeded
    comments = Comment.objects.filter(story__project=project)
    assert comments.count() >= 20
    assert all(c.created_at <= seeded_at and c.created_at >= c.story.created_at for c in comments)


def test_work_happens_in_working_hours(project, events):
    for event in events:
        local = event.at.astimezone(project.tzinfo)
        assert local.weekday() < 5 and time(9) <= local.time() <= time(18), (event, local)


def test_the_history_has_reopens_blocks_and_waits(events, done_states, project):
    reopens = [e for e in events if e.kind == "state" and e.from_value in done_states and e.to_value not in done_states]
    assert reopens
    reasons = [e.to_value for e in events if e.kind == "blocked"]
    assert reasons and all(isinstance(r, str) and r for r in reasons)
    assert any(e.kind == "unblocked" for e in events)
    names = dict(project.states.values_list("pk", "name"))
    entered = Counter(names[e.to_value] for e in events if e.kind == "state")
    assert entered["Waiting"] and entered["Validating"] and entered["Won't do"]
    assert any(e.kind == "updated" for e in events)


def test_some_stories_skip_states(events, project):
    names = dict(project.states.values_list("pk", "name"))
    moves = {(names[e.from_value], names[e.to_value]) for e in events if e.kind == "state"}
    assert ("In progress", "Done") in moves
    assert ("Ready", "Done") in moves or ("Backlog", "In progress") in moves


def test_closed_sprints_have_re_estimates_additions_and_carry_over(project, events):
    closed = sprints(project, SprintStatus.CLOSED)
    in_sprint = sprint_membership(events)
    re_estimated = [
        s.name
        for s in closed
        for e in events
        if e.kind == "points" and s.started_at < e.at < s.closed_at and in_sprint(e.story_id, e.at) == s.pk
    ]
    added = [
        s.name
        for s in closed
        for e in events
        if s.started_at < e.at < s.closed_at
        and ((e.kind == "sprint" and e.to_value == s.pk) or (e.kind == "created" and e.to_value["sprint"] == s.pk))
    ]
    carried = [
        s.name
        for s in closed
        for e in events
        if e.kind == "sprint" and e.from_value == s.pk and e.at == s.closed_at + CARRY_OVER_DELAY
    ]
    removed = [
        s.name for s in closed for e in events if e.kind == "sprint" and e.from_value == s.pk and e.to_value is None
    ]
    assert re_estimated and added and carried and removed
    assert len(set(carried)) >= 3


def test_some_work_is_cancelled_and_one_story_is_deleted_and_one_restored(project, events):
    assert project.stories.filter(deleted_at=None, state__category=Category.CANCELLED).count() >= 2
    assert project.stories.exclude(deleted_at=None).count() >= 1
    restored = {e.story_id for e in events if e.kind == "restored"}
    assert restored and Story.objects.filter(pk__in=restored, deleted_at=None).exists()


def test_the_active_sprint_shows_work_under_way(project):
    active = sprints(project, SprintStatus.ACTIVE)[0]
    categories = set(active.stories.values_list("state__category", flat=True))
    assert Category.DONE in categories
    assert active.started_at is not None and active.commitment


def test_the_pipelines_report_a_fresh_dbt_build_and_a_failing_great_expectations_run(project, seeded, client):
    runs = PipelineRun.objects.filter(deliverable__project=project)
    passed, failed = runs.get(source=RunSource.DBT), runs.get(source=RunSource.GREAT_EXPECTATIONS)
    assert passed.status == RunStatus.PASSED and failed.status == RunStatus.FAILED and len(failed.failures) == 2
    assert max(passed.finished_at, failed.finished_at, passed.received_at, failed.received_at) <= seeded[1]
    fresh = Deliverable.objects.get(pk=passed.deliverable_id)
    assert fresh.expected_interval_hours == 24 and freshness_of(fresh, seeded[1]).state == "fresh"
    watched = Deliverable.objects.get(pk=failed.deliverable_id)
    assert watched.last_run_status == RunStatus.FAILED
    assert watched.checklist.filter(bound_source=RunSource.GREAT_EXPECTATIONS).exists()
    active = sprints(project, SprintStatus.ACTIVE)[0]
    assert active.stories.filter(deliverable=watched).exists()
    client.force_login(Membership.objects.filter(project=project, role=Role.MEMBER).first().user)
    board = client.get(f"/p/{PROJECT_KEY}/board/")
    assert board.status_code == 200 and b"Run failed" in board.content


# --- Replaying the log reproduces the stories -------------------------------------------------------


def replay(events):
    facts = {}
    for event in events:
        if event.kind == "created":
            facts = dict(event.to_value)
        elif event.kind in ("state", "sprint", "assignee", "points"):
            facts[event.kind] = event.to_value
    return facts


def sprint_membership(events):
    """story, moment -> the sprint the story was in then, by replaying its events."""
    by_story: dict[int, list] = {}
    for event in events:
        by_story.setdefault(event.story_id, []).append(event)

    def sprint_at(story_id: int, at: datetime):
        return replay([e for e in by_story[story_id] if e.at <= at]).get("sprint")

    return sprint_at


def test_replaying_each_storys_events_reproduces_it(project, events):
    by_story: dict[int, list] = {}
    for event in events:
        by_story.setdefault(event.story_id, []).append(event)
    stories = project.stories.select_related("assignee")
    assert len(by_story) == stories.count()
    for story in stories:
        assert by_story[story.pk][0].kind == "created"
        expected = {
            "state": story.state_id,
            "sprint": story.sprint_id,
            "assignee": story.assignee.username if story.assignee else None,
            "points": points_value(story.points),
        }
        replayed = replay(by_story[story.pk])
        assert {field: replayed[field] for field in expected} == expected, story.key


def test_verify_events_finds_the_demo_clean(project):
    out = StringIO()
    call_command("verify_events", stdout=out)
    assert out.getvalue().strip().endswith("0 mismatch(es).")


def test_sprint_commitments_match_the_log(project, events):
    in_sprint = sprint_membership(events)
    for sprint in Sprint.objects.filter(project=project).exclude(started_at=None):
        alive = {s.pk for s in project.stories.all() if s.deleted_at is None or s.deleted_at > sprint.started_at}
        members = {pk for pk in alive if in_sprint(pk, sprint.started_at) == sprint.pk}
        assert {c["story"] for c in sprint.commitment} == members, sprint.name


# --- Any day ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("now", [datetime(2026, 3, 2, 6, 0, tzinfo=UTC), datetime(2026, 3, 29, 21, 0, tzinfo=UTC)])
def test_the_active_sprint_contains_today_whatever_the_day(now):
    # A Monday before work starts, and the Sunday evening of a daylight-saving change.
    Story.objects.filter(project__key=PROJECT_KEY).delete()  # undone with the test's transaction
    Project.objects.filter(key=PROJECT_KEY).delete()
    project = seed_demo(now=now)
    today = now.astimezone(project.tzinfo).date()
    active = Sprint.objects.get(project=project, status=SprintStatus.ACTIVE)
    assert active.start <= today <= active.end
    assert Sprint.objects.filter(project=project, status=SprintStatus.CLOSED).count() == CLOSED_SPRINTS
    assert not StoryEvent.objects.filter(project=project, at__gt=now).exists()
