"""POST /api/v1/projects/{KEY}/imports/, GET /api/v1/imports/{id}/, POST /api/v1/imports/{id}/confirm/."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.imports.models import Import, ImportStatus
from apps.imports.tasks import import_run_task
from apps.stories.models import Story
from tests.apps.imports.conftest import history_issues
from tests.sprintboard import jira_builders as jb

pytestmark = pytest.mark.django_db
URL = "/api/v1/projects/DATA/imports/"


def form(files, **fields):
    return {"files": [SimpleUploadedFile(name, content) for name, content in files], **fields}


def upload(client, files=None, **fields):
    files = files if files is not None else jb.server_pages(history_issues())
    return client.post(URL, form(files, **fields), format="multipart")


@pytest.mark.parametrize(
    ("role", "expected"),
    [("admin", 201), ("owner", 201), ("member", 403), ("stakeholder", 403), ("outsider", 404), (None, 401)],
)
def test_it_lets_only_product_owners_and_admins_import(client_for, jira_people, role, expected):
    assert upload(client_for(role)).status_code == expected


@pytest.mark.parametrize(
    ("role", "expected"), [("owner", 200), ("member", 403), ("stakeholder", 403), ("outsider", 404), (None, 401)]
)
def test_it_shows_an_import_only_to_product_owners(client_for, jira_people, role, expected):
    created = upload(client_for("owner")).json()
    assert client_for(role).get(f"/api/v1/imports/{created['id']}/").status_code == expected


def test_it_analyses_then_imports_once_confirmed(client_for, jira_people, django_capture_on_commit_callbacks):
    owner = client_for("owner")
    body = upload(owner).json()
    assert body["status"] == "mapping"
    statuses = {s["key"]: s for s in body["analysis"]["statuses"]}
    assert statuses["3"]["names"] == ["In Dev", "In Progress"]
    assert (statuses["4"]["category"], statuses["4"]["issues"]) == ("active", 1)
    assert body["mapping"]["points_field"] == jb.POINTS
    assert body["mapping"]["users"] == {"ann": "ann", "bob": "bob", "zed": None}
    assert body["mapping"]["types"]["Sub-task"] == "skip"
    mapping = {"statuses": {"4": {"state": "Waiting", "category": "waiting"}}, "types": {"Sub-task": "chore"}}
    with django_capture_on_commit_callbacks(execute=False) as queued:
        answer = owner.post(f"/api/v1/imports/{body['id']}/confirm/", {"mapping": mapping}, format="json")
    assert answer.status_code == 202 and answer.json()["status"] == "queued"
    assert len(queued) == 1
    import_run_task.apply(args=[body["id"]])
    done = owner.get(f"/api/v1/imports/{body['id']}/").json()
    assert (done["status"], done["progress"], done["summary"]["created"]) == ("done", 100, 4)
    assert done["summary"]["unmatched_users"] == ["Zed"]
    assert Story.objects.get(external_key="JRA-2").state.name == "Waiting"


def test_a_confirmed_import_cannot_be_confirmed_again(client_for, jira_people, django_capture_on_commit_callbacks):
    owner = client_for("owner")
    with django_capture_on_commit_callbacks(execute=False):
        body = upload(owner, confirm="true").json()
    assert body["status"] == "queued"
    answer = owner.post(f"/api/v1/imports/{body['id']}/confirm/", {}, format="json")
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["code"] == "bad_transition"


def test_cloud_pages_in_a_zip_import(client_for, jira_people, django_capture_on_commit_callbacks):
    issues = history_issues()
    for raw in issues:
        raw["fields"]["assignee"] = jb.user("bob", cloud=True) if raw["fields"]["assignee"] else None
    owner = client_for("owner")
    with django_capture_on_commit_callbacks(execute=False):
        body = upload(owner, [jb.zipped(jb.cloud_pages(issues, per_page=2))], confirm="true").json()
    import_run_task.apply(args=[body["id"]])
    assert Import.objects.get(pk=body["id"]).status == ImportStatus.DONE
    assert Story.objects.filter(project__key="DATA").count() == 3


def _server(issues, **kw):
    return jb.server_pages(issues, **kw)


def _bad_points():
    issues = history_issues()
    issues[0]["changelog"]["histories"][0]["items"][1]["toString"] = "three"
    return _server(issues)


def _missing_page():
    return _server(history_issues(), per_page=2)[1:]


def _cloud_without_last():
    return jb.cloud_pages(history_issues(), per_page=2)[:1]


def _field(path, value):
    issues = history_issues()
    target = issues[1]
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    target[last] = value
    return _server(issues)


MALFORMED = {
    "not json": ([("a.json", b"{nope")], "files", "a.json: not JSON"),
    "not a search response": ([("a.json", b'{"values": []}')], "issues", "not a Jira search response"),
    "no key": (_field("key", "orders"), "issues[1].key", "a key such as DATA-12"),
    "no summary": (_field("fields.summary", ""), "fields.summary", "issue JRA-2, fields.summary"),
    "bad created": (_field("fields.created", "2024-13-01"), "fields.created", "is not a timestamp"),
    "naive created": (_field("fields.created", "2024-03-01T09:00:00"), "fields.created", "has no time zone"),
    "no status": (_field("fields.status", None), "fields.status.name", "a status with a name"),
    "bad category": (
        _field("fields.status", {"id": "9", "name": "X", "statusCategory": {"key": "odd"}}),
        "fields.status.statusCategory.key",
        "'odd'",
    ),
    "bad labels": (_field("fields.labels", "etl"), "fields.labels", "labels must be a list"),
    "bad changelog": (_field("changelog", {"histories": "x"}), "changelog.histories", "histories"),
    "bad history time": (
        _field("changelog", {"histories": [jb.history("soon", "bob", jb.moved("1", "3"))]}),
        "changelog.histories[0].created",
        "not a timestamp",
    ),
    "bad points": (_bad_points(), "changelog.histories[0].items[1].toString", "'three' is not a number"),
    "missing server page": (_missing_page(), "startAt", "pages are missing"),
    "missing cloud page": (_cloud_without_last(), "nextPageToken", "no page is the last"),
    "bad zip": ([("a.zip", b"PK\x03\x04broken")], "files", "not a readable zip"),
    "empty zip": ([jb.zipped([("readme.txt", b"hi")])], "files", "holds no .json"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_file_is_a_400_saying_what_and_where(client_for, jira_people, case):
    files, field, words = MALFORMED[case]
    answer = upload(client_for("owner"), files)
    assert answer.status_code == 400, answer.content
    error = answer.json()["errors"][0]
    assert (error["field"], error["code"]) == (field, "invalid_import") or error["field"] == field
    assert words in error["message"]
    assert not Import.objects.exists() and not Story.objects.exists()


BAD_FORMS = {
    "no files": ({}, "files"),
    "unknown field": ({"colour": "red"}, "colour"),
    "bad source": ({"source": "trello"}, "source"),
    "bad confirm": ({"confirm": "maybe"}, "confirm"),
    "mapping not json": ({"mapping": "{"}, "mapping"),
    "mapping unknown status": ({"mapping": json.dumps({"statuses": {"77": {"category": "done"}}})}, "mapping.statuses.77"),
    "mapping bad category": ({"mapping": json.dumps({"statuses": {"1": {"category": "later"}}})}, "mapping.statuses.1.category"),
    "mapping bad kind": ({"mapping": json.dumps({"types": {"Bug": "defect"}})}, "mapping.types.Bug"),
    "mapping bad points": ({"mapping": json.dumps({"points_field": "customfield_1"})}, "mapping.points_field"),
    "mapping stranger": ({"mapping": json.dumps({"users": {"zed": "outsider"}})}, "mapping.users.zed"),
    "mapping not an object": ({"mapping": "[1]"}, "mapping"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_FORMS))
def test_a_bad_form_is_a_400_naming_the_field(client_for, jira_people, case):
    fields, field = BAD_FORMS[case]
    files = [] if case == "no files" else jb.server_pages(history_issues())
    answer = client_for("owner").post(URL, form(files, **fields), format="multipart")
    assert answer.status_code == 400, answer.content
    assert answer.json()["errors"][0]["field"] == field


def test_a_json_body_is_refused_with_a_400(client_for, jira_people):
    answer = client_for("owner").post(URL, {"files": []}, format="json")
    assert answer.status_code in (400, 415)
    assert answer.json()["errors"]


def test_an_unknown_import_is_a_404(client_for, jira_people):
    assert client_for("owner").get("/api/v1/imports/999999/").status_code == 404
    assert client_for("owner").post("/api/v1/imports/999999/confirm/", {}, format="json").status_code == 404


def test_the_csv_preview_reads_the_first_rows(client_for, jira_people):
    text = "Issue key,Summary,To,Changed at\nJRA-1,Load,In Progress,01/03/2024 09:00\nJRA-1,Load,Done,bad\n"
    answer = client_for("owner").post(
        URL + "csv-preview/",
        form([("c.csv", text.encode())], source="csv", date_format="%d/%m/%Y %H:%M"),
        format="multipart",
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["columns"]["key"] == "Issue key" and body["count"] == 2
    assert body["rows"][0]["changed_at"] == "2024-03-01T09:00:00Z"
    assert "does not match the date format" in body["rows"][1]["error"]


def test_a_bad_mapping_at_confirm_is_a_400_and_changes_nothing(client_for, jira_people):
    owner = client_for("owner")
    body = upload(owner).json()
    url = f"/api/v1/imports/{body['id']}/confirm/"
    answer = owner.post(url, {"mapping": {"statuses": {"3": {"category": "doing"}}}}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "mapping.statuses.3.category"
    assert owner.post(url, {"mappings": {}}, format="json").status_code == 400
    assert owner.post(url, ["x"], format="json").status_code == 400
    assert Import.objects.get(pk=body["id"]).status == ImportStatus.MAPPING


def test_a_failed_import_can_be_confirmed_again(client_for, jira_people, django_capture_on_commit_callbacks):
    from apps.imports import services

    owner = client_for("owner")
    with django_capture_on_commit_callbacks(execute=False):
        body = upload(owner, confirm="true").json()
    services._fail(body["id"], "The worker was lost.")
    with django_capture_on_commit_callbacks(execute=False):
        answer = owner.post(f"/api/v1/imports/{body['id']}/confirm/", {}, format="json")
    assert (answer.status_code, answer.json()["status"]) == (202, "queued")
    import_run_task.apply(args=[body["id"]])
    assert Import.objects.get(pk=body["id"]).status == ImportStatus.DONE
