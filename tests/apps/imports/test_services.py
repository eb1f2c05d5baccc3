"""The import writes what the services would: every number of an imported project comes from its log."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from apps.imports import services
from apps.imports.models import Import, ImportStatus
from apps.stories import selectors
from apps.stories import services as story_services
from apps.stories.models import EventKind, Sprint, SprintStatus, Story, StoryEvent
from sprintboard.history import local_day
from tests.apps.imports.conftest import history_issues
from tests.sprintboard import jira_builders as jb

pytestmark = pytest.mark.django_db


def run(project, actor, files, **kwargs):
    return services.import_files_now(project=project, actor=actor, source="jira", files=files, **kwargs)


def test_it_imports_stories_with_their_history(project, people, jira_people):
    summary = run(project, people["owner"], jb.server_pages(history_issues(), per_page=2))
    assert summary["created"] == 3
    assert [s["key"] for s in summary["skipped"]] == ["JRA-4"]
    one = Story.objects.get(project=project, external_key="JRA-1")
    assert (one.state.name, one.points, one.sprint.name, one.assignee.username) == ("Done", 5, "Sprint 2", "bob")
    assert one.epic.name == "Orders ingestion"
    assert [label.name for label in one.labels.all()] == ["etl"]
    assert one.description == "Load orders nightly.\n\nThen validate."
    assert one.created_at == datetime(2024, 3, 1, 7, tzinfo=UTC)
    kinds = list(StoryEvent.objects.filter(story=one).order_by("seq").values_list("kind", flat=True))
    assert kinds == [
        "created", "sprint", "points", "state", "assignee", "points", "blocked", "unblocked", "sprint",
        "state", "state", "state",
    ]  # fmt: skip
    created = StoryEvent.objects.get(story=one, kind=EventKind.CREATED)
    assert created.to_value["state"] == one.project.states.get(name="To Do").pk
    assert created.to_value["points"] is None and created.to_value["sprint"] is None
    assert created.actor.username == "ann"


def test_the_first_state_is_the_from_of_the_first_status_change(project, people, jira_people):
    run(project, people["owner"], jb.server_pages(history_issues()))
    two = Story.objects.get(project=project, external_key="JRA-2")
    created = StoryEvent.objects.get(story=two, kind=EventKind.CREATED)
    assert created.to_value["state"] == project.states.get(name="To Do").pk
    assert two.state.name == "Waiting for data"
    assert two.points is None and two.assignee is None


def test_a_renamed_status_keeps_its_current_name(project, people, jira_people):
    summary = run(project, people["owner"], jb.server_pages(history_issues()))
    assert summary["states_created"] == ["To Do", "Waiting for data"]  # In Progress is the project's In progress
    assert not project.states.filter(name="In Dev").exists()
    one = Story.objects.get(project=project, external_key="JRA-1")
    moves = (
        StoryEvent.objects.filter(story=one, kind=EventKind.STATE).order_by("seq").values_list("to_value", flat=True)
    )
    assert project.states.get(pk=moves[0]).name == "In progress"


def test_sprints_get_dates_start_close_and_commitment(project, people, jira_people):
    run(project, people["owner"], jb.server_pages(history_issues()))
    first, second = Sprint.objects.filter(project=project).order_by("start")
    assert (first.status, second.status) == (SprintStatus.CLOSED, SprintStatus.ACTIVE)
    assert first.started_at == datetime(2024, 3, 4, 9, tzinfo=UTC)
    assert first.closed_at == datetime(2024, 3, 15, 17, tzinfo=UTC) - timedelta(microseconds=1)  # before the carry-over
    assert str(first.start) == "2024-03-04" and str(first.end) == "2024-03-15"
    assert [(c["key"].split("-")[0], c["points"]) for c in first.commitment] == [("DATA", 3)]
    assert second.started_at == datetime(2024, 3, 18, 8, tzinfo=UTC)


def test_imported_stories_take_later_edits_through_the_services(project, people, jira_people, states):
    run(project, people["owner"], jb.server_pages(history_issues()))
    two = Story.objects.get(project=project, external_key="JRA-2")
    story_services.story_change_state(story=two, state=states["In progress"], actor=people["member"])
    story_services.story_block(story=two, reason="waiting for access", actor=people["member"])
    # verify_events runs after the test (conftest): rows and log agree


def test_a_reimport_updates_and_never_duplicates(project, people, jira_people):
    files = jb.server_pages(history_issues())
    run(project, people["owner"], files)
    events = StoryEvent.objects.filter(project=project).count()
    again = run(project, people["owner"], files)
    assert (again["created"], again["updated"], again["events"]) == (0, 0, 0)
    assert again["unchanged"] == 3
    assert StoryEvent.objects.filter(project=project).count() == events
    assert Story.objects.filter(project=project).count() == 3


def test_a_reimport_appends_only_new_changes(project, people, jira_people):
    issues = history_issues()
    run(project, people["owner"], jb.server_pages(issues))
    issues[1]["fields"]["status"] = jb.status("10001")
    issues[1]["fields"]["summary"] = "Fix the orders bug"
    issues[1]["changelog"]["histories"].append(jb.history("2024-04-02T09:00:00.000Z", "bob", jb.moved("4", "10001")))
    again = run(project, people["owner"], jb.server_pages(issues))
    assert (again["created"], again["updated"]) == (0, 1)
    two = Story.objects.get(project=project, external_key="JRA-2")
    assert (two.state.name, two.title) == ("Done", "Fix the orders bug")
    new = list(StoryEvent.objects.filter(story=two).order_by("-seq").values_list("kind", "field")[:2])
    assert new == [("updated", "title"), ("state", "")]
    assert StoryEvent.objects.filter(story=two).latest("seq").actor == people["owner"]  # the re-import's own change


def test_cycle_times_match_a_computation_from_the_changelog(project, people, jira_people):
    """Start = first move into In Progress/Waiting; Finish = last move into Done while done; inclusive days."""
    issues = history_issues()
    run(project, people["owner"], jb.server_pages(issues))
    started_ids, done_ids = {"3", "4"}, {"10001"}
    expected = {}
    for raw in issues:
        start = finish = None
        for hist in raw["changelog"]["histories"]:
            at = datetime.fromisoformat(hist["created"])
            for change in hist["items"]:
                if change["field"] != "status":
                    continue
                if change["to"] in started_ids and start is None:
                    start = at
                finish = at if change["to"] in done_ids else None
        if finish is not None:
            begin = start or finish
            expected[raw["key"]] = (local_day(finish, UTC) - local_day(begin, UTC)).days + 1
    found = dict(
        Story.objects.filter(project=project, flow_cycle_days__isnull=False).values_list(
            "external_key", "flow_cycle_days"
        )
    )
    assert found == expected == {"JRA-1": 17}


def test_a_half_valid_file_is_refused_whole(project, people, jira_people):
    issues = history_issues()
    issues[2]["fields"]["created"] = "yesterday"
    with pytest.raises(services.ImportRefused) as refused:
        run(project, people["owner"], jb.server_pages(issues, per_page=2))
    assert "page-2.json, issue JRA-3, fields.created" in refused.value.message
    assert not Story.objects.filter(project=project).exists()


def test_a_failed_run_changes_nothing_and_says_why(project, people, jira_people):
    Sprint.objects.create(project=project, name="Ours", start="2024-05-01", end="2024-05-14", status="active",
                          started_at=datetime(2024, 5, 1, tzinfo=UTC))  # fmt: skip
    upload = services.import_create(
        project=project, actor=people["owner"], source="jira", files=jb.server_pages(history_issues()), confirm=True
    )
    assert services.import_run(import_id=upload.pk) == ImportStatus.FAILED
    upload.refresh_from_db()
    assert "Ours is active" in upload.error
    assert not Story.objects.filter(project=project).exists()
    assert not project.states.filter(name="Waiting for data").exists()


def test_the_task_runs_a_confirmed_import_once(project, people, jira_people):
    from apps.imports.tasks import import_run_task

    upload = services.import_create(
        project=project, actor=people["owner"], source="jira", files=jb.cloud_pages(history_issues(), per_page=2)
    )
    assert upload.status == ImportStatus.MAPPING
    services.import_confirm(upload=upload, mapping={"statuses": {"4": {"category": "waiting"}}})
    assert import_run_task.apply(args=[upload.pk]).get() == ImportStatus.DONE
    assert import_run_task.apply(args=[upload.pk]).get() == "not queued"
    upload = Import.objects.get(pk=upload.pk)
    assert (upload.status, upload.progress, upload.summary["created"]) == ("done", 100, 3)
    assert project.states.get(name="Waiting for data").category == "waiting"


def test_the_sprint_report_and_velocity_work_on_the_imported_past(project, people, jira_people):
    from apps.stories.selectors import engine_input
    from sprintboard import sprints
    from sprintboard.history import replay

    run(project, people["owner"], jb.server_pages(history_issues()))
    data = engine_input(project)
    history = replay(
        data.events,
        stories=data.stories,
        workflow=data.workflow,
        tz=data.timezone,
        as_of=datetime(2024, 4, 1, tzinfo=UTC),
    )
    first = next(s for s in data.sprints if s.name == "Sprint 1")
    report = sprints.sprint_report(history, sprint=first)
    key = Story.objects.get(external_key="JRA-1").key
    assert (report.committed, report.not_completed, report.removed) == ((key,), (key,), ())
    assert report.committed_points == 3
    assert [(r.key, r.old_points, r.new_points) for r in report.reestimated] == [(key, 3, 5)]
    velocity = sprints.velocity_report(history, sprints=data.sprints)
    assert velocity is not None


def test_history_older_than_the_project_log_is_skipped_with_its_reason(project, people, jira_people):
    story_services.story_create(project=project, actor=people["owner"], title="Made here today")
    summary = run(project, people["owner"], jb.server_pages(history_issues()))
    assert summary["created"] == 0
    reasons = {skip["key"]: skip["reason"] for skip in summary["skipped"]}
    assert "before DATA's last event" in reasons["JRA-1"] and "oldest first" in reasons["JRA-1"]
    assert Story.objects.filter(project=project).count() == 1


def test_points_out_of_range_in_the_points_field_are_refused(project, people, jira_people):
    issues = history_issues()
    issues[4]["fields"][jb.POINTS] = 1e9
    with pytest.raises(services.ImportRefused) as refused:
        run(project, people["owner"], jb.server_pages(issues))
    assert refused.value.problems[0].key == "JRA-5"
    assert refused.value.problems[0].field == f"fields.{jb.POINTS}"


def test_a_run_whose_worker_died_is_taken_over_after_the_time_limit(project, people, jira_people, settings):
    upload = services.import_create(
        project=project, actor=people["owner"], source="jira", files=jb.server_pages(history_issues()), confirm=True
    )
    Import.objects.filter(pk=upload.pk).update(status=ImportStatus.RUNNING, started_at=datetime.now(UTC))
    assert services.import_run(import_id=upload.pk) == "not queued"
    long_ago = datetime.now(UTC) - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    Import.objects.filter(pk=upload.pk).update(started_at=long_ago)
    assert services.import_run(import_id=upload.pk) == ImportStatus.DONE


def test_unfinished_stories_left_in_a_completed_sprint_go_to_the_backlog(project, people, jira_people):
    from tests.apps.imports.conftest import S1

    left = jb.issue(
        "JRA-9",
        created="2024-03-01T09:00:00.000Z",
        status_=jb.status("3"),
        sprints=[S1],  # Jira keeps the completed sprint on an issue sent back to the backlog
        histories=[
            jb.history("2024-03-02T09:00:00.000Z", "ann", jb.item("Sprint", "", "", "1", "Sprint 1")),
            jb.history("2024-03-05T09:00:00.000Z", "bob", jb.moved("1", "3")),
        ],
    )
    run(project, people["owner"], jb.server_pages([*history_issues(), left]))
    story = Story.objects.get(external_key="JRA-9")
    assert story.sprint is None
    last = StoryEvent.objects.filter(story=story).order_by("-seq").first()
    sprint = Sprint.objects.get(project=project, name="Sprint 1")
    assert (last.kind, last.from_value, last.to_value) == ("sprint", sprint.pk, None)
    assert last.at == sprint.closed_at + timedelta(microseconds=1)


def test_engine_cycle_times_of_a_generated_import_match_the_changelog(project, people, jira_people, make_user):
    """300 generated issues (tests/benchmarks/bench_import.py): the flow report's cycle times, from the imported log,
    equal Start/Finish read straight off each issue's changelog (METRICS.md: first entry into a started status, last
    entry into done while done; inclusive days and exact hours)."""
    from apps.projects import services as project_services
    from apps.stories.selectors import engine_input
    from sprintboard import flow
    from sprintboard.history import replay
    from tests.benchmarks import bench_import as generator

    for name in set(generator.PEOPLE) - {"ann", "bob"}:
        project_services.membership_add(project=project, user=make_user(name), role="member")
    files = generator.pages(300, 10, seed=7, per_page=100)
    run(project, people["owner"], files, mapping={"statuses": {"6": {"category": "waiting"}}})
    expected = {}
    for _, content in files:
        for raw in json.loads(content)["issues"]:
            start = finish = None
            for hist in raw["changelog"]["histories"]:
                at = datetime.fromisoformat(hist["created"])
                for change in (c for c in hist["items"] if c["field"] == "status"):
                    if start is None and change["to"] in ("3", "5", "6"):
                        start = at
                    finish = at if change["to"] == "10001" else None
            if finish is not None:
                begin = start or finish
                expected[raw["key"]] = (
                    (finish.date() - begin.date()).days + 1,
                    round((finish - begin).total_seconds()),
                )
    data = engine_input(project)
    history = replay(data.events, stories=data.stories, workflow=data.workflow, tz="UTC", as_of=datetime.now(UTC))
    keys = dict(Story.objects.filter(project=project).values_list("key", "external_key"))
    every = flow.cycle_times(history, start=date(2023, 1, 1), end=history.as_of_day)
    found = {keys[c.key]: (c.days, round(c.hours * 3600)) for c in every}
    assert len(expected) > 50
    assert found == expected


def test_sprints_without_dates_get_them_from_the_project_cadence(project, people, jira_people):
    bare = jb.sprint(7, "Old sprint", "closed", None, None)
    raw = jb.issue("JRA-7", created="2024-03-01T09:00:00.000Z", sprints=[bare], status_=jb.status("10001"))
    summary = run(project, people["owner"], jb.server_pages([raw]))
    sprint = Sprint.objects.get(project=project, name="Old sprint")
    assert summary["created"] == 1 and sprint.status == SprintStatus.CLOSED
    assert str(sprint.start) == "2024-03-01" and (sprint.end - sprint.start).days == project.sprint_length_days - 1
    assert sprint.started_at == datetime(2024, 3, 1, tzinfo=UTC) and sprint.closed_at == datetime(
        2024, 3, 15, tzinfo=UTC
    )


def test_jira_people_without_a_sprintboard_user_are_kept_as_names_on_the_events(project, people, jira_people):
    run(project, people["owner"], jb.server_pages(history_issues()))
    two = Story.objects.get(project=project, external_key="JRA-2")
    assert two.assignee is None  # zed is no Sprintboard user
    by_zed = StoryEvent.objects.filter(story=two, actor_name="Zed")
    assert by_zed.count() == 2 and not by_zed.exclude(actor=None).exists()
    assigned = StoryEvent.objects.get(story=two, kind=EventKind.ASSIGNEE)
    assert (assigned.to_value, assigned.to_name) == (None, "Zed")
    moved = StoryEvent.objects.filter(story=two, kind=EventKind.STATE).order_by("seq").first()
    assert (moved.actor.username, moved.actor_name, moved.to_name) == (
        "bob",
        "",
        moved.story.project.states.get(pk=moved.to_value).name,
    )
    entries = selectors.story_history(two)
    assert [e.text for e in entries if e.kind == EventKind.ASSIGNEE] == ["assigned it to Zed (from Jira)"]
    assert [e.actor for e in entries].count("Zed (from Jira)") == 2


def test_a_matched_assignee_is_logged_with_their_name(project, people, jira_people):
    jira_people["bob"].first_name, jira_people["bob"].last_name = "Bob", "Builder"
    jira_people["bob"].save()
    run(project, people["owner"], jb.server_pages(history_issues()))
    one = Story.objects.get(project=project, external_key="JRA-1")
    assigned = StoryEvent.objects.get(story=one, kind=EventKind.ASSIGNEE)
    assert (assigned.to_value, assigned.to_name) == ("bob", "Bob Builder")
    assert "assigned it to Bob Builder" in [e.text for e in selectors.story_history(one)]
