"""Code-host webhook payloads (GitHub, GitLab) read as links to stories.

A branch name, a commit message, or a pull/merge request's title, body or source branch that names a story
key (``DATA-12``, matched whatever its case: ``data-12-fix-the-feed`` names ``DATA-12``) links that piece of
code to the story. These functions take the decoded JSON body of one delivery and say which links it
makes; what to store and which story to move is the caller's.

| name | what it does |
|---|---|
| `story_keys(text, project_key=)` | the story keys of one project named in a text, in order, without repeats |
| `github_links(event, payload, project_key=)` | the links of a GitHub delivery (``X-GitHub-Event``) |
| `gitlab_links(event, payload, project_key=)` | the links of a GitLab delivery (``X-Gitlab-Event``) |
| `CodeLink` | one link: keys, kind, url, title, state, and the move it asks for (``opened``/``merged``) |
| `UnknownEvent` | an event these functions do not read (an `EngineError`) |

Events read: GitHub ``pull_request`` and ``push`` (``ping`` makes no links); GitLab ``Merge Request Hook``
and ``Push Hook``. A body of the wrong shape raises `EngineError` naming what is missing.

>>> story_keys("DATA-12: fix data-7 and DATAX-3, not XDATA-4; DATA-12 again", project_key="DATA")
('DATA-12', 'DATA-7')
>>> pr = {"action": "opened", "pull_request": {"html_url": "https://github.com/acme/etl/pull/5", "number": 5,
...       "title": "DATA-3 churn feed", "body": None, "state": "open", "merged": False,
...       "head": {"ref": "feature/data-4"}}}
>>> [(link.keys, link.kind, link.state, link.move) for link in github_links("pull_request", pr, project_key="DATA")]
[(('DATA-4', 'DATA-3'), 'pr', 'open', 'opened')]
>>> github_links("ping", {"zen": "Keep it logically awesome."}, project_key="DATA")
[]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sprintboard.errors import EngineError

__all__ = ["KINDS", "MOVES", "STATES", "CodeLink", "UnknownEvent", "github_links", "gitlab_links", "story_keys"]

KINDS = ("pr", "mr", "commit", "branch")
STATES = ("open", "merged", "closed")
MOVES = ("opened", "merged")
TITLE_MAX, URL_MAX = 300, 2000
NO_COMMIT = "0" * 40  # GitLab's "after" of a deleted branch


class UnknownEvent(EngineError):
    """A delivery of an event kind these functions do not read."""


@dataclass(frozen=True)
class CodeLink:
    """One piece of code naming stories: ``keys`` (upper case, in order), ``kind`` (``pr``, ``mr``, ``commit``,
    ``branch``), its ``url`` (what identifies it), ``title``, ``state`` (``open``, ``merged``, ``closed``) and
    ``move``: ``opened`` when a pull/merge request was just opened or reopened, ``merged`` when it was just
    merged, else None."""

    keys: tuple[str, ...]
    kind: str
    url: str
    title: str
    state: str
    move: str | None = None


def story_keys(text: str | None, *, project_key: str) -> tuple[str, ...]:
    """The keys of ``project_key``'s stories that ``text`` names, upper-cased, first mention first.

    A key is the project key, a hyphen and a number, not glued to a letter or digit on either side.

    >>> story_keys("Merge branch 'data-9-dedupe' into main", project_key="DATA")
    ('DATA-9',)
    >>> story_keys(None, project_key="DATA")
    ()
    """
    if not text:
        return ()
    pattern = re.compile(
        rf"(?<![A-Za-z0-9]){re.escape(project_key)}-0*([1-9][0-9]{{0,8}})(?![A-Za-z0-9])", re.IGNORECASE
    )
    found = [f"{project_key.upper()}-{number}" for number in pattern.findall(text)]
    return tuple(dict.fromkeys(found))


def _keys(*texts: str | None, project_key: str) -> tuple[str, ...]:
    found = [key for text in texts for key in story_keys(text, project_key=project_key)]
    return tuple(dict.fromkeys(found))


def _object(payload: Any, name: str) -> Mapping[str, Any]:
    value = payload.get(name) if isinstance(payload, Mapping) else None
    if not isinstance(value, Mapping):
        raise EngineError(f"{name} is missing or not an object")
    return value


def _text(payload: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = payload.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise EngineError(f"{name} is missing or not text")
    return value


def _list(payload: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = payload.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise EngineError(f"{name} is not a list of objects")
    return value


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:TITLE_MAX] if text.strip() else ""


def _branch(ref: str) -> str | None:
    """The branch of a pushed ref (``refs/heads/x`` -> ``x``); None for tags."""
    return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None


def _link(keys: tuple[str, ...], kind: str, url: str, title: str, state: str, move: str | None = None) -> CodeLink:
    if not url.startswith(("https://", "http://")) or any(c in url for c in "\x00 \n\r\t"):
        raise EngineError(f"the {kind}'s url is not an http(s) URL")
    return CodeLink(keys, kind, url[:URL_MAX], title.replace("\x00", "")[:TITLE_MAX], state, move)


Reader = Callable[[Mapping[str, Any], str], list[CodeLink]]


def _read(event: str, payload: Any, project_key: str, readers: Mapping[str, Reader], unknown: str) -> list[CodeLink]:
    """The links ``event``'s reader finds in ``payload``; an event with no reader is ``UnknownEvent(unknown)``."""
    if not isinstance(payload, Mapping):
        raise EngineError("the body is not a JSON object")
    reader = readers.get(event)
    if reader is None:
        raise UnknownEvent(unknown)
    return reader(payload, project_key)


def _no_links(payload: Mapping[str, Any], project_key: str) -> list[CodeLink]:
    return []


# --- GitHub ---------------------------------------------------------------------------------------


def github_links(event: str, payload: Any, *, project_key: str) -> list[CodeLink]:
    """The links of one GitHub webhook delivery; ``event`` is its ``X-GitHub-Event`` header.

    >>> push = {"ref": "refs/heads/main", "deleted": False,
    ...         "repository": {"html_url": "https://github.com/acme/etl", "default_branch": "main"},
    ...         "commits": [{"id": "a1", "message": "Dedupe rows (DATA-9)\\n\\nlong text",
    ...                      "url": "https://github.com/acme/etl/commit/a1"}]}
    >>> [(link.keys, link.kind, link.title, link.state) for link in github_links("push", push, project_key="DATA")]
    [(('DATA-9',), 'commit', 'Dedupe rows (DATA-9)', 'merged')]
    """
    readers = {"ping": _no_links, "pull_request": _github_pull_request, "push": _github_push}
    return _read(
        event, payload, project_key, readers, f"GitHub event {event!r} is not read: send pull_request and push events"
    )


def _github_pull_request(payload: Mapping[str, Any], project_key: str) -> list[CodeLink]:
    action = _text(payload, "action")
    pull = _object(payload, "pull_request")
    head = _object(pull, "head")
    title = _text(pull, "title")
    keys = _keys(_text(head, "ref"), title, _text(pull, "body", required=False), project_key=project_key)
    if not keys:
        return []
    merged = pull.get("merged") is True or pull.get("merged_at") not in (None, "")
    state = "merged" if merged else ("closed" if _text(pull, "state") == "closed" else "open")
    move = "opened" if action in ("opened", "reopened") else ("merged" if action == "closed" and merged else None)
    return [_link(keys, "pr", _text(pull, "html_url"), title, state, move)]


def _github_push(payload: Mapping[str, Any], project_key: str) -> list[CodeLink]:
    repository = _object(payload, "repository")
    deleted = payload.get("deleted") is True
    return _push_links(payload, project_key, repository, _text(repository, "html_url").rstrip("/") + "/tree/", deleted)


def _push_links(
    payload: Mapping[str, Any], project_key: str, repository: Mapping[str, Any], tree_url: str, deleted: bool
) -> list[CodeLink]:
    """A push's links (GitHub's and GitLab's share the shape): its branch, then each commit naming a story;
    a commit pushed to the default branch is merged."""
    branch = _branch(_text(payload, "ref"))
    links = []
    if branch is not None:
        keys = story_keys(branch, project_key=project_key)
        if keys:
            links.append(_link(keys, "branch", f"{tree_url}{branch}", branch, "closed" if deleted else "open"))
    on_default = branch is not None and branch == repository.get("default_branch")
    for commit in _list(payload, "commits"):
        message = _text(commit, "message", required=False)
        keys = story_keys(message, project_key=project_key)
        if keys:
            state = "merged" if on_default else "open"
            links.append(_link(keys, "commit", _text(commit, "url"), _first_line(message), state))
    return links


# --- GitLab ---------------------------------------------------------------------------------------

GITLAB_MR_STATES = {"opened": "open", "locked": "open", "merged": "merged", "closed": "closed"}


def gitlab_links(event: str, payload: Any, *, project_key: str) -> list[CodeLink]:
    """The links of one GitLab webhook delivery; ``event`` is its ``X-Gitlab-Event`` header.

    >>> mr = {"object_kind": "merge_request", "object_attributes": {"iid": 8, "title": "Churn feed",
    ...       "description": "Closes DATA-3", "source_branch": "data-3-churn", "state": "merged",
    ...       "action": "merge", "url": "https://gitlab.com/acme/etl/-/merge_requests/8"}}
    >>> [(link.keys, link.kind, link.state, link.move) for link in gitlab_links("Merge Request Hook", mr,
    ...                                                                            project_key="DATA")]
    [(('DATA-3',), 'mr', 'merged', 'merged')]
    """
    readers = {"Merge Request Hook": _gitlab_merge_request, "Push Hook": _gitlab_push}
    return _read(
        event, payload, project_key, readers, f"GitLab event {event!r} is not read: send merge request and push events"
    )


def _gitlab_merge_request(payload: Mapping[str, Any], project_key: str) -> list[CodeLink]:
    attributes = _object(payload, "object_attributes")
    title = _text(attributes, "title")
    branch = _text(attributes, "source_branch")
    keys = _keys(branch, title, _text(attributes, "description", required=False), project_key=project_key)
    if not keys:
        return []
    state = GITLAB_MR_STATES.get(_text(attributes, "state"))
    if state is None:
        raise EngineError(f"object_attributes.state is not one of {', '.join(GITLAB_MR_STATES)}")
    action = attributes.get("action")
    move = "opened" if action in ("open", "reopen") else ("merged" if action == "merge" else None)
    return [_link(keys, "mr", _text(attributes, "url"), title, state, move)]


def _gitlab_push(payload: Mapping[str, Any], project_key: str) -> list[CodeLink]:
    project = _object(payload, "project")
    deleted = payload.get("after") == NO_COMMIT
    return _push_links(payload, project_key, project, _text(project, "web_url").rstrip("/") + "/-/tree/", deleted)
