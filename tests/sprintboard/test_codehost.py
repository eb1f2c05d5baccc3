"""Code-host payloads read as story links: bodies shaped like GitHub's and GitLab's documented webhooks."""

from __future__ import annotations

import pytest

from sprintboard.codehost import CodeLink, UnknownEvent, github_links, gitlab_links, story_keys
from sprintboard.errors import EngineError


def github_pull_request(action="opened", *, title="Churn feed", body=None, ref="feature/x", state="open", merged=False):
    return {
        "action": action,
        "number": 5,
        "pull_request": {
            "url": "https://api.github.com/repos/acme/etl/pulls/5",
            "html_url": "https://github.com/acme/etl/pull/5",
            "number": 5,
            "state": state,
            "title": title,
            "body": body,
            "merged": merged,
            "merged_at": "2026-12-01T10:00:00Z" if merged else None,
            "head": {"ref": ref, "sha": "a" * 40},
            "base": {"ref": "main", "sha": "b" * 40},
        },
        "repository": {"full_name": "acme/etl", "html_url": "https://github.com/acme/etl", "default_branch": "main"},
        "sender": {"login": "octocat"},
    }


def github_push(ref="refs/heads/main", *, messages=("DATA-9 dedupe",), deleted=False):
    commits = [
        {"id": f"{n:040x}", "message": m, "url": f"https://github.com/acme/etl/commit/{n:040x}", "distinct": True}
        for n, m in enumerate(messages, start=1)
    ]
    return {
        "ref": ref,
        "before": "c" * 40,
        "after": "0" * 40 if deleted else "d" * 40,
        "created": False,
        "deleted": deleted,
        "forced": False,
        "compare": "https://github.com/acme/etl/compare/c...d",
        "commits": commits,
        "head_commit": commits[-1] if commits else None,
        "repository": {"full_name": "acme/etl", "html_url": "https://github.com/acme/etl", "default_branch": "main"},
        "pusher": {"name": "octocat"},
    }


def gitlab_merge_request(action="open", *, state="opened", title="Churn feed", description="", branch="feature/x"):
    return {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": {"username": "jsmith"},
        "project": {"web_url": "https://gitlab.com/acme/etl", "default_branch": "main"},
        "object_attributes": {
            "id": 99,
            "iid": 8,
            "title": title,
            "description": description,
            "source_branch": branch,
            "target_branch": "main",
            "state": state,
            "action": action,
            "url": "https://gitlab.com/acme/etl/-/merge_requests/8",
        },
    }


def gitlab_push(ref="refs/heads/main", *, messages=("DATA-9 dedupe\n",), after="e" * 40):
    commits = [
        {"id": f"{n:040x}", "message": m, "title": m.splitlines()[0],
         "url": f"https://gitlab.com/acme/etl/-/commit/{n:040x}"}
        for n, m in enumerate(messages, start=1)
    ]  # fmt: skip
    return {
        "object_kind": "push",
        "event_name": "push",
        "before": "c" * 40,
        "after": after,
        "ref": ref,
        "checkout_sha": after,
        "project": {"web_url": "https://gitlab.com/acme/etl", "default_branch": "main"},
        "commits": commits,
        "total_commits_count": len(commits),
    }


def test_keys_are_the_projects_in_any_case_once_each_and_never_part_of_a_word():
    text = "data-12 DATA-12 Data-3 DATA-007 XDATA-4 DATA-5x OPS-6 DATA-0 DATA-"
    assert story_keys(text, project_key="DATA") == ("DATA-12", "DATA-3", "DATA-7")
    assert story_keys("ops-6/fix", project_key="OPS") == ("OPS-6",)
    assert story_keys("", project_key="DATA") == ()


def test_an_opened_pull_request_links_the_keys_of_its_branch_title_and_body_and_asks_for_the_opened_move():
    payload = github_pull_request(title="Churn feed (DATA-3)", body="Also fixes data-5.", ref="data-4-churn")
    assert github_links("pull_request", payload, project_key="DATA") == [
        CodeLink(("DATA-4", "DATA-3", "DATA-5"), "pr", "https://github.com/acme/etl/pull/5", "Churn feed (DATA-3)",
                 "open", "opened"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("action", "state", "merged", "expected"),
    [
        ("closed", "closed", True, ("merged", "merged")),
        ("closed", "closed", False, ("closed", None)),
        ("reopened", "open", False, ("open", "opened")),
        ("edited", "open", False, ("open", None)),
        ("synchronize", "open", False, ("open", None)),
    ],
)
def test_a_pull_requests_state_and_move_follow_its_action(action, state, merged, expected):
    payload = github_pull_request(action, title="DATA-3 churn", state=state, merged=merged)
    [link] = github_links("pull_request", payload, project_key="DATA")
    assert (link.state, link.move) == expected


def test_a_pull_request_naming_no_story_links_nothing():
    assert github_links("pull_request", github_pull_request(title="Bump deps"), project_key="DATA") == []


def test_a_push_links_its_branch_and_each_commit_naming_a_key():
    payload = github_push("refs/heads/data-9-dedupe", messages=("Dedupe rows\n\nfor DATA-9", "typo", "DATA-2, DATA-9"))
    links = github_links("push", payload, project_key="DATA")
    assert [(link.kind, link.keys, link.state) for link in links] == [
        ("branch", ("DATA-9",), "open"),
        ("commit", ("DATA-9",), "open"),
        ("commit", ("DATA-2", "DATA-9"), "open"),
    ]
    assert links[0].url == "https://github.com/acme/etl/tree/data-9-dedupe"
    assert links[1].title == "Dedupe rows" and links[1].url.startswith("https://github.com/acme/etl/commit/")
    assert all(link.move is None for link in links)


def test_commits_on_the_default_branch_are_merged_and_a_deleted_branch_is_closed():
    [commit] = github_links("push", github_push("refs/heads/main"), project_key="DATA")
    assert commit.state == "merged"
    [branch] = github_links("push", github_push("refs/heads/DATA-9", messages=(), deleted=True), project_key="DATA")
    assert (branch.kind, branch.state) == ("branch", "closed")


def test_a_tag_push_links_only_its_commits():
    links = github_links("push", github_push("refs/tags/DATA-9", messages=("DATA-1 release",)), project_key="DATA")
    assert [(link.kind, link.keys) for link in links] == [("commit", ("DATA-1",))]


def test_ping_makes_no_links_and_other_events_are_unknown():
    assert github_links("ping", {"zen": "Speak like a human.", "hook_id": 1}, project_key="DATA") == []
    with pytest.raises(UnknownEvent, match="issues"):
        github_links("issues", {"action": "opened"}, project_key="DATA")
    with pytest.raises(UnknownEvent):
        gitlab_links("Issue Hook", {"object_kind": "issue"}, project_key="DATA")


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"action": "opened"},
        {"action": "opened", "pull_request": {"title": "DATA-1", "head": {"ref": "x"}, "state": "open"}},
        {"action": "opened", "pull_request": "DATA-1"},
        {"action": 3, "pull_request": github_pull_request()["pull_request"]},
    ],
)
def test_a_malformed_pull_request_is_an_engine_error(payload):
    with pytest.raises(EngineError):
        github_links("pull_request", payload, project_key="DATA")


@pytest.mark.parametrize(
    "change",
    [
        {"commits": "DATA-1"},
        {"commits": [{"message": "DATA-1", "url": "javascript:alert(1)"}]},
        {"repository": None},
        {"ref": None},
    ],
)
def test_a_malformed_push_is_an_engine_error(change):
    with pytest.raises(EngineError):
        github_links("push", {**github_push(), **change}, project_key="DATA")


@pytest.mark.parametrize(
    ("action", "state", "expected"),
    [
        ("open", "opened", ("open", "opened")),
        ("reopen", "opened", ("open", "opened")),
        ("update", "opened", ("open", None)),
        ("approved", "opened", ("open", None)),
        ("merge", "merged", ("merged", "merged")),
        ("close", "closed", ("closed", None)),
    ],
)
def test_a_merge_requests_state_and_move_follow_its_action(action, state, expected):
    payload = gitlab_merge_request(action, state=state, branch="data-3-churn", description="and DATA-4")
    [link] = gitlab_links("Merge Request Hook", payload, project_key="DATA")
    assert (link.kind, link.keys, link.url) == (
        "mr",
        ("DATA-3", "DATA-4"),
        "https://gitlab.com/acme/etl/-/merge_requests/8",
    )
    assert (link.state, link.move) == expected


def test_a_gitlab_push_links_branch_and_commits_and_knows_a_deleted_branch():
    links = gitlab_links("Push Hook", gitlab_push("refs/heads/data-9-x", messages=("DATA-9 dedupe\n",)),
                         project_key="DATA")  # fmt: skip
    assert [(link.kind, link.state, link.url) for link in links] == [
        ("branch", "open", "https://gitlab.com/acme/etl/-/tree/data-9-x"),
        ("commit", "open", "https://gitlab.com/acme/etl/-/commit/" + f"{1:040x}"),
    ]
    [merged] = gitlab_links("Push Hook", gitlab_push(), project_key="DATA")
    assert merged.state == "merged"
    [gone] = gitlab_links(
        "Push Hook", gitlab_push("refs/heads/DATA-9", messages=(), after="0" * 40), project_key="DATA"
    )
    assert gone.state == "closed"


@pytest.mark.parametrize(
    "payload",
    [
        "DATA-1",
        {"object_kind": "merge_request"},
        {"object_attributes": {**gitlab_merge_request()["object_attributes"], "state": "weird", "title": "DATA-1"}},
        {"object_attributes": {**gitlab_merge_request()["object_attributes"], "title": None}},
    ],
)
def test_a_malformed_merge_request_is_an_engine_error(payload):
    with pytest.raises(EngineError):
        gitlab_links("Merge Request Hook", payload, project_key="DATA")


def test_nul_bytes_never_reach_a_title_and_a_url_with_spaces_or_nul_is_refused():
    [link] = github_links("pull_request", github_pull_request(title="DATA-1 \x00 nul"), project_key="DATA")
    assert link.title == "DATA-1  nul"
    for url in ("https://github.com/a b", "https://github.com/\x00"):
        payload = github_pull_request(title="DATA-1")
        payload["pull_request"]["html_url"] = url
        with pytest.raises(EngineError, match="url"):
            github_links("pull_request", payload, project_key="DATA")
