"""Jira search responses built in the tests, shaped as Jira documents them (no real customer data).

Server / Data Center ``GET /rest/api/2/search?expand=changelog,names``: ``{"startAt", "maxResults", "total",
"issues", "names"}``; Cloud ``GET /rest/api/3/search/jql?expand=changelog``: ``{"issues", "nextPageToken",
"isLast"}`` with ADF descriptions and users by ``accountId``.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

POINTS = "customfield_10016"
SPRINT = "customfield_10020"
FLAGGED = "customfield_10021"
EPIC_LINK = "customfield_10014"
NAMES = {POINTS: "Story Points", SPRINT: "Sprint", FLAGGED: "Flagged", EPIC_LINK: "Epic Link"}
STATUSES = {
    "1": ("To Do", "new"),
    "3": ("In Progress", "indeterminate"),
    "4": ("Waiting for data", "indeterminate"),
    "10001": ("Done", "done"),
    "10002": ("Won't Do", "done"),
}


def user(name: str, *, cloud: bool = False) -> dict[str, Any]:
    if cloud:
        return {"accountId": f"5b10-{name}", "displayName": name.title(), "emailAddress": f"{name}@example.com"}
    return {"name": name, "key": name, "displayName": name.title(), "emailAddress": f"{name}@example.com"}


def status(status_id: str, name: str | None = None) -> dict[str, Any]:
    default, category = STATUSES[status_id]
    return {"id": status_id, "name": name or default, "statusCategory": {"key": category}}


def sprint(sprint_id: int, name: str, state: str, start: str | None, end: str | None, complete: str | None = None):
    return {
        "id": sprint_id,
        "name": name,
        "state": state,
        "boardId": 1,
        "goal": "",
        "startDate": start,
        "endDate": end,
        "completeDate": complete,
    }


def item(field: str, from_id, from_string, to_id, to_string, *, fieldtype: str = "jira") -> dict[str, Any]:
    return {
        "field": field,
        "fieldtype": fieldtype,
        "from": from_id,
        "fromString": from_string,
        "to": to_id,
        "toString": to_string,
    }


def moved(from_id: str, to_id: str, *, from_name: str | None = None, to_name: str | None = None):
    return item("status", from_id, from_name or STATUSES[from_id][0], to_id, to_name or STATUSES[to_id][0])


def history(created: str, author: str | dict | None, *items: dict[str, Any], history_id: int = 1) -> dict[str, Any]:
    who = user(author) if isinstance(author, str) else author
    return {"id": str(history_id), "author": who, "created": created, "items": list(items)}


def issue(
    key: str,
    *,
    summary: str | None = None,
    type_: str = "Story",
    status_: dict[str, Any] | None = None,
    created: str = "2024-03-01T09:00:00.000+0200",
    assignee: str | dict | None = None,
    reporter: str | dict | None = "ann",
    points: float | None = None,
    sprints: list[dict[str, Any]] | None = None,
    flagged: bool = False,
    histories: list[dict[str, Any]] | None = None,
    description: Any = None,
    labels: list[str] | None = None,
    epic: str | None = None,
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "summary": summary or f"Work on {key}",
        "issuetype": {"name": type_, "subtask": type_ == "Sub-task"},
        "status": status_ or status("1"),
        "created": created,
        "resolutiondate": None,
        "assignee": user(assignee) if isinstance(assignee, str) else assignee,
        "reporter": user(reporter) if isinstance(reporter, str) else reporter,
        "labels": labels or [],
        "priority": {"name": "Medium"},
        "description": description,
        POINTS: points,
        SPRINT: sprints,
        FLAGGED: [{"value": "Impediment", "id": "10019"}] if flagged else None,
        EPIC_LINK: epic,
    }
    hist = histories or []
    return {
        "id": str(abs(hash(key)) % 100000),
        "key": key,
        "fields": fields,
        "changelog": {"startAt": 0, "maxResults": len(hist), "total": len(hist), "histories": hist},
    }


def server_pages(issues: list[dict[str, Any]], per_page: int = 50, *, names: bool = True) -> list[tuple[str, bytes]]:
    pages = []
    for start in range(0, max(len(issues), 1), per_page):
        page: dict[str, Any] = {
            "expand": "names,schema",
            "startAt": start,
            "maxResults": per_page,
            "total": len(issues),
            "issues": issues[start : start + per_page],
        }
        if names:
            page["names"] = {"summary": "Summary", "status": "Status", **NAMES}
        pages.append((f"page-{start // per_page + 1}.json", json.dumps(page).encode()))
    return pages


def cloud_pages(issues: list[dict[str, Any]], per_page: int = 50) -> list[tuple[str, bytes]]:
    pages = []
    chunks = [issues[i : i + per_page] for i in range(0, len(issues), per_page)] or [[]]
    for number, chunk in enumerate(chunks):
        last = number == len(chunks) - 1
        page: dict[str, Any] = {"issues": chunk, "isLast": last, "names": {"summary": "Summary", **NAMES}}
        if not last:
            page["nextPageToken"] = f"token-{number + 1}"
        pages.append((f"cloud-{number + 1}.json", json.dumps(page).encode()))
    return pages


def zipped(files: list[tuple[str, bytes]], name: str = "export.zip") -> tuple[str, bytes]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file_name, content in files:
            archive.writestr(file_name, content)
    return name, buffer.getvalue()


def adf(*paragraphs: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in paragraphs],
    }
