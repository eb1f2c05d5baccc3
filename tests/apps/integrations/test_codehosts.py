"""GitHub and GitLab deliveries: signed ones link code to the stories they name and make the chosen moves;
unsigned, wrongly signed or misaddressed ones get 401, malformed ones 400, and nothing changes."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from apps.integrations import services
from apps.integrations.models import CodeLink
from apps.stories import services as story_services
from apps.stories.models import StoryEvent
from apps.stories.selectors import story_history

from .conftest import GITHUB_URL, GITLAB_URL, github_signature
from .payloads import gitlab_push, merge_request, pull_request, push

pytestmark = pytest.mark.django_db


@pytest.fixture
def stories(project, people):
    return [
        story_services.story_create(project=project, actor=people["owner"], title=title)
        for title in ("Dedupe CRM rows", "Churn feed", "Revenue dashboard")
    ]


@pytest.fixture
def moves(project, states):
    services.integration_update(
        project=project, opened_state=states["In progress"].pk, merged_state=states["Validating"].pk
    )
    return states


def snapshot():
    return (
        CodeLink.objects.count(),
        StoryEvent.objects.count(),
        list(CodeLink.objects.values_list("state", flat=True)),
    )


def test_a_pull_request_naming_stories_links_them_with_its_state(github, stories):
    answer = github("pull_request", pull_request(title="Churn feed (DATA-2)", body="Also DATA-1, not DATA-99"))
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"event": "pull_request", "linked": ["DATA-1", "DATA-2"], "moved": [], "refused": []}
    links = CodeLink.objects.order_by("story__number")
    assert [(link.story.key, link.host, link.kind, link.state) for link in links] == [
        ("DATA-1", "github", "pr", "open"),
        ("DATA-2", "github", "pr", "open"),
    ]
    assert links[0].url == "https://github.com/acme/etl/pull/5" and links[0].title == "Churn feed (DATA-2)"


def test_the_same_pull_request_updates_its_link_as_it_merges(github, stories):
    github("pull_request", pull_request(ref="data-2-churn"))
    github("pull_request", pull_request("closed", ref="data-2-churn", merged=True))
    link = CodeLink.objects.get()
    assert (link.story.key, link.state) == ("DATA-2", "merged")


def test_the_chosen_moves_are_state_events_whose_actor_is_the_integration(github, stories, moves):
    answer = github("pull_request", pull_request(ref="feature/data-2"))
    assert answer.json()["moved"] == ["DATA-2"]
    stories[1].refresh_from_db()
    assert stories[1].state == moves["In progress"]
    event = StoryEvent.objects.filter(story=stories[1]).latest("seq")
    assert (event.kind, event.to_value, event.actor.get_username()) == ("state", moves["In progress"].pk, "github[bot]")
    assert not event.actor.is_active and not event.actor.has_usable_password()
    assert story_history(stories[1])[-1].actor == "GitHub"

    assert github("pull_request", pull_request("closed", ref="feature/data-2", merged=True)).json()["moved"] == [
        "DATA-2"
    ]
    stories[1].refresh_from_db()
    assert stories[1].state == moves["Validating"]


def test_a_closed_unmerged_or_edited_pull_request_moves_nothing(github, stories, moves):
    github("pull_request", pull_request(ref="data-1"))  # opened: In progress
    before = StoryEvent.objects.count()
    assert github("pull_request", pull_request("edited", ref="data-1")).json()["moved"] == []
    assert github("pull_request", pull_request("closed", ref="data-1")).json()["moved"] == []
    assert StoryEvent.objects.count() == before
    assert CodeLink.objects.get().state == "closed"


def test_a_move_the_wip_limit_blocks_is_reported_and_the_link_kept(github, stories, moves, project):
    from apps.projects import services as project_services

    project_services.project_update(project=project, wip_policy="block")
    project_services.state_update(state=moves["In progress"], wip_limit=1)
    github("pull_request", pull_request(ref="data-1", number=1))
    answer = github("pull_request", pull_request(ref="data-2", number=2)).json()
    assert answer["moved"] == [] and answer["refused"][0]["story"] == "DATA-2"
    assert CodeLink.objects.filter(story=stories[1]).exists()


def test_a_push_links_its_branch_and_commits(github, stories):
    payload = push("refs/heads/data-3-revenue", messages=("Revenue model (DATA-3)", "Fix DATA-1 dedupe", "wip"))
    assert github("push", payload).json()["linked"] == ["DATA-1", "DATA-3"]
    links = {(link.story.key, link.kind, link.state) for link in CodeLink.objects.all()}
    assert links == {("DATA-3", "branch", "open"), ("DATA-3", "commit", "open"), ("DATA-1", "commit", "open")}


def test_ping_is_answered_and_changes_nothing(github, stories):
    answer = github("ping", {"zen": "Design for failure.", "hook_id": 42, "hook": {"type": "Repository"}})
    assert answer.status_code == 200 and answer.json()["linked"] == []
    assert not CodeLink.objects.exists()


def test_the_api_lists_a_storys_code_newest_first(github, stories, client_for):
    github("push", push("refs/heads/data-2", messages=("DATA-2 first",)))
    github("pull_request", pull_request(title="DATA-2 churn"))
    answer = client_for("stakeholder").get("/api/v1/stories/DATA-2/code/")
    assert answer.status_code == 200
    rows = answer.json()["results"]
    assert [(row["kind"], row["state"], row["host"]) for row in rows] == [
        ("pr", "open", "github"),
        ("commit", "open", "github"),
        ("branch", "open", "github"),
    ]
    assert client_for("outsider").get("/api/v1/stories/DATA-2/code/").status_code == 404


def test_the_story_page_shows_the_links_with_their_state(github, stories, as_user):
    github("pull_request", pull_request("closed", title="DATA-2 churn", merged=True))
    page = as_user("stakeholder").get("/p/DATA/stories/DATA-2/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "https://github.com/acme/etl/pull/5" in html and "Merged" in html


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "sha1=abc", "sha256=", "sha256=" + "0" * 63 + "é"],
    ids=["missing", "empty", "wrong", "sha1", "bare", "non-ascii"],
)
def test_a_missing_or_wrong_signature_is_401_and_changes_nothing(secret, stories, signature):
    body = json.dumps(pull_request(title="DATA-1")).encode()
    headers = {"X-GitHub-Event": "pull_request"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    before = snapshot()
    answer = Client(enforce_csrf_checks=True).post(GITHUB_URL, body, content_type="application/json", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "bad_signature"
    assert snapshot() == before


def test_a_body_signed_with_another_secret_or_changed_after_signing_is_401(github, stories):
    payload = pull_request(title="DATA-1")
    assert (
        github("pull_request", payload, signature=github_signature("another secret entirely", b"{}")).status_code == 401
    )
    body = json.dumps(payload).encode()
    signature = github_signature(services.Integration.objects.get().secret, body)
    tampered = body.replace(b"DATA-1", b"DATA-2")
    assert github("pull_request", None, body=tampered, signature=signature).status_code == 401
    assert not CodeLink.objects.exists()


def test_an_unknown_project_or_one_without_a_secret_is_401(github, stories, project, people):
    assert github("ping", {}, url="/api/v1/projects/NOPE/integrations/github/").status_code == 401
    from apps.projects import services as project_services

    project_services.project_create(creator=people["admin"], key="BARE", name="No integrations")
    assert github("ping", {}, url="/api/v1/projects/BARE/integrations/github/").status_code == 401


def test_a_rotated_secret_refuses_the_old_one(github, stories, project):
    services.integration_update(project=project, rotate_secret=True)
    assert github("ping", {}).status_code == 401


@pytest.mark.parametrize(
    ("event", "body", "code"),
    [
        ("pull_request", b"{not json", "parse_error"),
        ("pull_request", b"\xff\xfe", "parse_error"),
        ("pull_request", b"[1, 2]", "invalid_payload"),
        ("pull_request", json.dumps({"action": "opened"}).encode(), "invalid_payload"),
        ("push", json.dumps({**push(), "commits": "DATA-1"}).encode(), "invalid_payload"),
        ("issues", json.dumps({"action": "opened"}).encode(), "unknown_event"),
        ("", b"{}", "unknown_event"),
    ],
)
def test_a_malformed_body_or_an_unknown_event_is_400_and_changes_nothing(github, stories, event, body, code):
    before = snapshot()
    answer = github(event, None, body=body)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == code
    assert snapshot() == before


def test_gitlab_merge_requests_link_move_and_merge(gitlab, stories, moves):
    opened = gitlab("Merge Request Hook", merge_request(branch="data-1-dedupe", description="See DATA-3"))
    assert opened.status_code == 200, opened.content
    assert opened.json()["moved"] == ["DATA-1", "DATA-3"]
    merged = gitlab("Merge Request Hook", merge_request("merge", state="merged", branch="data-1-dedupe"))
    assert merged.json()["moved"] == ["DATA-1"]
    states = {link.story.key: (link.kind, link.state) for link in CodeLink.objects.all()}
    assert states == {"DATA-1": ("mr", "merged"), "DATA-3": ("mr", "open")}  # DATA-3 left the description
    event = StoryEvent.objects.filter(story=stories[0]).latest("seq")
    assert event.actor.get_username() == "gitlab[bot]" and event.to_value == moves["Validating"].pk


def test_gitlab_pushes_link_commits_on_the_default_branch_as_merged(gitlab, stories):
    assert gitlab("Push Hook", gitlab_push()).json()["linked"] == ["DATA-1"]
    assert CodeLink.objects.get().state == "merged"


@pytest.mark.parametrize("token", ["", "wrong", "x" * 500])
def test_a_wrong_gitlab_token_is_401_and_changes_nothing(gitlab, stories, token):
    before = snapshot()
    answer = gitlab("Merge Request Hook", merge_request(title="DATA-1"), token=token)
    assert answer.status_code == 401 and snapshot() == before


def test_a_missing_gitlab_token_is_401(secret, stories):
    body = json.dumps(merge_request(title="DATA-1")).encode()
    answer = Client(enforce_csrf_checks=True).post(
        GITLAB_URL, body, content_type="application/json", headers={"X-Gitlab-Event": "Merge Request Hook"}
    )
    assert answer.status_code == 401 and not CodeLink.objects.exists()


def test_a_malformed_gitlab_body_or_event_is_400(gitlab, stories):
    assert gitlab("Merge Request Hook", None, body=b"{").status_code == 400
    assert gitlab("Merge Request Hook", {"object_kind": "merge_request"}).status_code == 400
    assert gitlab("Issue Hook", {"object_kind": "issue"}).json()["errors"][0]["code"] == "unknown_event"
    assert not CodeLink.objects.exists() and StoryEvent.objects.count() == 3


def test_deleted_stories_are_not_linked(github, stories, people):
    story_services.story_delete(story=stories[0], actor=people["owner"])
    assert github("pull_request", pull_request(title="DATA-1 and DATA-2")).json()["linked"] == ["DATA-2"]
