"""Jira exports read into plain records, analysed for the mapping step, and planned as a story history.

The input is what Jira's REST search returns with the changelog expanded: Server / Data Center
``GET /rest/api/2/search?expand=changelog`` (pages with ``startAt``/``maxResults``/``total``) and Cloud
``GET /rest/api/3/search/jql?expand=changelog`` (pages with ``nextPageToken``/``isLast``, descriptions in
the Atlassian Document Format), as one file, several page files, or a zip of them. Nothing here touches a
database: the Django side (``apps/imports``) maps the plan onto workflow states, sprints and users and
writes it.

====================================================  ==========================================================
function / class                                      what it gives
====================================================  ==========================================================
``read_export(files)``                                an :class:`Export` of (file name, bytes) pages or zips
``parse_time(text)``                                  an aware datetime from Jira's ``+0200`` / ``Z`` timestamps
``adf_to_markdown(doc)``                              Markdown for an ADF document (plain text passes through)
``analyse(export)``                                   statuses, issue types, points fields and users, with counts
``default_mapping(analysis)``                         the pre-filled :class:`ImportMapping` (statusCategory → category)
``mapping_from_json(data, analysis)``                 an :class:`ImportMapping` from its JSON form, checked
``plan(export, mapping)``                             a :class:`Plan`: epics, stories and every step in time order
``ImportFormatError``                                 what is wrong, and where: file, issue key, field
====================================================  ==========================================================

>>> page = {"startAt": 0, "maxResults": 50, "total": 1, "issues": [{"key": "DATA-1", "fields": {
...     "summary": "Load orders", "issuetype": {"name": "Story"}, "created": "2024-03-01T09:00:00.000+0200",
...     "status": {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}}},
...     "changelog": {"histories": [{"created": "2024-03-02T10:00:00.000Z", "author": {"name": "ann"},
...         "items": [{"field": "status", "from": "1", "fromString": "To Do", "to": "3",
...                    "toString": "In Progress"}]}]}}]}
>>> import json
>>> export = read_export([("page.json", json.dumps(page).encode())])
>>> analysis = analyse(export)
>>> [(s.key, s.name, s.category, s.issues) for s in analysis.statuses]
[('1', 'To Do', 'todo', 0), ('3', 'In Progress', 'active', 1)]
>>> steps = plan(export, default_mapping(analysis)).steps
>>> [(s.kind, s.value, s.at.isoformat()) for s in steps]
[('created', None, '2024-03-01T07:00:00+00:00'), ('state', '3', '2024-03-02T10:00:00+00:00')]
>>> plan(export, default_mapping(analysis)).stories[0].initial.state
'1'
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "KINDS",
    "Analysis",
    "Export",
    "History",
    "ImportFormatError",
    "Issue",
    "Item",
    "JiraSprint",
    "JiraUser",
    "ImportMapping",
    "Plan",
    "PlannedEpic",
    "PlannedStory",
    "Problem",
    "Step",
    "Values",
    "adf_to_markdown",
    "analyse",
    "analysis_from_json",
    "default_mapping",
    "mapping_from_json",
    "parse_time",
    "plan",
    "read_export",
    "sprint_order",
]

CATEGORIES = ("backlog", "todo", "active", "waiting", "done", "cancelled")
# What a Jira issue type may become: a story kind, an epic, or nothing.
KINDS = ("story", "bug", "chore", "spike", "epic", "skip")
STATUS_CATEGORY = {"new": "todo", "indeterminate": "active", "done": "done", "undefined": "todo"}
DEFAULT_KINDS = {"bug": "bug", "task": "chore", "spike": "spike", "epic": "epic", "story": "story"}
POINTS_NAMES = ("story points", "story point estimate")
KEY_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-[0-9]+$")
GREENHOPPER = re.compile(r"greenhopper\.service\.sprint\.Sprint@[0-9a-f]*\[(?P<body>.*)\]$", re.DOTALL)
MAX_PROBLEMS = 20
MAX_KEY = 64
YEARS = (1970, 2200)  # the plausible years of a work item's history
# What a zip may hold once unpacked: a bound against archives that expand without end.
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_TITLE = 300


# --- Errors ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in the input: ``field`` is the path inside the issue (``fields.created``)."""

    file: str
    key: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = ", ".join(part for part in (self.file, self.key and f"issue {self.key}", self.field) if part)
        return f"{where}: {self.message}" if where else self.message


class ImportFormatError(ValueError):
    """The input is refused, whole; ``problems`` says what and where (at most 20 are listed)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = tuple(problems)


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: str, key: str | None, field: str | None, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(file, key, field, message))

    def raise_any(self) -> None:
        if self.problems:
            raise ImportFormatError(self.problems)


class _Bad(Exception):
    """One field's problem inside an issue (turned into a Problem with the file and key)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


# --- Records ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JiraUser:
    """A Jira user: ``key`` is the accountId (Cloud) or user name (Server)."""

    key: str
    display_name: str
    username: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class JiraSprint:
    id: str
    name: str
    state: str  # future | active | closed
    start: datetime | None = None
    end: datetime | None = None
    completed: datetime | None = None
    goal: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    """One changed field of a changelog history (Jira's ``items[]``)."""

    field: str
    field_id: str | None = None
    from_id: str | None = None
    from_string: str | None = None
    to_id: str | None = None
    to_string: str | None = None


@dataclass(frozen=True, slots=True)
class History:
    at: datetime
    author: str | None
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Issue:
    file: str
    key: str
    summary: str
    description: str
    issue_type: str
    subtask: bool
    status: str  # the status key: Jira's status id, else its name
    created: datetime
    assignee: str | None = None
    reporter: str | None = None
    labels: tuple[str, ...] = ()
    priority: str | None = None
    numbers: Mapping[str, float] = field(default_factory=dict)  # numeric custom fields: points candidates
    epic: str | None = None
    sprints: tuple[str, ...] = ()
    flagged: str | None = None  # the flag's value ("Impediment") when flagged
    histories: tuple[History, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusInfo:
    key: str
    name: str
    category: str | None  # Jira's statusCategory key, when known


@dataclass(frozen=True)
class Export:
    issues: tuple[Issue, ...]
    sprints: Mapping[str, JiraSprint]
    users: Mapping[str, JiraUser]
    statuses: Mapping[str, StatusInfo]
    field_names: Mapping[str, str]  # custom field id -> name (from ``names`` when expanded)
    style: str  # "server" | "cloud" | "csv"


# --- Timestamps and ADF --------------------------------------------------------------------------------


def parse_time(text: object) -> datetime:
    """An aware datetime in UTC from Jira's ISO 8601 timestamps (``+0200``, ``+02:00``, ``Z``).

    >>> parse_time("2024-03-01T09:00:00.000+0200").isoformat()
    '2024-03-01T07:00:00+00:00'
    >>> parse_time("2024-03-01T09:00:00Z").isoformat()
    '2024-03-01T09:00:00+00:00'
    >>> parse_time("2024-03-01")
    Traceback (most recent call last):
    ...
    ValueError: '2024-03-01' has no time zone: expected a Jira timestamp such as 2024-03-01T09:00:00.000+0200
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a timestamp")
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a timestamp such as 2024-03-01T09:00:00.000+0200") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: expected a Jira timestamp such as 2024-03-01T09:00:00.000+0200")
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise ValueError(f"{text!r} is not between the years {YEARS[0]} and {YEARS[1]}")
    return moment.astimezone(UTC)


def adf_to_markdown(doc: object) -> str:
    """Markdown for an Atlassian Document Format document; a string (Server's wiki text) is kept as it is.

    >>> adf_to_markdown({"type": "doc", "version": 1, "content": [
    ...     {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Goal"}]},
    ...     {"type": "paragraph", "content": [{"type": "text", "text": "Load ", "marks": [{"type": "strong"}]},
    ...         {"type": "text", "text": "docs", "marks": [{"type": "link", "attrs": {"href": "https://x.org"}}]}]},
    ...     {"type": "bulletList", "content": [{"type": "listItem", "content": [
    ...         {"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]}]}]})
    '## Goal\\n\\n**Load** [docs](https://x.org)\\n\\n- one'
    """
    if doc is None:
        return ""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, Mapping):
        raise ValueError("a description is text or an ADF document (an object with type 'doc')")
    try:
        return "\n\n".join(b for b in (_block(node, "") for node in _children(doc)) if b).strip()
    except RecursionError:
        raise ValueError("the ADF document is nested too deeply to read") from None


def _children(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    content = node.get("content")
    return [c for c in content if isinstance(c, Mapping)] if isinstance(content, list) else []


def _attrs(node: Mapping[str, Any]) -> Mapping[str, Any]:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, Mapping) else {}


def _block(node: Mapping[str, Any], indent: str) -> str:
    kind = node.get("type")
    attrs = _attrs(node)
    if kind == "paragraph":
        return _inline(node)
    if kind == "heading":
        level = attrs.get("level")
        return "#" * max(1, min(level if isinstance(level, int) else 1, 6)) + " " + _inline(node)
    if kind in ("bulletList", "orderedList"):
        lines = []
        for number, item in enumerate(_children(node), start=1):
            marker = f"{number}. " if kind == "orderedList" else "- "
            body = "\n".join(_block(child, indent + "  ") for child in _children(item))
            lines.append(indent + marker + body.lstrip())
        return "\n".join(lines)
    if kind == "codeBlock":
        language = attrs.get("language")
        return f"```{language if isinstance(language, str) else ''}\n{_inline(node)}\n```"
    if kind == "blockquote":
        return "\n".join("> " + line for b in _children(node) for line in _block(b, "").splitlines())
    if kind == "rule":
        return "---"
    if kind in ("table", "tableRow", "tableCell", "tableHeader", "panel", "expand", "layoutSection", "layoutColumn"):
        return "\n\n".join(b for b in (_block(c, indent) for c in _children(node)) if b)
    return _inline(node)


def _inline(node: Mapping[str, Any]) -> str:
    out = []
    for child in _children(node):
        kind = child.get("type")
        attrs = _attrs(child)
        if kind == "text" and isinstance(child.get("text"), str):
            out.append(_marked(child["text"], child.get("marks")))
        elif kind == "hardBreak":
            out.append("  \n")
        elif kind == "mention":
            out.append(str(attrs.get("text") or "@someone"))
        elif kind == "emoji":
            out.append(str(attrs.get("text") or attrs.get("shortName") or ""))
        elif kind in ("inlineCard", "blockCard") and attrs.get("url"):
            out.append(f"<{attrs['url']}>")
        else:
            out.append(_inline(child))
    return "".join(out)


def _marked(text: str, marks: object) -> str:
    """``text`` with its marks; surrounding spaces stay outside them (``**Load** docs``, not ``**Load **docs``)."""
    stripped = text.strip()
    if not stripped or not marks:
        return text
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    text = stripped
    for mark in marks if isinstance(marks, list) else []:
        kind = mark.get("type") if isinstance(mark, Mapping) else None
        if kind == "strong":
            text = f"**{text}**"
        elif kind == "em":
            text = f"*{text}*"
        elif kind == "code":
            text = f"`{text}`"
        elif kind == "strike":
            text = f"~~{text}~~"
        elif kind == "link":
            href = _attrs(mark).get("href")
            text = f"[{text}]({href})" if href else text
    return lead + text + trail


# --- Reading pages ---------------------------------------------------------------------------------------


def _pages(files: Iterable[tuple[str, bytes]], problems: _Collector) -> list[tuple[str, dict[str, Any]]]:
    pages: list[tuple[str, dict[str, Any]]] = []
    for name, content in files:
        if content[:4] == b"PK\x03\x04":
            try:
                with zipfile.ZipFile(io.BytesIO(content)) as archive:
                    wanted = [
                        info
                        for info in archive.infolist()
                        if not info.is_dir() and info.filename.lower().endswith(".json")
                        and not info.filename.startswith("__MACOSX")
                    ]  # fmt: skip
                    if sum(info.file_size for info in wanted) > MAX_UNPACKED_BYTES:
                        problems.add(name, None, None, f"unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MiB")
                        continue
                    inner = [(f"{name}/{info.filename}", archive.read(info)) for info in wanted]
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, ValueError) as exc:
                problems.add(name, None, None, f"not a readable zip file ({exc})")
                continue
            if not inner:
                problems.add(name, None, None, "the zip file holds no .json files")
            pages += _pages(inner, problems)
            continue
        try:
            # A NUL can never be stored as text (PostgreSQL refuses it): dropped where JSON escapes it.
            data = json.loads(content.decode("utf-8-sig").replace("\\u0000", ""))
        except (UnicodeDecodeError, ValueError) as exc:
            problems.add(name, None, None, f"not JSON ({exc})")
            continue
        except RecursionError:
            problems.add(name, None, None, "not JSON that can be read: nested too deeply")
            continue
        if not isinstance(data, dict) or not isinstance(data.get("issues"), list):
            problems.add(name, None, "issues", "not a Jira search response: expected an object with an 'issues' list")
            continue
        pages.append((name, data))
    return pages


def _check_paging(pages: Sequence[tuple[str, dict[str, Any]]], problems: _Collector) -> str:
    """Server pages must cover 0..total without gaps; Cloud pages must include the last page."""
    server = [(n, p) for n, p in pages if "startAt" in p or "total" in p]
    cloud = [(n, p) for n, p in pages if (n, p) not in server]
    if server and cloud:
        problems.add(cloud[0][0], None, None, "mixes Cloud pages (nextPageToken) with Server pages (startAt/total)")
        return "server"
    if server:
        return _check_server_paging(server, problems)
    last = [n for n, p in cloud if p.get("isLast") is True or not p.get("nextPageToken")]
    if cloud and not last:
        problems.add(
            cloud[-1][0], None, "nextPageToken", "pages are missing: no page is the last (isLast, no nextPageToken)"
        )
    if len(last) > 1:
        problems.add(last[1][0], None, "nextPageToken", f"two pages say they are the last: {last[0]} and {last[1]}")
    return "cloud"


def _check_server_paging(pages: Sequence[tuple[str, dict[str, Any]]], problems: _Collector) -> str:
    spans = []
    for name, page in pages:
        start, total = page.get("startAt"), page.get("total")
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            problems.add(name, None, "startAt", "startAt must be a whole number of at least 0")
            return "server"
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            problems.add(name, None, "total", "total must be a whole number of at least 0")
            return "server"
        spans.append((start, start + len(page["issues"]), total, name))
    totals = {total for _, _, total, _ in spans}
    if len(totals) > 1:
        problems.add(spans[0][3], None, "total", f"the pages disagree on total ({', '.join(map(str, sorted(totals)))})")
        return "server"
    covered = 0
    for start, end, _, name in sorted(spans):
        if start > covered:
            problems.add(name, None, "startAt", f"pages are missing: issues {covered + 1}-{start} are in no file")
        covered = max(covered, end)
    total = totals.pop()
    if covered < total:
        problems.add(
            spans[-1][3], None, "total", f"pages are missing: issues {covered + 1}-{total} of {total} are in no file"
        )
    return "server"


def read_export(files: Iterable[tuple[str, bytes]]) -> Export:
    """Read Jira search pages (JSON files or zips of them); :class:`ImportFormatError` lists what is wrong."""
    problems = _Collector()
    pages = _pages(files, problems)
    problems.raise_any()
    if not pages:
        raise ImportFormatError([Problem("", None, None, "no files were given")])
    style = _check_paging(pages, problems)
    reader = _Reader(problems)
    for _, page in pages:
        names = page.get("names")
        if isinstance(names, Mapping):
            reader.field_names.update({str(k): str(v) for k, v in names.items() if isinstance(v, str)})
    seen: dict[str, Issue] = {}
    for name, page in pages:
        for index, raw in enumerate(page["issues"]):
            issue = reader.issue(name, index, raw)
            if issue is not None:
                seen[issue.key] = issue  # the same issue on two pages (a re-sorted search) is read once
    problems.raise_any()
    reader.finish_statuses()
    return Export(
        issues=tuple(seen.values()),
        sprints=reader.sprints,
        users=reader.users,
        statuses=reader.statuses,
        field_names=reader.field_names,
        style=style,
    )


class _Reader:
    def __init__(self, problems: _Collector) -> None:
        self.problems = problems
        self.sprints: dict[str, JiraSprint] = {}
        self.users: dict[str, JiraUser] = {}
        self.statuses: dict[str, StatusInfo] = {}
        self.field_names: dict[str, str] = {}
        # Statuses named only in changelogs: their latest name (a status renamed over time keeps its id).
        self.logged_statuses: dict[str, tuple[datetime, str]] = {}

    def finish_statuses(self) -> None:
        for key, (_, name) in self.logged_statuses.items():
            self.statuses.setdefault(key, StatusInfo(key, name, None))

    def issue(self, file: str, index: int, raw: object) -> Issue | None:
        key = raw.get("key") if isinstance(raw, Mapping) else None
        if not isinstance(key, str) or len(key) > MAX_KEY or not KEY_PATTERN.match(key):
            self.problems.add(file, None, f"issues[{index}].key", f"an issue needs a key such as DATA-12, not {key!r}")
            return None
        try:
            return self._issue(file, key, raw)  # type: ignore[arg-type]
        except _Bad as bad:
            self.problems.add(file, key, bad.field, bad.message)
            return None

    def _issue(self, file: str, key: str, raw: Mapping[str, Any]) -> Issue:
        fields = raw.get("fields")
        if not isinstance(fields, Mapping):
            raise _Bad("fields", "the issue has no 'fields' object")
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            raise _Bad("fields.summary", "a summary (text) is required")
        issue_type = fields.get("issuetype")
        if not isinstance(issue_type, Mapping) or not isinstance(issue_type.get("name"), str):
            raise _Bad("fields.issuetype.name", "an issue type with a name is required")
        try:
            description = adf_to_markdown(fields.get("description"))
        except ValueError as exc:
            raise _Bad("fields.description", str(exc)) from None
        return Issue(
            file=file,
            key=key,
            summary=summary.strip()[:MAX_TITLE],
            description=description,
            issue_type=issue_type["name"],
            subtask=issue_type.get("subtask") is True,
            status=self._status(fields.get("status")),
            created=_time(fields.get("created"), "fields.created"),
            assignee=self._user(fields.get("assignee"), "fields.assignee"),
            reporter=self._user(fields.get("reporter"), "fields.reporter"),
            labels=_labels(fields.get("labels")),
            priority=_name(fields.get("priority")),
            numbers=_numbers(fields),
            epic=self._epic(fields),
            sprints=self._sprint_field(fields),
            flagged=self._flagged(fields),
            histories=self._histories(raw.get("changelog")),
        )

    def _status(self, raw: object) -> str:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            raise _Bad("fields.status.name", "a status with a name is required")
        category = raw.get("statusCategory")
        category_key = category.get("key") if isinstance(category, Mapping) else None
        if category_key is not None and category_key not in STATUS_CATEGORY:
            raise _Bad("fields.status.statusCategory.key", f"{category_key!r} is not new, indeterminate or done")
        status_id = raw.get("id")
        key = str(status_id) if isinstance(status_id, str | int) and not isinstance(status_id, bool) else raw["name"]
        self.statuses[key] = StatusInfo(key, raw["name"], category_key)  # the current name wins over older ones
        return key

    def _user(self, raw: object, where: str) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise _Bad(where, "a user is an object with accountId or name")
        key = raw.get("accountId") or raw.get("name") or raw.get("key")
        if not isinstance(key, str) or not key:
            raise _Bad(where, "a user needs an accountId (Cloud) or a name (Server)")
        username, email, display = _text_of(raw, "name"), _text_of(raw, "emailAddress"), _text_of(raw, "displayName")
        display = display or username or key
        known = self.users.get(key)
        if known is None or (email and not known.email):
            self.users[key] = JiraUser(key, display, username, email)
        return key

    def _epic(self, fields: Mapping[str, Any]) -> str | None:
        parent = fields.get("parent")
        key = _text_of(parent, "key") if isinstance(parent, Mapping) else None
        if isinstance(parent, Mapping) and key is not None:
            parent_fields = parent.get("fields")
            parent_type = parent_fields.get("issuetype") if isinstance(parent_fields, Mapping) else None
            if not isinstance(parent_type, Mapping) or parent_type.get("name", "Epic") == "Epic":
                return key
        for field_id, name in self.field_names.items():
            link = fields.get(field_id)
            if name.lower() == "epic link" and isinstance(link, str):
                return link
        return None

    def _sprint_field(self, fields: Mapping[str, Any]) -> tuple[str, ...]:
        for field_id, value in fields.items():
            if not field_id.startswith("customfield_") or not isinstance(value, list) or not value:
                continue
            sprints = [self._sprint(v, field_id) for v in value]
            if all(s is not None for s in sprints):
                return tuple(s for s in sprints if s is not None)
        return ()

    def _sprint(self, raw: object, where: str) -> str | None:
        if isinstance(raw, str):
            match = GREENHOPPER.search(raw)
            if match is None:
                return None
            raw = dict(part.split("=", 1) for part in re.split(r",(?=\w+=)", match["body"]) if "=" in part)
            raw = {k: (None if v in ("<null>", "") else v) for k, v in raw.items()}
        if not isinstance(raw, Mapping) or "state" not in raw or "name" not in raw or "id" not in raw:
            return None
        sprint_id = str(raw["id"])
        if sprint_id not in self.sprints:
            name = raw.get("name")
            if not isinstance(name, str) or not name.strip():
                raise _Bad(f"fields.{where}", f"sprint {sprint_id} has no name")
            self.sprints[sprint_id] = JiraSprint(
                id=sprint_id,
                name=name.strip()[:100],
                state=str(raw.get("state") or "future").lower(),
                start=_maybe_time(raw.get("startDate"), f"fields.{where}.startDate"),
                end=_maybe_time(raw.get("endDate"), f"fields.{where}.endDate"),
                completed=_maybe_time(raw.get("completeDate"), f"fields.{where}.completeDate"),
                goal=str(raw.get("goal") or ""),
            )
        return sprint_id

    def _flagged(self, fields: Mapping[str, Any]) -> str | None:
        for field_id, value in fields.items():
            named = self.field_names.get(field_id, "").lower() == "flagged"
            shaped = (
                isinstance(value, list)
                and value
                and all(isinstance(v, Mapping) and v.get("value") == "Impediment" for v in value)
            )
            if field_id.startswith("customfield_") and (named or shaped):
                values = [v.get("value") for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
                return ", ".join(str(v) for v in values if v) or None
        return None

    def _histories(self, changelog: object) -> tuple[History, ...]:
        if changelog is None:
            return ()
        histories = changelog.get("histories") if isinstance(changelog, Mapping) else None
        if not isinstance(histories, list):
            raise _Bad("changelog.histories", "the changelog needs a 'histories' list (search with expand=changelog)")
        out = []
        for index, raw in enumerate(histories):
            where = f"changelog.histories[{index}]"
            if not isinstance(raw, Mapping) or not isinstance(raw.get("items"), list):
                raise _Bad(where, "a history needs 'created' and an 'items' list")
            author = self._user(raw.get("author"), f"{where}.author")
            items = tuple(_item(item, f"{where}.items[{n}]") for n, item in enumerate(raw["items"]))
            at = _time(raw.get("created"), f"{where}.created")
            for item in items:
                if item.field.lower() == "status":
                    for status_id, name in ((item.from_id, item.from_string), (item.to_id, item.to_string)):
                        self._log_status(status_id or name, name, at)
            out.append(History(at, author, items))
        return tuple(sorted(out, key=lambda h: h.at))  # Jira lists them oldest first, Cloud newest first

    def _log_status(self, key: str | None, name: str | None, at: datetime) -> None:
        if not key:
            return
        seen = self.logged_statuses.get(key)
        if seen is None or seen[0] <= at:
            self.logged_statuses[key] = (at, name or key)


def _item(raw: object, where: str) -> Item:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("field"), str):
        raise _Bad(where, "a changelog item needs a 'field'")

    def text(name: str) -> str | None:
        value = raw.get(name)
        if value is None or isinstance(value, str):
            return value.strip() if isinstance(value, str) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise _Bad(f"{where}.{name}", f"{name} must be text or null")

    field_id = raw.get("fieldId") if isinstance(raw.get("fieldId"), str) else None
    return Item(raw["field"], field_id, text("from"), text("fromString"), text("to"), text("toString"))


def _time(value: object, where: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise _Bad(where, str(exc)) from None


def _maybe_time(value: object, where: str) -> datetime | None:
    return None if value in (None, "") else _time(value, where)


def _labels(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad("fields.labels", "labels must be a list of text")
    return tuple(sorted({v.strip()[:50] for v in value if v.strip()}))


def _text_of(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    return value if isinstance(value, str) else None


def _name(value: object) -> str | None:
    return _text_of(value, "name") if isinstance(value, Mapping) else None


def _numbers(fields: Mapping[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in fields.items()
        if k.startswith("customfield_") and isinstance(v, int | float) and not isinstance(v, bool)
    }


# --- Analysis and mapping ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundStatus:
    key: str
    name: str
    names: tuple[str, ...]  # every name it had in the changelog (a status renamed over time)
    category: str  # the pre-filled Sprintboard category
    issues: int  # issues in it now
    changes: int  # changelog moves into it


@dataclass(frozen=True, slots=True)
class Counted:
    key: str
    name: str
    count: int
    email: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class Analysis:
    issues: int
    changelog_items: int
    statuses: tuple[FoundStatus, ...]
    issue_types: tuple[Counted, ...]
    points_fields: tuple[Counted, ...]
    users: tuple[Counted, ...]
    sprints: tuple[Counted, ...]


def _guess_category(name: str, jira_category: str | None) -> str:
    lowered = name.lower()
    if any(word in lowered for word in ("won't", "wont", "cancel", "reject", "declin", "obsolete")):
        return "cancelled"
    if jira_category is not None:
        return STATUS_CATEGORY[jira_category]
    if any(word in lowered for word in ("done", "closed", "resolved", "complete", "released")):
        return "done"
    if any(word in lowered for word in ("wait", "blocked", "hold")):
        return "waiting"
    if any(word in lowered for word in ("progress", "review", "doing", "develop", "test", "validat")):
        return "active"
    if "backlog" in lowered:
        return "backlog"
    return "todo"


def _status_items(issue: Issue) -> Iterable[Item]:
    return (item for h in issue.histories for item in h.items if item.field.lower() == "status")


def analyse(export: Export) -> Analysis:
    """What the mapping step shows: each status, type, points field, user and sprint, with its count."""
    in_status = Counter(issue.status for issue in export.issues)
    moves: Counter[str] = Counter()
    names: dict[str, list[str]] = {}
    for issue in export.issues:
        for item in _status_items(issue):
            for key, name in (
                (item.from_id or item.from_string, item.from_string),
                (item.to_id or item.to_string, item.to_string),
            ):
                if key and name and name not in names.setdefault(key, []):
                    names[key].append(name)
            if item.to_id or item.to_string:
                moves[item.to_id or item.to_string or ""] += 1
    statuses = tuple(
        FoundStatus(
            key=s.key,
            name=s.name,
            names=tuple(sorted(set(names.get(s.key, [])) | {s.name})),
            category=_guess_category(s.name, s.category),
            issues=in_status[s.key],
            changes=moves[s.key],
        )
        for s in sorted(export.statuses.values(), key=lambda s: (_natural(s.key), s.name))
    )
    types = Counter(issue.issue_type for issue in export.issues)
    numbers: Counter[str] = Counter(k for issue in export.issues for k in issue.numbers)
    user_counts: Counter[str] = Counter()
    for issue in export.issues:
        user_counts.update(u for u in (issue.assignee, issue.reporter) if u)
        user_counts.update(h.author for h in issue.histories if h.author)
    sprint_counts = Counter(s for issue in export.issues for s in issue.sprints)
    return Analysis(
        issues=len(export.issues),
        changelog_items=sum(len(h.items) for issue in export.issues for h in issue.histories),
        statuses=statuses,
        issue_types=tuple(Counted(name, name, n) for name, n in sorted(types.items())),
        points_fields=tuple(
            Counted(k, export.field_names.get(k, k), n)
            for k, n in sorted(numbers.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        users=tuple(
            Counted(u.key, u.display_name, user_counts[u.key], u.email, u.username)
            for u in sorted(export.users.values(), key=lambda u: u.display_name.lower())
        ),
        sprints=tuple(
            Counted(s.id, s.name, sprint_counts[s.id]) for s in sorted(export.sprints.values(), key=sprint_order)
        ),
    )


def analysis_from_json(data: Mapping[str, Any]) -> Analysis:
    """An :class:`Analysis` back from its JSON form (``records.to_jsonable`` of one), as stored between steps.

    >>> a = Analysis(1, 0, (FoundStatus("1", "To Do", ("To Do",), "todo", 1, 0),), (), (), (), ())
    >>> import dataclasses
    >>> analysis_from_json(json.loads(json.dumps(dataclasses.asdict(a)))) == a
    True
    """

    def rows(name: str, kind: type) -> tuple[Any, ...]:
        out = []
        for row in data.get(name) or ():
            values = dict(row)
            if kind is FoundStatus:
                values["names"] = tuple(values.get("names") or ())
            out.append(kind(**values))
        return tuple(out)

    return Analysis(
        issues=int(data.get("issues") or 0),
        changelog_items=int(data.get("changelog_items") or 0),
        statuses=rows("statuses", FoundStatus),
        issue_types=rows("issue_types", Counted),
        points_fields=rows("points_fields", Counted),
        users=rows("users", Counted),
        sprints=rows("sprints", Counted),
    )


def _natural(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 60, key)


def sprint_order(sprint: JiraSprint) -> tuple[datetime, int, str]:
    start = sprint.start or datetime.max.replace(tzinfo=UTC)
    return (start, *_natural(sprint.id))


@dataclass(frozen=True)
class ImportMapping:
    """What the user decided: status key -> (state name, category); issue type -> kind; the points field;
    Jira user key -> Sprintboard username (None: kept as a name in the summary, not assigned)."""

    statuses: Mapping[str, tuple[str, str]]
    types: Mapping[str, str]
    points_field: str | None
    users: Mapping[str, str | None]

    def as_json(self) -> dict[str, Any]:
        return {
            "statuses": {k: {"state": s, "category": c} for k, (s, c) in self.statuses.items()},
            "types": dict(self.types),
            "points_field": self.points_field,
            "users": dict(self.users),
        }


def default_mapping(analysis: Analysis, *, usernames: Mapping[str, str] | None = None) -> ImportMapping:
    """The pre-filled mapping: statuses by statusCategory, Epics to epics, sub-tasks skipped, the points field
    named like "Story Points", users matched by user name or e-mail (``usernames``: lower-cased user name or
    e-mail -> Sprintboard username)."""
    usernames = usernames or {}
    points = next((f.key for f in analysis.points_fields if f.name.lower() in POINTS_NAMES), None)
    if points is None and analysis.points_fields:
        points = analysis.points_fields[0].key
    types = {}
    for counted in analysis.issue_types:
        lowered = counted.name.lower()
        kind = "skip" if lowered in ("sub-task", "subtask") else DEFAULT_KINDS.get(lowered, "story")
        types[counted.name] = kind
    users: dict[str, str | None] = {}
    for user in analysis.users:
        candidates = (user.username, user.email, user.key)
        users[user.key] = next((usernames[c.lower()] for c in candidates if c and c.lower() in usernames), None)
    return ImportMapping(
        statuses={s.key: (s.name[:60], s.category) for s in analysis.statuses},
        types=types,
        points_field=points,
        users=users,
    )


def mapping_from_json(data: object, analysis: Analysis, *, usernames: Mapping[str, str] | None = None) -> ImportMapping:
    """The user's mapping over the defaults: any part left out keeps its pre-filled value.

    Raises :class:`ImportFormatError` naming the entry (``mapping.statuses.3.category``).
    """
    base = default_mapping(analysis, usernames=usernames)
    if data is None:
        return base
    problems = _Collector()
    if not isinstance(data, Mapping):
        raise ImportFormatError([Problem("mapping", None, None, "the mapping is a JSON object")])
    statuses = dict(base.statuses)
    raw_statuses = data.get("statuses", {})
    if not isinstance(raw_statuses, Mapping):
        problems.add("mapping", None, "statuses", "statuses maps status keys to {state, category}")
        raw_statuses = {}
    for key, value in raw_statuses.items():
        where = f"statuses.{key}"
        if key not in statuses:
            problems.add("mapping", None, where, f"no status {key!r} was found in the files")
        elif not isinstance(value, Mapping):
            problems.add("mapping", None, where, "each status maps to {state, category}")
        else:
            state = value.get("state", statuses[key][0])
            category = value.get("category", statuses[key][1])
            if not isinstance(state, str) or not state.strip() or len(state.strip()) > 60:
                problems.add("mapping", None, f"{where}.state", "state is a name of 1 to 60 characters")
            elif category not in CATEGORIES:
                problems.add("mapping", None, f"{where}.category", f"category is one of {', '.join(CATEGORIES)}")
            else:
                statuses[key] = (state.strip(), category)
    types = dict(base.types)
    raw_types = data.get("types", {})
    if not isinstance(raw_types, Mapping):
        problems.add("mapping", None, "types", "types maps issue types to a kind")
        raw_types = {}
    for name, kind in raw_types.items():
        if name not in types:
            problems.add("mapping", None, f"types.{name}", f"no issue type {name!r} was found in the files")
        elif kind not in KINDS:
            problems.add("mapping", None, f"types.{name}", f"a type maps to one of {', '.join(KINDS)}")
        else:
            types[name] = kind
    points = data.get("points_field", base.points_field)
    if points is not None and points not in {f.key for f in analysis.points_fields}:
        problems.add("mapping", None, "points_field", f"{points!r} is not a numeric field found in the files")
    users = dict(base.users)
    raw_users = data.get("users", {})
    if not isinstance(raw_users, Mapping):
        problems.add("mapping", None, "users", "users maps Jira users to Sprintboard user names (or null)")
        raw_users = {}
    for key, username in raw_users.items():
        if key not in users:
            problems.add("mapping", None, f"users.{key}", f"no Jira user {key!r} was found in the files")
        elif username is not None and not isinstance(username, str):
            problems.add("mapping", None, f"users.{key}", "a user maps to a user name or null")
        else:
            users[key] = username or None
    problems.raise_any()
    return ImportMapping(statuses=statuses, types=types, points_field=points, users=users)


# --- The plan -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Values:
    """A story's fields that have a history: status key, sprint id, points, assignee key, flag reason."""

    state: str
    sprint: str | None = None
    points: float | None = None
    assignee: str | None = None
    flag: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One change, in the merged order of the whole import: ``kind`` is created, state, sprint, points,
    assignee, blocked or unblocked; ``value`` the new value (a status key, sprint id, number, user key, reason)."""

    at: datetime
    key: str
    kind: str
    value: object
    author: str | None


@dataclass(frozen=True)
class PlannedEpic:
    key: str
    name: str
    description: str


@dataclass(frozen=True)
class PlannedStory:
    key: str
    title: str
    description: str
    kind: str
    epic: str | None  # the Jira key of its epic, when that epic is in the import
    labels: tuple[str, ...]
    created: datetime
    reporter: str | None
    initial: Values
    current: Values


@dataclass(frozen=True)
class Plan:
    epics: tuple[PlannedEpic, ...]
    stories: tuple[PlannedStory, ...]
    steps: tuple[Step, ...]  # every story's history merged, oldest first (created first at a tie)
    skipped: tuple[tuple[str, str], ...]  # (Jira key, reason)


_STEP_ORDER = {"created": 0}


def plan(export: Export, mapping: ImportMapping) -> Plan:
    """Epics, stories with their first and current values, and every change merged oldest first.

    A story's first state is the ``fromString`` of its first status change, else its current status (and
    likewise for sprint, points, assignee and flag). Raises :class:`ImportFormatError` for a changelog value
    that cannot be read (points that are not a number).
    """
    problems = _Collector()
    epics, stories, skipped = [], [], []
    keyed: list[tuple[datetime, int, int, Step]] = []
    epic_keys = {i.key for i in export.issues if mapping.types.get(i.issue_type) == "epic"}
    points_names = _points_names(export, mapping.points_field)
    for number, issue in enumerate(export.issues):
        kind = mapping.types.get(issue.issue_type, "story")
        if kind == "epic":
            epics.append(PlannedEpic(issue.key, issue.summary[:200], issue.description))
            continue
        if kind == "skip":
            skipped.append((issue.key, f"issue type {issue.issue_type} is skipped by the mapping"))
            continue
        try:
            story, steps = _story(issue, kind, mapping, points_names, epic_keys, export)
        except _Bad as bad:
            problems.add(issue.file, issue.key, bad.field, bad.message)
            continue
        stories.append(story)
        for order, step in enumerate(steps):
            keyed.append((step.at, _STEP_ORDER.get(step.kind, 1), number * 1_000_000 + order, step))
    problems.raise_any()
    keyed.sort(key=lambda k: k[:3])
    return Plan(tuple(epics), tuple(stories), tuple(k[3] for k in keyed), tuple(skipped))


def _points_names(export: Export, points_field: str | None) -> frozenset[str]:
    if points_field is None:
        return frozenset()
    named = export.field_names.get(points_field)
    return frozenset({points_field.lower(), *([named.lower()] if named else POINTS_NAMES)})


def _which(item: Item, points_names: frozenset[str]) -> str | None:
    name = item.field.lower()
    if name == "status":
        return "state"
    if name == "sprint":
        return "sprint"
    if name == "assignee":
        return "assignee"
    if name == "flagged":
        return "flag"
    if points_names and (name in points_names or (item.field_id or "").lower() in points_names):
        return "points"
    return None


def _story(
    issue: Issue,
    kind: str,
    mapping: ImportMapping,
    points_names: frozenset[str],
    epic_keys: set[str],
    export: Export,
) -> tuple[PlannedStory, list[Step]]:
    raw_points = issue.numbers.get(mapping.points_field) if mapping.points_field else None
    points_now = _points(f"{raw_points:g}", f"fields.{mapping.points_field}") if raw_points is not None else None
    current = Values(issue.status, _current_sprint(issue.sprints, export), points_now, issue.assignee, issue.flagged)
    first: dict[str, object] = {}
    changes: list[tuple[datetime, str | None, str, object]] = []
    for n, history in enumerate(issue.histories):
        for m, item in enumerate(history.items):
            which = _which(item, points_names)
            if which is None:
                continue
            where = f"changelog.histories[{n}].items[{m}]"
            before, after = _value(which, item, where, export, issue)
            first.setdefault(which, before)
            changes.append((history.at, history.author, which, after))
    initial = Values(
        state=str(first.get("state") or current.state),
        sprint=first["sprint"] if "sprint" in first else current.sprint,  # type: ignore[arg-type]
        points=first["points"] if "points" in first else current.points,  # type: ignore[arg-type]
        assignee=first["assignee"] if "assignee" in first else current.assignee,  # type: ignore[arg-type]
        flag=first["flag"] if "flag" in first else current.flag,  # type: ignore[arg-type]
    )
    created = min([issue.created, *(h.at for h in issue.histories)])
    steps = [Step(created, issue.key, "created", None, issue.reporter)]
    for at, author, which, value in changes:
        if which == "flag":
            steps.append(Step(at, issue.key, "blocked" if value else "unblocked", value, author))
        else:
            steps.append(Step(at, issue.key, which, value, author))
    story = PlannedStory(
        key=issue.key,
        title=issue.summary,
        description=issue.description,
        kind=kind,
        epic=issue.epic if issue.epic in epic_keys else None,
        labels=issue.labels,
        created=created,
        reporter=issue.reporter,
        initial=initial,
        current=current,
    )
    return story, steps


def _value(which: str, item: Item, where: str, export: Export, issue: Issue) -> tuple[object, object]:
    if which == "state":
        return item.from_id or item.from_string, item.to_id or item.to_string
    if which == "sprint":
        return _last_sprint(item.from_id, item.from_string, export), _last_sprint(item.to_id, item.to_string, export)
    if which == "assignee":
        return item.from_id or item.from_string, item.to_id or item.to_string
    if which == "flag":
        return item.from_string or None, item.to_string or None
    return _points(item.from_string, f"{where}.fromString"), _points(item.to_string, f"{where}.toString")


def _points(text: str | None, where: str) -> float | None:
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise _Bad(where, f"story points {text!r} is not a number") from None
    if not 0 <= value < 100_000 or value != value:
        raise _Bad(where, f"story points {text!r} is not a number from 0 to 99999")
    return round(value, 1)


def _last_sprint(ids: str | None, names: str | None, export: Export) -> str | None:
    """The sprint an issue is in after a Sprint change: the last one Jira lists (carried-over issues list all)."""
    listed = [p.strip() for p in (ids or "").split(",") if p.strip()]
    if listed:
        return listed[-1]
    named = [p.strip() for p in (names or "").split(",") if p.strip()]
    if not named:
        return None
    by_name = {s.name: s.id for s in export.sprints.values()}
    return by_name.get(named[-1], named[-1])


def _current_sprint(sprints: tuple[str, ...], export: Export) -> str | None:
    if not sprints:
        return None
    open_ = (
        [s for s in sprints if export.sprints[s].state != "closed"] if all(s in export.sprints for s in sprints) else []
    )
    return open_[-1] if open_ else sprints[-1]
