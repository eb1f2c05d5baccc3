from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from apps.web.authentication import TokenAuthentication
from apps.web.models import ApiToken
from apps.web.services import token_issue

pytestmark = pytest.mark.django_db


def authenticate(key: str):
    request = Request(
        RequestFactory().get("/api/v1/", HTTP_AUTHORIZATION=f"Token {key}"), authenticators=[TokenAuthentication()]
    )
    return request.user


# --- Log in and out -------------------------------------------------------------------


def test_login_page_renders_with_labels(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'<label for="id_username"' in response.content and b'<label for="id_password"' in response.content


def test_login_with_one_project_lands_on_its_board(client, people, project):
    response = client.post(reverse("login"), {"username": "member", "password": "pw-member"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("project-board", kwargs={"key": "DATA"})
    assert b"DATA" in response.content


def test_login_with_several_projects_or_none_lands_on_the_project_list(client, people, project, make_user):
    from apps.projects import services as project_services

    project_services.project_create(creator=people["member"], key="OPS", name="Ops")
    response = client.post(reverse("login"), {"username": "member", "password": "pw-member"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("project-list")
    assert b"OPS" in response.content and b"DATA" in response.content
    client.post(reverse("logout"))
    make_user("newcomer")
    newcomer = client.post(reverse("login"), {"username": "newcomer", "password": "pw-newcomer"}, follow=True)
    assert newcomer.redirect_chain[-1][0] == reverse("project-list")


def test_the_next_login_lands_on_the_last_project_page_opened(client, people, project, make_user):
    from apps.projects import services as project_services

    project_services.project_create(creator=people["member"], key="OPS", name="Ops")
    client.force_login(people["member"])
    client.get("/p/DATA/backlog/")
    client.get("/p/DATA/board/live/", HTTP_IF_NONE_MATCH="x")  # a poll is not a page
    client.get("/p/DATA/backlog/", HTTP_HX_REQUEST="true")  # nor an htmx swap
    client.get("/p/DATA/sprints/", HTTP_SEC_FETCH_MODE="cors")  # nor a fetch
    client.post(reverse("logout"))
    landed = client.post(reverse("login"), {"username": "member", "password": "pw-member"}, follow=True)
    assert landed.redirect_chain[-1][0] == "/p/DATA/backlog/"

    # Another person in the same browser who may not see DATA lands where they would anyway.
    client.post(reverse("logout"))
    make_user("newcomer")
    newcomer = client.post(reverse("login"), {"username": "newcomer", "password": "pw-newcomer"}, follow=True)
    assert newcomer.redirect_chain[-1][0] == reverse("project-list")


@pytest.mark.parametrize("cookie", ["https://evil.example/p/DATA/", "//evil.example/p/DATA/", "/p/NOPE/board/", "x"])
def test_a_last_page_cookie_never_leads_off_site_or_to_a_project_one_cannot_see(client, people, project, cookie):
    client.cookies["sb_last_page"] = cookie
    landed = client.post(reverse("login"), {"username": "member", "password": "pw-member"}, follow=True)
    assert landed.redirect_chain[-1][0] == reverse("project-board", kwargs={"key": "DATA"})


def test_login_goes_to_the_page_asked_for(client, people, project):
    url = reverse("project-backlog", kwargs={"key": "DATA"})
    response = client.post(
        reverse("login") + f"?next={url}", {"username": "member", "password": "pw-member"}, follow=True
    )
    assert response.redirect_chain[-1][0] == url


def test_a_wrong_password_is_a_form_error(client, people):
    response = client.post(reverse("login"), {"username": "member", "password": "wrong"})
    assert response.status_code == 200 and b"errorlist" in response.content
    assert SESSION_KEY not in client.session


def test_logout_is_post_only(client, people):
    client.force_login(people["member"])
    assert client.get(reverse("logout")).status_code == 405
    assert SESSION_KEY in client.session
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert SESSION_KEY not in client.session


def test_pages_show_a_logout_form(client, people):
    client.force_login(people["member"])
    content = client.get(reverse("project-list")).content.decode()
    assert f'action="{reverse("logout")}"' in content and 'method="post"' in content


@pytest.mark.parametrize("name", ["account", "password-change"])
def test_account_pages_need_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- Password change -------------------------------------------------------------------


def test_change_password(client, people):
    client.force_login(people["member"])
    data = {
        "old_password": "pw-member",
        "new_password1": "a-much-longer-passphrase",
        "new_password2": "a-much-longer-passphrase",
    }
    response = client.post(reverse("password-change"), data)
    assert response.status_code == 302 and response["Location"] == reverse("account")
    people["member"].refresh_from_db()
    assert people["member"].check_password("a-much-longer-passphrase")


def test_a_wrong_old_password_changes_nothing(client, people):
    client.force_login(people["member"])
    data = {
        "old_password": "nope",
        "new_password1": "a-much-longer-passphrase",
        "new_password2": "a-much-longer-passphrase",
    }
    response = client.post(reverse("password-change"), data)
    assert response.status_code == 200 and b"errorlist" in response.content
    people["member"].refresh_from_db()
    assert people["member"].check_password("pw-member")


# --- API tokens --------------------------------------------------------------------------


def test_create_a_token_shows_its_key_once_and_it_authenticates(client, people):
    client.force_login(people["member"])
    response = client.post(reverse("token-create"), {"name": "dbt job"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=people["member"])
    key = response.context["new_key"]
    assert key.startswith(token.hint) and key.encode() in response.content and b"dbt job" in response.content
    page = client.get(reverse("account")).content
    assert key.encode() not in page and token.hint.encode() in page and b"never" in page
    assert authenticate(key) == people["member"]
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_token_name_too_long_is_a_form_error(client, people):
    client.force_login(people["member"])
    response = client.post(reverse("token-create"), {"name": "x" * 101})
    assert response.status_code == 400 and b"errorlist" in response.content
    assert not ApiToken.objects.exists()


def test_revoke_a_token(client, people):
    token, key = token_issue(user=people["member"], name="laptop")
    client.force_login(people["member"])
    assert client.get(reverse("token-revoke", args=[token.pk])).status_code == 405
    response = client.post(reverse("token-revoke", args=[token.pk]))
    assert response.status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    with pytest.raises(AuthenticationFailed):
        authenticate(key)


def test_nobody_revokes_another_users_token(client, people):
    token, _ = token_issue(user=people["admin"])
    client.force_login(people["member"])
    assert client.post(reverse("token-revoke", args=[token.pk])).status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()
    assert token.hint.encode() not in client.get(reverse("account")).content


# --- Markdown --------------------------------------------------------------------------


def render_markdown(text: str) -> str:
    return Template("{% load sprintboard %}{{ text|markdown }}").render(Context({"text": text}))


def test_markdown_renders_tables_and_fenced_code():
    html = render_markdown("**bold**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nSELECT 1;\n```")
    assert "<strong>bold</strong>" in html and "<table>" in html and "<code>SELECT 1;" in html


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="#" onclick="x()">a</a>',
    ],
)
def test_markdown_is_sanitised(text):
    html = render_markdown(text).lower()
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html and "onclick" not in html


def test_markdown_of_nothing_is_empty():
    assert render_markdown("") == ""


def test_the_metrics_guide_is_served_and_every_report_page_links_its_section(client, people, project):
    client.force_login(people["member"])
    guide = client.get(reverse("metrics-guide")).content.decode()
    for section in ("flow", "sprints", "forecast-monte-carlo", "lean-waste", "dataops", "time-conventions"):
        assert f'id="{section}"' in guide, section
    assert "<table>" in guide and "Cycle time (days)" in guide
    flow = client.get(reverse("report-flow", kwargs={"key": "DATA"})).content.decode()
    assert f'href="{reverse("metrics-guide")}#flow"' in flow
    index = client.get(reverse("project-reports", kwargs={"key": "DATA"})).content.decode()
    assert f'<a href="{reverse("metrics-guide")}">metrics guide</a>' in index


def test_a_refused_request_logs_one_line_without_a_traceback():
    import logging
    import sys

    console = next(
        h for h in logging.getLogger().handlers if any(f.__class__.__name__ == "QuietRefusals" for f in h.filters)
    )

    def record(status: int) -> logging.LogRecord:
        try:
            raise PermissionError("This needs the member role or higher in DATA.")
        except PermissionError:
            info = sys.exc_info()
        made = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Forbidden: %s", ("/p/DATA/",), info)
        made.status_code = status
        return made

    refused = record(403)
    assert console.filter(refused) and "Traceback" not in console.format(refused)
    assert "Forbidden: /p/DATA/" in console.format(refused)
    failed = record(500)
    assert console.filter(failed) and "Traceback" in console.format(failed)  # real errors keep theirs


def test_the_top_bar_names_the_person_in_full(client, people, project):
    people["member"].first_name, people["member"].last_name = "Mia", "Member"
    people["member"].save()
    client.force_login(people["member"])
    page = client.get(reverse("project-list")).content.decode()
    assert f'<a href="{reverse("account")}">Mia Member</a>' in page
