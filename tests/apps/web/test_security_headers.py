"""Content-Security-Policy, Permissions-Policy, HSTS and the X-Forwarded-Proto a client sends.

The browser tests (tests/e2e) run every page under this policy and fail on any violation; these
tests pin the header itself.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def test_pages_carry_a_strict_content_security_policy(client, people):
    client.force_login(people["member"])
    response = client.get(reverse("project-list"))
    policy = directives(response)
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]


def test_every_script_of_a_page_carries_the_nonce_of_its_policy(client, people):
    client.force_login(people["member"])
    response = client.get(reverse("project-list"))
    (nonce,) = [
        value[len("'nonce-") : -1] for value in directives(response)["script-src"] if value.startswith("'nonce-")
    ]
    scripts = re.findall(r"<script\b[^>]*>", response.content.decode())
    assert scripts and all(f'nonce="{nonce}"' in script for script in scripts)
    # A fresh nonce for every response.
    assert nonce not in client.get(reverse("project-list"))["Content-Security-Policy"]


def test_no_template_uses_inline_styles_handlers_or_scripts():
    """What the policy refuses, kept out of the templates (data-css-vars, data-confirm, static JS instead).
    E-mail bodies are not pages: mail readers ignore style sheets, so their styles stay inline."""
    from pathlib import Path

    templates = [
        path for path in Path(settings.BASE_DIR, "apps").rglob("templates/**/*.html") if "email" not in path.parts
    ]
    assert templates
    for path in templates:
        text = path.read_text()
        assert not re.search(r"\sstyle=|\son[a-z]+=|\shx-on|<script(?![^>]*\ssrc=)", text), path


def test_answers_without_a_nonce_carry_django_csps_own_policy_built_once(client, people, settings):
    """apps.web.middleware.CSPMiddleware keeps the policy of responses without a nonce or changes of their own;
    it is the header django-csp builds, and follows the settings when they change."""
    from csp.middleware import CSPMiddleware as DjangoCSP
    from django.http import HttpResponse
    from django.test import RequestFactory

    from apps.web.middleware import CSPMiddleware

    def both(path: str = "/api/v1/projects/", **attributes) -> tuple[dict, dict]:
        answers = []
        for middleware in (CSPMiddleware, DjangoCSP):
            request = RequestFactory().get(path)
            response = HttpResponse(status=304)
            for name, value in attributes.items():
                setattr(response, name, value)
            answers.append(dict(middleware(lambda request, response=response: response)(request).headers))
        return answers[0], answers[1]

    ours, theirs = both()
    assert ours == theirs and "'nonce-" not in ours["Content-Security-Policy"]
    assert (
        both(_csp_update={"style-src-attr": ["'unsafe-inline'"]})[0]
        == both(_csp_update={"style-src-attr": ["'unsafe-inline'"]})[1]
    )
    assert "Content-Security-Policy" not in both(_csp_exempt=True)[0]
    settings.CONTENT_SECURITY_POLICY = {**settings.CONTENT_SECURITY_POLICY, "EXCLUDE_URL_PREFIXES": ["/api/"]}
    assert "Content-Security-Policy" not in both()[0]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert both()[0]["Content-Security-Policy"] == both()[1]["Content-Security-Policy"] == "default-src 'none'"
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"img-src": ["'self'"]}}
    ours, theirs = both()
    assert ours["Content-Security-Policy-Report-Only"] == theirs["Content-Security-Policy-Report-Only"]
    assert "img-src 'self'" in ours["Content-Security-Policy-Report-Only"]
    client.force_login(people["member"])
    assert "'nonce-" not in client.get("/api/v1/projects/")["Content-Security-Policy"]


def test_pages_deny_devices_and_sensors(client):
    policy = client.get(reverse("login"))["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy


def test_the_api_docs_page_works_under_the_policy(client, people):
    client.force_login(people["member"])
    page = client.get("/api/docs/")
    assert page.status_code == 200
    content = page.content.decode()
    (nonce,) = [v[len("'nonce-") : -1] for v in directives(page)["style-src"] if v.startswith("'nonce-")]
    assert f'<style nonce="{nonce}">' in content
    assert not re.search(r"<script>", content)  # every script is a file
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content


def test_the_admin_is_served_under_the_policy(client, people):
    people["admin"].is_staff = people["admin"].is_superuser = True
    people["admin"].save()
    client.force_login(people["admin"])
    response = client.get("/admin/")
    assert response.status_code == 200 and "script-src" in response["Content-Security-Policy"]


# --- HTTPS: HSTS for a year, X-Forwarded-Proto only from a proxy we configured -----------------------


def test_hsts_defaults_to_a_year_outside_debug():
    assert not settings.DEBUG
    assert settings.SECURE_HSTS_SECONDS == 365 * 24 * 3600


def test_a_client_claiming_https_is_not_believed_by_default(client):
    assert not hasattr(settings, "SECURE_PROXY_SSL_HEADER") or settings.SECURE_PROXY_SSL_HEADER is None
    response = client.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response  # sent only over HTTPS: this request was not


def test_a_client_claiming_https_is_still_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301 and response["Location"].startswith("https://")


def test_behind_a_configured_proxy_its_x_forwarded_proto_is_believed(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_the_browsable_api_alone_may_use_style_attributes(client, people, project):
    client.force_login(people["member"])
    html = client.get(f"/api/v1/projects/{project.key}/", HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert directives(html)["style-src-attr"] == ["'unsafe-inline'"]
    assert "'unsafe-inline'" not in directives(html)["script-src"]
    page = client.get(reverse("project-list"))
    assert "style-src-attr" not in directives(page)
