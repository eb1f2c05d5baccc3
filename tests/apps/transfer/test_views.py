"""Pages: the backlog's and a sprint's CSV downloads, and the settings page's backup and restore (admins)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.projects.models import Membership, Project, Role
from apps.stories import services as story_services
from apps.transfer import services

pytestmark = pytest.mark.django_db


def rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def backup_file(project: Project, name: str = "backup.json") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, json.dumps(services.project_export(project)).encode(), "application/json")


# --- CSV downloads ---------------------------------------------------------------------------------


def test_the_backlog_page_links_its_csv_with_its_filters(world, as_user):
    page = as_user("stakeholder").get("/p/DATA/backlog/?kind=bug").content.decode()
    assert 'href="/p/DATA/backlog/export.csv?kind=bug" download' in page


def test_the_backlog_csv_holds_what_the_filtered_page_lists(world, as_user, people):
    story_services.story_update(story=world.other_story, actor=people["owner"], kind="bug")
    client = as_user("stakeholder")
    everything = rows(client.get("/p/DATA/backlog/export.csv"))
    assert everything[0][:4] == ["key", "title", "kind", "state"]
    assert [row[0] for row in everything[1:]] == ["DATA-1", "DATA-2"]
    assert [row[0] for row in rows(client.get("/p/DATA/backlog/export.csv?kind=bug"))[1:]] == ["DATA-2"]
    labelled = rows(client.get(f"/p/DATA/backlog/export.csv?label={world.label.pk}"))
    assert [row[0] for row in labelled[1:]] == ["DATA-1"]


def test_a_sprint_csv_holds_the_sprint_page_stories(world, as_user, people):
    story_services.story_update(story=world.story, actor=people["owner"], sprint=world.sprint)
    client = as_user("member")
    assert (
        f'href="/p/DATA/sprints/{world.sprint.pk}/export.csv" download'
        in client.get(f"/p/DATA/sprints/{world.sprint.pk}/").content.decode()
    )
    found = rows(client.get(f"/p/DATA/sprints/{world.sprint.pk}/export.csv"))
    assert [row[0] for row in found[1:]] == ["DATA-1"]
    assert found[1][found[0].index("sprint")] == world.sprint.name


def test_csv_downloads_are_for_members_of_the_project_only(world, as_user):
    assert as_user("outsider").get("/p/DATA/backlog/export.csv").status_code == 404
    assert as_user("outsider").get(f"/p/DATA/sprints/{world.sprint.pk}/export.csv").status_code == 404
    other = story_services.sprint_create(project=world.project.other, actor=None)
    assert as_user("admin").get(f"/p/DATA/sprints/{other.pk}/export.csv").status_code == 404


# --- Backup and restore -------------------------------------------------------------------------------


def test_the_settings_page_offers_backup_and_restore(world, as_user):
    page = as_user("admin").get("/p/DATA/settings/").content.decode()
    assert 'href="/p/DATA/settings/backup/"' in page
    assert 'action="/p/DATA/settings/restore/"' in page and 'name="document"' in page and 'name="key"' in page


def test_an_admin_downloads_the_backup(world, as_user):
    response = as_user("admin").get("/p/DATA/settings/backup/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert 'attachment; filename="DATA-backup-' in response["Content-Disposition"]
    document = json.loads(response.content)
    assert (document["format"], document["version"], document["project"]["key"]) == ("sprintboard-project", 1, "DATA")


@pytest.mark.parametrize("role, status", [("owner", 403), ("stakeholder", 403), ("outsider", 404)])
def test_only_admins_back_up_and_restore(world, as_user, role, status):
    client = as_user(role)
    assert client.get("/p/DATA/settings/backup/").status_code == status
    response = client.post("/p/DATA/settings/restore/", {"key": "COPY", "document": backup_file(world.project)})
    assert response.status_code == status and not Project.objects.filter(key="COPY").exists()


def test_an_admin_restores_a_backup_as_a_new_project(world, as_user, people):
    response = as_user("admin").post(
        "/p/DATA/settings/restore/", {"key": "COPY", "name": "Copy of data", "document": backup_file(world.project)}
    )
    assert response.status_code == 302 and response["Location"] == "/p/COPY/"
    copy = Project.objects.get(key="COPY")
    assert copy.name == "Copy of data" and copy.stories.count() == world.project.stories.count()
    assert Membership.objects.get(project=copy, user=people["admin"]).role == Role.ADMIN


@pytest.mark.parametrize(
    "key, content, message",
    [
        ("COPY", b"{not json", "not valid JSON"),
        ("COPY", b'{"format": "something else"}', "not a Sprintboard project backup"),
        ("OTHER", None, "A project with key OTHER already exists."),
        ("copy", None, "2 to 10 capital letters"),
    ],
)
def test_a_bad_restore_shows_why_and_writes_nothing(world, as_user, key, content, message):
    upload = backup_file(world.project) if content is None else SimpleUploadedFile("b.json", content)
    before = Project.objects.count()
    response = as_user("admin").post("/p/DATA/settings/restore/", {"key": key, "document": upload})
    assert response.status_code == 400 and message in response.content.decode()
    assert Project.objects.count() == before
