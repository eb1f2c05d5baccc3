"""No request produces a 500: malformed JSON, wrong types, unknown fields, huge strings and bad keys."""

from __future__ import annotations

import pytest

from tests.apps.test_api_permissions import ENDPOINTS, SIGNED

pytestmark = pytest.mark.django_db

WRONG_VALUES = [
    "a\x00b",
    None,
    0,
    -1,
    10**30,
    1.5,
    True,
    "",
    "x" * 100_000,
    "DATA-999999",
    [],
    [None],
    {},
    {"a": 1},
    "2026-02-30",
]
# Endpoints that read a JSON body (restore and start take none and ignore what is sent). The receivers of signed
# deliveries answer 401 before reading an unsigned body: tests/apps/integrations sends them signed malformed ones.
BODY_ENDPOINTS = [e for e in ENDPOINTS if e.method in ("post", "patch") and e.body and e.minimum != SIGNED]
# Bodies that are other tools' artifacts (a dbt run_results.json, an OpenLineage event): the fields Sprintboard does
# not read are theirs, and new versions add more, so an unknown field is not an error there (bad ones still are).
OPEN_BODIES = {"/api/v1/deliverables/{w.deliverable.pk}/runs/"}
FIELDS = [
    "title",
    "points",
    "state",
    "sprint",
    "epic",
    "labels",
    "assignee",
    "blocked",
    "blocked_reason",
    "version",
    "kind",
    "position",
    "before",
    "after",
    "keys",
    "name",
    "category",
    "wip_limit",
    "role",
    "username",
    "body",
    "start",
    "end",
    "goal",
    "unfinished",
    "color",
    "key",
    "timezone",
    "sprint_length_days",
    "wip_policy",
]


def assert_clean_4xx(response) -> None:
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        errors = response.json()["errors"]
        assert errors and all({"field", "code", "message"} <= set(e) for e in errors)


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_malformed_bodies_get_a_clean_400(endpoint, world, client_for):
    client = client_for("admin")
    url = endpoint.url.format(w=world)
    send = getattr(client, endpoint.method)
    for raw in ["{not json", "[1, 2]", '"text"', "null", "\xff\xfe", "{" * 5000]:
        response = send(url, raw, content_type="application/json")
        assert_clean_4xx(response)
        assert response.status_code == 400, (raw[:20], response.content[:200])
    assert_clean_4xx(send(url, "title=x", content_type="application/x-www-form-urlencoded"))


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_wrong_types_and_unknown_fields_get_a_clean_4xx(endpoint, world, client_for):
    client = client_for("admin")
    url = endpoint.url.format(w=world)
    base = endpoint.body if isinstance(endpoint.body, dict) else {}
    for field in FIELDS:
        for value in WRONG_VALUES:
            assert_clean_4xx(getattr(client, endpoint.method)(url, {**base, field: value}, format="json"))
    if endpoint.url in OPEN_BODIES:
        return
    unknown = getattr(client, endpoint.method)(url, {**base, "no_such_field": 1}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "no_such_field"


BAD_KEYS = ["DATA-0", "DATA-99999999999999999999999", "data-1", "ÜBER-1", "x" * 5000, "%00", "DATA-1'--", "..", " "]


@pytest.mark.parametrize("template", sorted({e.url for e in ENDPOINTS if "{" in e.url or "DATA" in e.url}))
def test_bad_keys_and_ids_are_404s(template, world, client_for):
    client = client_for("admin")
    for bad in BAD_KEYS:
        url = template.format(w=world).replace("DATA-1", bad).replace("DATA-2", bad)
        url = url.replace("/DATA/", f"/{bad}/") if "DATA-" not in template else url
        for method in ("get", "patch", "post", "delete"):
            assert_clean_4xx(getattr(client, method)(url, {}, format="json"))
    for huge in ("99999999999999999999999999", "9223372036854775808"):
        for prefix in ("/api/v1/sprints/", "/api/v1/projects/DATA/states/", "/api/v1/projects/DATA/epics/"):
            response = client.get(f"{prefix}{huge}/")
            assert response.status_code == 404, response.content[:200]


def test_query_parameters_are_validated(world, client_for):
    client = client_for("admin")
    for query in [
        "page=0",
        "page=abc",
        "page=999",
        "page_size=-1",
        "page_size=abc",
        "state=abc",
        "state=99999999999999999999999",
        "epic=-3",
        "sprint=abc",
        "category=nope",
        "kind=epic",
        "q=" + "x" * 1000,
        "deleted=maybe",
        "assignee=" + "y" * 500,
    ]:
        assert_clean_4xx(client.get(f"/api/v1/projects/DATA/stories/?{query}"))
