"""CSV imports through the service, and ``python manage.py import_jira``."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from apps.imports import services
from apps.projects.models import Project
from apps.stories.models import EventKind, Story, StoryEvent
from tests.apps.imports.conftest import history_issues
from tests.sprintboard import jira_builders as jb

pytestmark = pytest.mark.django_db

CHANGES = (
    "Issue key,Summary,Issue Type,Created,Story Points,From,To,Changed\n"
    "ORD-1,Load orders,Story,01/03/2024 09:00,3,To Do,In Progress,02/03/2024 10:00\n"
    "ORD-1,Load orders,Story,01/03/2024 09:00,5,In Progress,Done,05/03/2024 16:00\n"
    "ORD-2,Fix totals,Bug,03/03/2024 09:00,,To Do,In Progress,04/03/2024 09:00\n"
)
STORIES = (
    'Key,Title,Status,Created,Points,Assignee,Labels\nORD-7,Dashboard,Done,2024-03-01T09:00+01:00,2,bob,"bi, sales"\n'
)


def test_a_status_change_csv_imports_with_history(project, people, jira_people):
    summary = services.import_files_now(
        project=project, actor=people["owner"], source="csv", files=[("changes.csv", CHANGES.encode())],
        options={"shape": "changes", "date_format": "%d/%m/%Y %H:%M"},
    )  # fmt: skip
    assert summary["created"] == 2
    one = Story.objects.get(external_key="ORD-1")
    assert (one.state.name, one.points, one.flow_cycle_days) == ("Done", 5, 4)
    kinds = list(StoryEvent.objects.filter(story=one).order_by("seq").values_list("kind", flat=True))
    assert kinds == [EventKind.CREATED, EventKind.STATE, EventKind.STATE, EventKind.POINTS]
    assert Story.objects.get(external_key="ORD-2").kind == "bug"


def test_a_story_csv_imports_current_states(project, people, jira_people):
    summary = services.import_files_now(
        project=project, actor=people["owner"], source="csv", files=[("stories.csv", STORIES.encode())],
        options={"shape": "stories"},
    )  # fmt: skip
    assert summary["created"] == 1
    story = Story.objects.get(external_key="ORD-7")
    assert (story.state.name, story.points, story.assignee.username) == ("Done", 2, "bob")
    assert sorted(label.name for label in story.labels.all()) == ["bi", "sales"]


def test_a_csv_with_a_bad_date_is_refused_naming_row_and_column(project, people):
    with pytest.raises(services.ImportRefused) as refused:
        services.import_files_now(
            project=project, actor=None, source="csv", files=[("c.csv", CHANGES.encode())],
            options={"shape": "changes"},
        )  # fmt: skip
    assert "c.csv, issue ORD-1, row 2, column Created: '01/03/2024 09:00' does not match" in refused.value.message


def test_the_command_imports_and_dry_runs(project, people, jira_people, tmp_path, capsys):
    paths = []
    for name, content in jb.server_pages(history_issues(), per_page=2):
        (tmp_path / name).write_bytes(content)
        paths.append(str(tmp_path / name))
    call_command("import_jira", "DATA", *paths, "--dry-run")
    dry = json.loads(capsys.readouterr().out)
    assert dry["stories"] == 3 and dry["events"]["state"] == 8
    assert not Story.objects.exists()
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"statuses": {"4": {"state": "Waiting", "category": "waiting"}}}))
    call_command("import_jira", "DATA", *paths, "--mapping", str(mapping))
    done = json.loads(capsys.readouterr().out)
    assert done["created"] == 3
    assert Story.objects.get(external_key="JRA-2").state.name == "Waiting"


def test_the_command_creates_a_new_project_for_a_user(people, tmp_path, capsys):
    path = tmp_path / "page.json"
    path.write_bytes(jb.server_pages(history_issues())[0][1])
    call_command("import_jira", "NEW", str(path), "--as", "owner", "--name", "From Jira")
    assert json.loads(capsys.readouterr().out)["created"] == 3
    assert Project.objects.get(key="NEW").stories.count() == 3


def test_the_command_names_what_is_wrong(project, tmp_path):
    path = tmp_path / "page.json"
    path.write_text('{"issues": [{"key": "JRA-1"}]}')
    with pytest.raises(CommandError, match="page.json, issue JRA-1, fields"):
        call_command("import_jira", "DATA", str(path))
    with pytest.raises(CommandError, match="There is no project 'NOPE'"):
        call_command("import_jira", "NOPE", str(path))
