"""Bodies shaped like the documented GitHub and GitLab webhook payloads (trimmed to the fields they always have)."""

from __future__ import annotations

REPOSITORY = {
    "id": 1296269,
    "name": "etl",
    "full_name": "acme/etl",
    "html_url": "https://github.com/acme/etl",
    "default_branch": "main",
}


def pull_request(action="opened", *, number=5, title="Churn feed", body=None, ref="feature/x", merged=False):
    closed = action == "closed"
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "url": f"https://api.github.com/repos/acme/etl/pulls/{number}",
            "id": 1,
            "html_url": f"https://github.com/acme/etl/pull/{number}",
            "number": number,
            "state": "closed" if closed else "open",
            "locked": False,
            "title": title,
            "user": {"login": "octocat", "id": 1},
            "body": body,
            "created_at": "2026-12-01T09:00:00Z",
            "updated_at": "2026-12-01T10:00:00Z",
            "closed_at": "2026-12-01T10:00:00Z" if closed else None,
            "merged_at": "2026-12-01T10:00:00Z" if merged else None,
            "merged": merged,
            "draft": False,
            "head": {"label": f"acme:{ref}", "ref": ref, "sha": "a" * 40},
            "base": {"label": "acme:main", "ref": "main", "sha": "b" * 40},
        },
        "repository": REPOSITORY,
        "sender": {"login": "octocat", "id": 1},
    }


def push(ref="refs/heads/main", messages=("Dedupe rows (DATA-1)",)):
    commits = [
        {
            "id": f"{n:040x}",
            "tree_id": "f" * 40,
            "distinct": True,
            "message": message,
            "timestamp": "2026-12-01T09:00:00+01:00",
            "url": f"https://github.com/acme/etl/commit/{n:040x}",
            "author": {"name": "Mona", "email": "mona@example.com", "username": "mona"},
            "committer": {"name": "Mona", "email": "mona@example.com", "username": "mona"},
            "added": [],
            "removed": [],
            "modified": ["models/churn.sql"],
        }
        for n, message in enumerate(messages, start=1)
    ]
    return {
        "ref": ref,
        "before": "c" * 40,
        "after": "d" * 40,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": "https://github.com/acme/etl/compare/cccccccccccc...dddddddddddd",
        "commits": commits,
        "head_commit": commits[-1] if commits else None,
        "repository": REPOSITORY,
        "pusher": {"name": "mona", "email": "mona@example.com"},
        "sender": {"login": "mona", "id": 2},
    }


GITLAB_PROJECT = {
    "id": 15,
    "name": "etl",
    "web_url": "https://gitlab.example.com/acme/etl",
    "path_with_namespace": "acme/etl",
    "default_branch": "main",
}


def merge_request(action="open", *, state="opened", title="Churn feed", description="", branch="feature/x", iid=8):
    return {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": {"id": 1, "name": "Administrator", "username": "root"},
        "project": GITLAB_PROJECT,
        "object_attributes": {
            "id": 99,
            "iid": iid,
            "target_branch": "main",
            "source_branch": branch,
            "source_project_id": 15,
            "target_project_id": 15,
            "author_id": 51,
            "title": title,
            "created_at": "2026-12-01 09:00:00 UTC",
            "updated_at": "2026-12-01 10:00:00 UTC",
            "state": state,
            "merge_status": "can_be_merged",
            "description": description,
            "url": f"https://gitlab.example.com/acme/etl/-/merge_requests/{iid}",
            "action": action,
        },
        "labels": [],
        "changes": {},
        "repository": {"name": "etl", "url": "git@gitlab.example.com:acme/etl.git"},
    }


def gitlab_push(ref="refs/heads/main", messages=("Dedupe rows (DATA-1)\n",)):
    commits = [
        {
            "id": f"{n:040x}",
            "message": message,
            "title": message.splitlines()[0],
            "timestamp": "2026-12-01T09:00:00+01:00",
            "url": f"https://gitlab.example.com/acme/etl/-/commit/{n:040x}",
            "author": {"name": "Jane", "email": "jane@example.com"},
            "added": [],
            "modified": ["models/churn.sql"],
            "removed": [],
        }
        for n, message in enumerate(messages, start=1)
    ]
    return {
        "object_kind": "push",
        "event_name": "push",
        "before": "c" * 40,
        "after": "d" * 40,
        "ref": ref,
        "checkout_sha": "d" * 40,
        "user_id": 4,
        "user_name": "Jane",
        "user_username": "jane",
        "project_id": 15,
        "project": GITLAB_PROJECT,
        "commits": commits,
        "total_commits_count": len(commits),
        "repository": {"name": "etl", "url": "git@gitlab.example.com:acme/etl.git"},
    }
