"""Everything under /api/ answers the JSON error shape, whatever goes wrong; OPTIONS works everywhere.

Deep JSON, NUL bytes, oversized bodies, addresses no route matches and a database outage each get a
4xx or 503 with ``{"errors": [...]}``, never Django's HTML pages or a 500.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from apps.core.errors import InvalidInput
from apps.reports import parameters
from apps.reports.models import ReportKind

pytestmark = pytest.mark.django_db

REPORT_URLS = [
    "/api/v1/sprints/{sprint}/report/",
    "/api/v1/projects/DATA/reports/flow/",
    "/api/v1/projects/DATA/reports/velocity/",
    "/api/v1/projects/DATA/reports/waste/",
    "/api/v1/projects/DATA/reports/forecast/",
    "/api/v1/projects/DATA/reports/dataops/",
]


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) >= {"errors"} and body["errors"], body
    assert set(body["errors"][0]) == {"field", "code", "message"}
    if code:
        assert body["errors"][0]["code"] == code, body
    return body


@pytest.mark.parametrize("url", REPORT_URLS)
def test_options_on_every_report_endpoint_answers_its_methods(url, world, client_for):
    response = client_for("stakeholder").options(url.format(sprint=world.sprint.pk))
    assert response.status_code == 200
    assert "name" in response.json() and "actions" not in response.json()


def test_options_on_a_report_of_a_project_that_does_not_exist_is_not_a_500(world, client_for):
    assert client_for("member").options("/api/v1/projects/NOPE/reports/flow/").status_code == 200


def test_json_nested_1000_deep_is_a_400(world, client_for):
    body = "[" * 1000 + "]" * 1000
    response = client_for("member").post("/api/v1/projects/DATA/stories/", data=body, content_type="application/json")
    assert_error_shape(response, 400, "parse_error")


def test_json_object_nested_1000_deep_is_a_400_on_a_patch(world, client_for):
    body = '{"a":' * 1000 + "1" + "}" * 1000
    response = client_for("member").patch(
        f"/api/v1/stories/{world.story.key}/", data=body, content_type="application/json"
    )
    assert_error_shape(response, 400, "parse_error")


def test_a_body_past_the_upload_limit_is_a_json_413(world, client_for, settings):
    body = json.dumps({"title": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    response = client_for("member").post("/api/v1/projects/DATA/stories/", data=body, content_type="application/json")
    assert_error_shape(response, 413, "too_large")


def test_a_form_body_past_the_upload_limit_under_api_is_json(world, client_for, settings):
    body = "title=" + "x" * (10 * 1024 * 1024)
    response = client_for("member").post(
        "/api/v1/projects/DATA/stories/", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (400, 413, 415)
    assert_error_shape(response, response.status_code)


@pytest.mark.parametrize(
    "url",
    ["/api/v1/sprints/abc/", "/api/v1/sprints/abc/report/", "/api/v1/nothing-here/", "/api/v1/deliverables/x/"],
)
def test_addresses_no_route_matches_are_json_404s(url, world, client_for):
    assert_error_shape(client_for("member").get(url), 404, "not_found")


def test_pages_keep_their_html_404(world, as_user):
    response = as_user("member").get("/no-such-page/")
    assert response.status_code == 404 and not response["Content-Type"].startswith("application/json")


def test_a_database_outage_is_a_json_503(world, client_for, monkeypatch):
    from apps.projects import api_base

    def down(**kwargs):
        raise OperationalError("connection to server at 10.0.0.5, port 5432 failed")

    monkeypatch.setattr(api_base, "project_for_user", down)
    response = client_for("member").get("/api/v1/projects/DATA/stories/")
    body = assert_error_shape(response, 503, "unavailable")
    assert "10.0.0.5" not in json.dumps(body)


def test_a_database_outage_outside_a_view_is_a_json_503(world, client, people, monkeypatch):
    """Session authentication reads the session first: the outage can strike before any view runs."""
    from django.contrib.sessions.backends import db

    client.force_login(people["member"])

    def down(self):
        raise OperationalError("connection to server at 10.0.0.5, port 5432 failed")

    monkeypatch.setattr(db.SessionStore, "load", down)
    client.raise_request_exception = False
    response = client.get("/api/v1/projects/DATA/stories/")
    body = assert_error_shape(response, 503, "unavailable")
    assert "10.0.0.5" not in json.dumps(body)


def test_an_unexpected_error_under_api_is_a_json_500(world, client, people, monkeypatch):
    from django.contrib.sessions.backends import db

    client.force_login(people["member"])
    monkeypatch.setattr(db.SessionStore, "load", lambda self: 1 / 0)
    client.raise_request_exception = False
    assert_error_shape(client.get("/api/v1/projects/"), 500, "server_error")


def test_nul_in_a_bulk_form_value_is_a_4xx_not_a_500(world, as_user):
    response = as_user("owner").post(
        "/p/DATA/backlog/bulk/", data="keys=DATA-80%00&action=top", content_type="application/x-www-form-urlencoded"
    )
    assert 400 <= response.status_code < 500


def test_the_bulk_form_refuses_a_nul_key_as_a_form_error(project):
    from django.http import QueryDict

    from apps.stories.forms import BulkForm

    data = QueryDict(mutable=True)
    data.setlist("keys", ["DATA-80\x00"])
    data["action"] = "top"
    form = BulkForm(data, project=project)
    assert not form.is_valid() and "keys" in form.errors and "\x00" not in str(form.errors)


def test_a_report_window_longer_than_the_setting_is_refused(settings):
    settings.REPORT_MAX_WINDOW_DAYS = 30
    today = timezone.now().date()
    start = today - timedelta(days=30)
    with pytest.raises(InvalidInput) as refused:
        parameters.parse(ReportKind.FLOW, {"from": start.isoformat()}, today=today)
    assert refused.value.field == "from" and refused.value.code == "too_long" and "30 days" in refused.value.message
    ok = parameters.parse(ReportKind.FLOW, {"from": (start + timedelta(days=1)).isoformat()}, today=today)
    assert ok["from"] == (start + timedelta(days=1)).isoformat()


def test_the_default_report_window_limit_is_two_years(world, client_for, settings):
    assert 730 <= settings.REPORT_MAX_WINDOW_DAYS <= 731
    today = timezone.now().date()
    response = client_for("stakeholder").get(
        f"/api/v1/projects/DATA/reports/waste/?from={(today - timedelta(days=800)).isoformat()}"
    )
    assert_error_shape(response, 400, "too_long")
