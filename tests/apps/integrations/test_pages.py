"""The integrations page of a project's settings (admins): the secret shown once, the moves, Slack."""

from __future__ import annotations

import pytest

from apps.integrations.models import Integration, SlackUser

pytestmark = pytest.mark.django_db
PAGE = "/p/DATA/settings/integrations/"


def test_the_settings_page_links_to_the_integrations(as_user, project):
    page = as_user("admin").get("/p/DATA/settings/")
    assert page.status_code == 200 and f'href="{PAGE}"' in page.content.decode()


def test_only_admins_see_the_integrations_page(as_user, project):
    assert as_user("owner").get(PAGE).status_code == 403
    assert as_user("outsider").get(PAGE).status_code == 404


def test_a_new_secret_is_shown_once(as_user, project):
    client = as_user("admin")
    answer = client.post(PAGE, {"action": "secret"})
    assert answer.status_code == 200
    secret = Integration.objects.get().secret
    assert secret in answer.content.decode()
    page = client.get(PAGE).content.decode()
    assert secret not in page and "/api/v1/projects/DATA/integrations/github/" in page


def test_moves_and_slack_are_saved(as_user, project, states):
    client = as_user("admin")
    answer = client.post(
        PAGE, {"action": "states", "opened_state": states["In progress"].pk, "merged_state": states["Done"].pk}
    )
    assert answer.status_code == 302
    answer = client.post(
        PAGE,
        {"action": "slack", "signing_secret": "8f742231b10e8888abcd99yyyzzz85a5", "users": "U012AB3CD member\n\n"},
    )
    assert answer.status_code == 302
    integration = Integration.objects.get()
    assert (integration.opened_state, integration.merged_state) == (states["In progress"], states["Done"])
    assert integration.slack_signing_secret == "8f742231b10e8888abcd99yyyzzz85a5"
    assert list(SlackUser.objects.values_list("slack_id", "user__username")) == [("U012AB3CD", "member")]
    page = client.get(PAGE).content.decode()
    assert "8f742231" not in page and "U012AB3CD member" in page
    assert client.post(PAGE, {"action": "slack-off"}).status_code == 302
    assert Integration.objects.get().slack_signing_secret == ""


def test_a_mapping_to_a_non_member_is_refused_beside_the_field(as_user, project):
    answer = as_user("admin").post(PAGE, {"action": "slack", "signing_secret": "", "users": "U1 outsider"})
    assert answer.status_code == 400 and "is not a member of DATA" in answer.content.decode()
    assert not SlackUser.objects.exists()
    answer = as_user("admin").post(PAGE, {"action": "slack", "signing_secret": "", "users": "U1"})
    assert answer.status_code == 400 and "Line 1" in answer.content.decode()
