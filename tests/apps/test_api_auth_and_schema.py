from __future__ import annotations

from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.web.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db


def create_token(username: str) -> str:
    out = StringIO()
    call_command("create_token", username, stdout=out)
    return out.getvalue().strip()


def test_create_token_prints_a_key_that_is_stored_only_hashed(project, people):
    key = create_token("member")
    token = ApiToken.objects.get(user=people["member"])
    assert token.key_hash == hash_token(key) and key not in token.key_hash and token.hint == key[:12]
    client = APIClient()
    response = client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert [p["key"] for p in response.json()["results"]] == ["DATA"]
    assert response.json()["results"][0]["role"] == "member"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_bad_and_revoked_tokens_are_401s(project, people):
    key = create_token("member")
    client = APIClient()
    for header in ("Token nope", "Token", "Token a b", f"Token {key}x"):
        response = client.get("/api/v1/projects/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert response.json()["errors"][0]["code"] == "authentication_failed"
    ApiToken.objects.filter(user=people["member"]).delete()
    assert client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert client.get("/api/v1/projects/").status_code == 401


def test_create_token_for_an_unknown_user_fails():
    with pytest.raises(CommandError, match="no active user"):
        create_token("ghost")


def test_the_schema_documents_every_endpoint_and_the_error_shape(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    for path in (
        "/api/v1/projects/{key}/stories/",
        "/api/v1/stories/{story_key}/",
        "/api/v1/sprints/{sprint_id}/close/",
        "/api/v1/stories/{story_key}/events/",
        "/api/v1/projects/{key}/members/{username}/",
    ):
        assert path in paths
    patch = paths["/api/v1/stories/{story_key}/"]["patch"]
    assert set(patch["responses"]) >= {"200", "400", "401", "403", "404", "409"}
    assert "version" in schema["components"]["schemas"]["StoryUpdateRequest"]["required"]
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    assert "errors" in schema["components"]["schemas"]["Errors"]["properties"]


def test_the_docs_page_is_served_without_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower() and b"cdn.jsdelivr" not in response.content
