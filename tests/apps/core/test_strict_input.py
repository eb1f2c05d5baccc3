"""Input is read as the schema documents it: each query parameter once and with a value, page and page_size
in range (with ?format=csv too), JSON values of the documented type, exactly one of a oneOf."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def field_of(response) -> str | None:
    assert response.status_code == 400, response.content[:300]
    return response.json()["errors"][0]["field"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=", "kind"),
        ("kind=bug&kind=story", "kind"),
        ("page=0", "page"),
        ("page_size=101", "page_size"),
        ("page_size=0", "page_size"),
        ("format=csv&page_size=-1", "page_size"),
        ("format=xml", "format"),
    ],
)
def test_bad_query_parameters_are_400s_naming_them(world, client_for, query, field):
    assert field_of(client_for("member").get(f"/api/v1/projects/DATA/stories/?{query}")) == field


def test_json_values_must_have_the_documented_type(world, client_for):
    client = client_for("member")
    assert field_of(client.post("/api/v1/projects/DATA/labels/", {"name": 0}, format="json")) == "name"
    assert field_of(client.post("/api/v1/notifications/read/", {"all": 1}, format="json")) == "all"
    assert field_of(client.post("/api/v1/notifications/read/", {}, format="json")) == "ids"
    ok = client.post("/api/v1/projects/DATA/labels/", {"name": "sql"}, format="json")
    assert ok.status_code == 201


def test_the_schema_says_so(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    body = schema["components"]["schemas"]["MarkReadRequest"]
    assert body["additionalProperties"] is False and body["oneOf"] == [{"required": ["ids"]}, {"required": ["all"]}]
    stories = schema["paths"]["/api/v1/projects/{key}/stories/"]["get"]
    page_size = next(p for p in stories["parameters"] if p["name"] == "page_size")
    assert page_size["schema"]["minimum"] == 1 and page_size["schema"]["maximum"] == 100
    assert "text/csv" in stories["responses"]["200"]["content"]
    epic = schema["paths"]["/api/v1/projects/{key}/epics/"]["post"]["requestBody"]["content"]["application/json"]
    assert epic["schema"]["$ref"].endswith("/EpicInputRequest")
