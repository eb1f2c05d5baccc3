"""/api/v1/projects/{KEY}/integrations/: admins read and change the settings; the secret is shown once."""

from __future__ import annotations

import pytest

from apps.integrations.models import Integration, SlackUser

pytestmark = pytest.mark.django_db
URL = "/api/v1/projects/DATA/integrations/"


def test_a_new_project_has_nothing_set_and_is_told_its_urls(client_for, project, settings):
    settings.SPRINTBOARD_BASE_URL = "https://board.example.com"
    body = client_for("admin").get(URL).json()
    assert body == {
        "project": "DATA",
        "secret_set": False,
        "opened_state": None,
        "merged_state": None,
        "slack_signing_secret_set": False,
        "slack_users": {},
        "github_url": "https://board.example.com/api/v1/projects/DATA/integrations/github/",
        "gitlab_url": "https://board.example.com/api/v1/projects/DATA/integrations/gitlab/",
        "slack_url": "https://board.example.com/api/v1/projects/DATA/integrations/slack/",
    }
    assert not Integration.objects.exists()  # reading makes nothing


def test_rotating_shows_the_secret_once(client_for, project):
    client = client_for("admin")
    first = client.patch(URL, {"rotate_secret": True}, format="json").json()
    assert len(first["secret"]) >= 32 and first["secret_set"] is True
    assert first["secret"] == Integration.objects.get().secret
    again = client.get(URL).json()
    assert "secret" not in again and again["secret_set"] is True
    second = client.patch(URL, {"rotate_secret": True}, format="json").json()
    assert second["secret"] != first["secret"]


def test_states_slack_secret_and_users_are_set_and_never_echoed(client_for, project, states):
    change = {
        "opened_state": states["In progress"].pk,
        "merged_state": states["Done"].pk,
        "slack_signing_secret": "8f742231b10e8888abcd99yyyzzz85a5",
        "slack_users": {"U012AB3CD": "stakeholder", "u0ZZ": "member"},
    }
    body = client_for("admin").patch(URL, change, format="json").json()
    assert (body["opened_state"], body["merged_state"]) == (states["In progress"].pk, states["Done"].pk)
    assert body["slack_signing_secret_set"] is True and "8f742231" not in str(body)
    assert body["slack_users"] == {"U012AB3CD": "stakeholder", "U0ZZ": "member"}
    cleared = client_for("admin").patch(URL, {"opened_state": None, "slack_users": {}}, format="json").json()
    assert cleared["opened_state"] is None and cleared["merged_state"] == states["Done"].pk
    assert not SlackUser.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"opened_state": 999_999}, "opened_state"),
        ({"opened_state": "In progress"}, "opened_state"),
        ({"merged_state": True}, "merged_state"),
        ({"slack_signing_secret": "short"}, "slack_signing_secret"),
        ({"slack_signing_secret": 12}, "slack_signing_secret"),
        ({"slack_users": ["U1"]}, "slack_users"),
        ({"slack_users": {"U1": "outsider"}}, "slack_users.U1"),
        ({"slack_users": {"not an id": "member"}}, "slack_users"),
        ({"rotate_secret": "yes"}, "rotate_secret"),
        ({"secret": "mine"}, "secret"),
    ],
)
def test_bad_changes_are_400_naming_the_field_and_change_nothing(client_for, project, change, field):
    answer = client_for("admin").patch(URL, change, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == field
    assert not Integration.objects.exclude(secret="", slack_signing_secret="").exists()
    assert not SlackUser.objects.exists()


def test_another_projects_state_is_refused(client_for, project, people):
    other_state = project.other.states.first()
    answer = client_for("admin").patch(URL, {"merged_state": other_state.pk}, format="json")
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "merged_state"


def test_the_schema_documents_the_receivers_signature_headers_and_their_401(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    headers = {
        "github": {"X-GitHub-Event", "X-Hub-Signature-256"},
        "gitlab": {"X-Gitlab-Event", "X-Gitlab-Token"},
        "slack": {"X-Slack-Request-Timestamp", "X-Slack-Signature"},
    }
    for host, names in headers.items():
        operation = schema["paths"][f"/api/v1/projects/{{key}}/integrations/{host}/"]["post"]
        assert {p["name"] for p in operation["parameters"] if p["in"] == "header"} == names
        assert {"200", "400", "401"} <= set(operation["responses"])
        assert operation.get("security") in (None, [])
    assert "patch" in schema["paths"]["/api/v1/projects/{key}/integrations/"]
