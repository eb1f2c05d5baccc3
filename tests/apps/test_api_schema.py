"""The OpenAPI schema tells the truth: nullable points, each report's own parameters and answer,
the CSV download, the answers of a bad page and of throttling."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

REPORTS = {
    "flow": ({"from", "to"}, "FlowReport"),
    "velocity": (set(), "VelocityReport"),
    "waste": ({"from", "to"}, "WasteReport"),
    "forecast": ({"items", "date", "seed"}, "ForecastReport"),
    "dataops": (set(), "DataOpsReport"),
}
OWN_PARAMETERS = {"from", "to", "items", "date", "seed"}


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_story_points_are_nullable(schema):
    points = schema["components"]["schemas"]["Story"]["properties"]["points"]
    assert points["type"] == "number" and points["nullable"] is True


@pytest.mark.parametrize("kind", list(REPORTS))
def test_each_report_documents_its_own_parameters_and_answer(schema, kind):
    own, component = REPORTS[kind]
    operations = schema["paths"][f"/api/v1/projects/{{key}}/reports/{kind}/"]
    read = operations["get"]
    names = {parameter["name"] for parameter in read["parameters"]}
    assert names & OWN_PARAMETERS == own
    assert names >= {"format", "table"}
    assert read["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(f"/{component}")
    recompute = operations["post"]
    assert {p["name"] for p in recompute.get("parameters", [])} & OWN_PARAMETERS == own
    assert recompute["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(f"/{component}")


@pytest.mark.parametrize("path", ["/api/v1/sprints/{sprint_id}/report/", "/api/v1/projects/{key}/reports/flow/"])
def test_report_downloads_are_documented_as_csv(schema, path):
    assert "text/csv" in schema["paths"][path]["get"]["responses"]["200"]["content"]


@pytest.mark.parametrize("path", ["/api/v1/projects/{key}/stories/", "/api/v1/projects/", "/api/v1/search/"])
def test_paginated_lists_document_a_bad_page_and_one_past_the_end(schema, path):
    responses = schema["paths"][path]["get"]["responses"]
    assert "page" in responses["400"]["description"] and "past the last" in responses["404"]["description"]
    assert responses["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Errors")


def test_every_operation_documents_throttling(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "post", "patch", "put", "delete"}:
                assert "429" in operation["responses"], (method, path)
                assert "Retry-After" in operation["responses"]["429"]["description"]


def test_every_operation_documents_the_web_server_s_414_as_html(schema):
    """gunicorn answers a request line past ``limit_request_line`` itself, before Django: the schema says so."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "post", "patch", "put", "delete"}:
                assert list(operation["responses"]["414"]["content"]) == ["text/html"], (method, path)


def test_search_documents_its_parameters_and_results(schema):
    read = schema["paths"]["/api/v1/search/"]["get"]
    names = {parameter["name"] for parameter in read["parameters"]}
    assert names >= {"q", "project", "state", "type", "page", "page_size"}
    assert next(p for p in read["parameters"] if p["name"] == "q")["required"] is True
    page = read["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    result = schema["components"]["schemas"][page]["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[-1]
    fields = set(schema["components"]["schemas"][result]["properties"])
    assert fields == {"type", "project", "key", "id", "title", "url", "state", "highlight"}
    assert set(read["responses"]) >= {"200", "400", "401", "404", "429"}


def test_pipeline_runs_are_documented(schema):
    operations = schema["paths"]["/api/v1/deliverables/{deliverable_id}/runs/"]
    report = operations["post"]
    assert "dbt run_results.json" in report["requestBody"]["content"]["application/json"]["schema"]["description"]
    assert {"url", "job"} <= {p["name"] for p in report["parameters"]}
    for code in ("200", "201"):
        assert report["responses"][code]["content"]["application/json"]["schema"]["$ref"].endswith("/PipelineRun")
    run = schema["components"]["schemas"]["PipelineRun"]["properties"]
    assert {"source", "status", "started_at", "finished_at", "passed", "failed", "errored", "failures", "url"} <= set(
        run
    )
    deliverable = schema["components"]["schemas"]["Deliverable"]["properties"]
    assert {"expected_interval_hours", "freshness", "last_run_status", "flagged"} <= set(deliverable)


def test_story_links_are_documented(schema):
    links = schema["paths"]["/api/v1/stories/{story_key}/links/"]
    assert links["post"]["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/Link")
    assert {"400", "403", "404"} <= set(links["post"]["responses"])
    link = schema["components"]["schemas"]["Link"]
    assert set(link["properties"]) == {"id", "kind", "direction", "story", "title", "state"}
    create = schema["components"]["schemas"]["LinkCreateRequest"]
    assert set(create["properties"]) == {"kind", "target"} and set(create["required"]) == {"kind", "target"}
    detail = schema["paths"]["/api/v1/stories/{story_key}/links/{link_id}/"]
    assert set(detail) == {"delete"} and "204" in detail["delete"]["responses"]


def test_text_that_whitespace_alone_leaves_blank_is_documented_as_needing_a_character(schema):
    """DRF trims a CharField, so " " or "\\n" is as blank as "" (a 400): the schema asks for a non-space."""
    reason = schema["components"]["schemas"]["RequestDeclineRequest"]["properties"]["reason"]
    assert reason["pattern"] == r"\S" and reason["minLength"] == 1
    story = schema["components"]["schemas"]["StoryCreateRequest"]["properties"]
    assert story["title"]["pattern"] == r"\S"
    assert "pattern" not in story["description"]  # may be blank


def test_a_fields_own_pattern_is_kept(schema):
    key = schema["components"]["schemas"]["ProjectCreateRequest"]["properties"]["key"]
    assert key["pattern"] == "^[A-Z]{2,10}$"
    listing = schema["paths"]["/api/v1/projects/{key}/stories/"]["get"]["parameters"]
    sprint = next(p for p in listing if p["name"] == "sprint")["schema"]
    assert sprint["pattern"] == "^(none|[0-9]{1,18})$"


def test_answers_have_no_non_blank_pattern(schema):
    story = schema["components"]["schemas"]["Story"]["properties"]
    assert "pattern" not in story["title"]
