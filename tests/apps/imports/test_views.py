"""The import pages: upload, mapping, confirm, progress and summary; product owners and admins only."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.imports.models import Import, ImportStatus
from apps.imports.tasks import import_run_task
from apps.stories.models import Story
from tests.apps.imports.conftest import history_issues
from tests.sprintboard import jira_builders as jb

pytestmark = pytest.mark.django_db
PAGE = "/p/DATA/imports/"


def files():
    return [SimpleUploadedFile(name, content) for name, content in jb.server_pages(history_issues())]


@pytest.mark.parametrize(("role", "expected"), [("owner", 200), ("admin", 200), ("member", 403), ("outsider", 404)])
def test_the_page_is_for_product_owners_and_admins(as_user, project, role, expected):
    assert as_user(role).get(PAGE).status_code == expected


def test_upload_map_confirm_and_read_the_summary(as_user, jira_people, django_capture_on_commit_callbacks):
    owner = as_user("owner")
    answer = owner.post(PAGE, {"source": "jira", "files": files()})
    upload = Import.objects.get()
    assert answer.status_code == 302 and answer.url.endswith(f"/imports/{upload.pk}/")
    page = owner.get(answer.url).content.decode()
    assert "Waiting for data" in page and "also named In Dev, In Progress" in page
    index = [s["key"] for s in upload.analysis["statuses"]].index("4")
    with django_capture_on_commit_callbacks(execute=False):
        confirmed = owner.post(
            f"{PAGE}{upload.pk}/confirm/", {f"status-{index}-state": "Waiting", f"status-{index}-category": "waiting"}
        )
    assert confirmed.status_code == 302
    busy = owner.get(f"{PAGE}{upload.pk}/status/").content.decode()
    assert 'hx-trigger="every 1s"' in busy and "<progress" in busy
    import_run_task.apply(args=[upload.pk])
    done = owner.get(f"{PAGE}{upload.pk}/status/").content.decode()
    assert Import.objects.get().status == ImportStatus.DONE
    assert "3 stories created" in done and "JRA-4" in done and "Zed" in done
    story = Story.objects.get(external_key="JRA-1")
    assert "Imported from JRA-1" in owner.get(f"/p/DATA/stories/{story.key}/").content.decode()


def test_a_malformed_upload_shows_what_and_where(as_user, jira_people):
    bad = SimpleUploadedFile("broken.json", b'{"startAt": 0, "total": 1, "issues": [{"key": "JRA-1"}]}')
    answer = as_user("owner").post(PAGE, {"source": "jira", "files": [bad]})
    assert answer.status_code == 400
    assert "broken.json, issue JRA-1, fields: the issue has no" in answer.content.decode()
    assert not Import.objects.exists()


def test_the_csv_preview_fragment(as_user, jira_people):
    text = b"Key,Summary,To,Changed at\nJRA-1,Load,Done,2024-03-01T09:00\n"
    answer = as_user("owner").post(
        f"{PAGE}csv-preview/", {"source": "csv", "shape": "changes", "files": [SimpleUploadedFile("c.csv", text)]}
    )
    assert answer.status_code == 200
    assert "The first rows as they will be read" in answer.content.decode()
