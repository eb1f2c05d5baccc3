"""export_project and import_project: a script's backup and restore, and their clear refusals."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.projects.models import Project

pytestmark = pytest.mark.django_db


def export(key: str = "DATA") -> str:
    out = StringIO()
    call_command("export_project", key, stdout=out)
    return out.getvalue()


def test_export_then_import_makes_a_copy(world, tmp_path):
    path = tmp_path / "project.json"
    path.write_text(export())
    out = StringIO()
    call_command("import_project", str(path), "--key", "COPY", "--name", "Copy", stdout=out)
    copy = Project.objects.get(key="COPY")
    assert copy.name == "Copy" and f"{copy.last_event_seq} events" in out.getvalue()


def test_export_of_an_unknown_project_is_an_error(world):
    with pytest.raises(CommandError, match="There is no project 'NOPE'"):
        export("NOPE")


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "not valid JSON"),
        ('{"format": "sprintboard-project", "version": 99}', "version 99"),
    ],
)
def test_import_refuses_a_bad_file_and_writes_nothing(world, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("import_project", str(path), "--key", "COPY")
    assert not Project.objects.filter(key="COPY").exists()


def test_import_refuses_a_key_in_use_and_a_missing_file(world, tmp_path):
    path = tmp_path / "project.json"
    path.write_text(export())
    with pytest.raises(CommandError, match="already exists"):
        call_command("import_project", str(path), "--key", "OTHER")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_project", str(tmp_path / "nope.json"), "--key", "COPY")


def test_missing_users_are_refused_unless_asked_to_create_them(world, tmp_path):
    document = json.loads(export())
    document["members"].append({"username": "ghost", "role": "member"})
    path = tmp_path / "project.json"
    path.write_text(json.dumps(document))
    with pytest.raises(CommandError, match="does not exist here: ghost"):
        call_command("import_project", str(path), "--key", "COPY")
    call_command("import_project", str(path), "--key", "COPY", "--missing-users", "create", stdout=StringIO())
    assert Project.objects.get(key="COPY").memberships.filter(user__username="ghost").exists()
