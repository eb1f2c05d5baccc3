"""CSV files read into the same :class:`~sprintboard.jira.Export` as a Jira export, so one plan serves both.

Two shapes are read. A **status-change CSV** has one row per change (key, summary, type, created, points,
from, to, changed at): the shape of Jira's and most tools' changelog exports. A **story CSV** has one row
per story with its current status only. The user names which header holds each column and the date
format; :func:`preview` shows the first rows as they will be read.

=====================================================  ==========================================================
function                                               what it gives
=====================================================  ==========================================================
``COLUMNS``                                            the columns of each shape, required ones first
``guess_columns(headers, shape)``                      the header for each column, guessed from its name
``preview(content, *, shape, columns, date_format, tz)``  headers and the first rows as read
``read_csv(files, *, shape, columns, date_format, tz)``   an :class:`~sprintboard.jira.Export` (style ``csv``)
=====================================================  ==========================================================

>>> from zoneinfo import ZoneInfo
>>> text = "Key,Summary,Type,Created,Points,From,To,Changed at\\n" \\
...        "DATA-1,Load orders,Story,2024-03-01 09:00,3,To Do,In Progress,2024-03-02 10:00\\n"
>>> columns = guess_columns(["Key", "Summary", "Type", "Created", "Points", "From", "To", "Changed at"], "changes")
>>> export = read_csv([("c.csv", text.encode())], shape="changes", columns=columns,
...                   date_format="%Y-%m-%d %H:%M", tz=ZoneInfo("Europe/Amsterdam"))
>>> issue = export.issues[0]
>>> issue.status, issue.created.isoformat(), issue.histories[0].items[0].to_string
('In Progress', '2024-03-01T08:00:00+00:00', 'In Progress')
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from sprintboard.jira import (
    KEY_PATTERN,
    MAX_KEY,
    MAX_TITLE,
    YEARS,
    Export,
    History,
    ImportFormatError,
    Issue,
    Item,
    JiraUser,
    Problem,
    StatusInfo,
)

__all__ = ["COLUMNS", "POINTS_FIELD", "SHAPES", "guess_columns", "preview", "read_csv"]

SHAPES = ("changes", "stories")
COLUMNS = {
    "changes": ("key", "summary", "to", "changed_at", "type", "created", "points", "from"),
    "stories": ("key", "summary", "status", "type", "created", "points", "assignee", "labels", "description"),
}
REQUIRED = {"changes": ("key", "summary", "to", "changed_at"), "stories": ("key", "summary", "status")}
# The numeric field a CSV's points column becomes (what the mapping's points_field names).
POINTS_FIELD = "points"
_SYNONYMS = {
    "key": ("key", "issue key", "issue", "id"),
    "summary": ("summary", "title", "name"),
    "type": ("type", "issue type", "kind"),
    "created": ("created", "created at", "created date"),
    "points": ("points", "story points", "story point estimate", "estimate"),
    "from": ("from", "from status", "old status", "fromstring"),
    "to": ("to", "to status", "new status", "tostring"),
    "changed_at": ("changed at", "changed", "date", "changed date", "timestamp"),
    "status": ("status", "state"),
    "assignee": ("assignee", "owner"),
    "labels": ("labels", "tags"),
    "description": ("description",),
}
PREVIEW_ROWS = 5
MAX_ROWS = 500_000


def guess_columns(headers: Iterable[str], shape: str) -> dict[str, str | None]:
    """For each column of ``shape``, the header that names it (case and spaces ignored), or None.

    >>> guess_columns(["Issue key", "Title", "Status"], "stories")["key"]
    'Issue key'
    """
    by_name = {h.strip().lower(): h for h in headers}
    return {column: next((by_name[s] for s in _SYNONYMS[column] if s in by_name), None) for column in COLUMNS[shape]}


def _rows(name: str, content: bytes) -> tuple[list[str], list[dict[str, str]]]:
    try:
        text = content.decode("utf-8-sig").replace("\x00", "")  # a NUL can never be stored as text
    except UnicodeDecodeError:
        raise ImportFormatError([Problem(name, None, None, "not UTF-8 text: save the CSV as UTF-8")]) from None
    dialect: type[csv.Dialect] = csv.excel
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        pass  # one column, or nothing to sniff: read as plain comma-separated
    try:
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        headers = [h for h in (reader.fieldnames or []) if h is not None]
        rows: list[dict[str, str]] = []
        for row in reader:
            if len(rows) >= MAX_ROWS:
                raise ImportFormatError([Problem(name, None, None, f"more than {MAX_ROWS} rows")])
            rows.append({k: (v or "").strip() for k, v in row.items() if isinstance(k, str) and isinstance(v, str)})
    except csv.Error as exc:
        raise ImportFormatError([Problem(name, None, None, f"not a readable CSV ({exc})")]) from None
    if not headers:
        raise ImportFormatError([Problem(name, None, None, "the CSV has no header row")])
    return headers, rows


def _check_columns(name: str, shape: str, columns: Mapping[str, str | None], headers: list[str]) -> None:
    if shape not in SHAPES:
        raise ImportFormatError([Problem(name, None, "shape", f"shape is one of {', '.join(SHAPES)}")])
    problems = []
    for column in REQUIRED[shape]:
        if not columns.get(column):
            problems.append(Problem(name, None, f"columns.{column}", f"say which column holds {column}"))
    for column, header in columns.items():
        if header and header not in headers:
            problems.append(Problem(name, None, f"columns.{column}", f"there is no column {header!r}"))
    if problems:
        raise ImportFormatError(problems)


def _time(text: str, date_format: str | None, tz: tzinfo) -> datetime:
    if date_format:
        moment = datetime.strptime(text, date_format)  # noqa: DTZ007 - the zone is added below
    else:
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise ValueError(f"{text!r} is not between the years {YEARS[0]} and {YEARS[1]}")
    return moment.astimezone(UTC)


class _Row:
    def __init__(self, name: str, number: int, row: Mapping[str, str], columns: Mapping[str, str | None]) -> None:
        self.name, self.number, self.row, self.columns = name, number, row, columns
        self.key = self.get("key")

    def get(self, column: str) -> str:
        header = self.columns.get(column)
        return self.row.get(header, "") if header else ""

    def bad(self, column: str, message: str) -> ImportFormatError:
        header = self.columns.get(column) or column
        key = self.key if KEY_PATTERN.match(self.key or "") else None
        return ImportFormatError([Problem(self.name, key, f"row {self.number}, column {header}", message)])

    def time(self, column: str, date_format: str | None, tz: tzinfo) -> datetime | None:
        text = self.get(column)
        if not text:
            return None
        try:
            return _time(text, date_format, tz)
        except ValueError:
            shown = date_format or "ISO 8601 (2024-03-01T09:00)"
            raise self.bad(column, f"{text!r} does not match the date format {shown}") from None

    def points(self) -> float | None:
        text = self.get("points").replace(",", ".")
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise self.bad("points", f"{text!r} is not a number") from None
        if not 0 <= value < 100_000:
            raise self.bad("points", f"{text!r} is not a number from 0 to 99999")
        return round(value, 1)


def preview(
    content: bytes,
    *,
    name: str,
    shape: str,
    columns: Mapping[str, str | None] | None,
    date_format: str | None,
    tz: tzinfo,
) -> dict[str, object]:
    """The headers, the columns (guessed when not given) and the first rows as they will be read (each row's
    values, or the error it raises)."""
    headers, rows = _rows(name, content)
    columns = dict(columns) if columns else guess_columns(headers, shape)
    shown: list[dict[str, object]] = []
    for number, raw in enumerate(rows[:PREVIEW_ROWS], start=2):
        row = _Row(name, number, raw, columns)
        try:
            values: dict[str, object] = {c: row.get(c) for c in COLUMNS[shape]}
            for column in ("created", "changed_at"):
                if column in values:
                    values[column] = row.time(column, date_format, tz)
            shown.append({**values, "points": row.points(), "error": None})
        except ImportFormatError as exc:
            shown.append({"error": str(exc.problems[0])})
    return {"headers": headers, "columns": columns, "rows": shown, "count": len(rows)}


@dataclass
class _Entry:
    """One key's rows so far."""

    file: str
    summary: str = ""
    issue_type: str = "Story"
    created: datetime | None = None
    status: str = ""
    assignee: str | None = None
    labels: tuple[str, ...] = ()
    description: str = ""
    current_points: float | None = None
    changes: list[tuple[datetime, str | None, str]] = field(default_factory=list)
    points: list[tuple[datetime, float | None]] = field(default_factory=list)


def read_csv(
    files: Iterable[tuple[str, bytes]],
    *,
    shape: str,
    columns: Mapping[str, str | None] | None,
    date_format: str | None,
    tz: tzinfo,
) -> Export:
    """Every file's rows as issues: a story per key; in the changes shape, one status change per row."""
    issues: dict[str, _Entry] = {}
    for name, content in files:
        headers, rows = _rows(name, content)
        wanted = dict(columns) if columns else guess_columns(headers, shape)
        _check_columns(name, shape, wanted, headers)
        for number, raw in enumerate(rows, start=2):
            row = _Row(name, number, raw, wanted)
            if not any(raw.values()):
                continue
            _read_row(row, shape, date_format, tz, issues)
    return _export(issues)


def _read_row(row: _Row, shape: str, date_format: str | None, tz: tzinfo, issues: dict[str, _Entry]) -> None:
    if len(row.key) > MAX_KEY or not KEY_PATTERN.match(row.key):
        raise row.bad("key", f"a key such as DATA-12 is required, not {row.key!r}")
    entry = issues.get(row.key)
    if entry is None:
        if not row.get("summary"):
            raise row.bad("summary", "a summary is required")
        entry = issues[row.key] = _Entry(row.name, row.get("summary"), row.get("type") or "Story")
    created = row.time("created", date_format, tz)
    points = row.points()
    if shape == "stories":
        if not row.get("status"):
            raise row.bad("status", "a status is required")
        if created is None:
            raise row.bad("created", "a created date is required in a story CSV")
        entry.created, entry.status, entry.assignee = created, row.get("status"), row.get("assignee") or None
        entry.labels = tuple(sorted({p.strip()[:50] for p in row.get("labels").split(",") if p.strip()}))
        entry.description, entry.current_points = row.get("description"), points
        return
    at = row.time("changed_at", date_format, tz)
    if at is None:
        raise row.bad("changed_at", "the time of the change is required")
    if not row.get("to"):
        raise row.bad("to", "the status changed to is required")
    if created is not None:
        entry.created = created if entry.created is None else min(created, entry.created)
    entry.changes.append((at, row.get("from") or None, row.get("to")))
    entry.points.append((at, points))


def _export(issues: Mapping[str, _Entry]) -> Export:
    built: list[Issue] = []
    statuses: dict[str, StatusInfo] = {}
    for key, entry in issues.items():
        changes = sorted(entry.changes, key=lambda c: c[0])
        histories = [History(at, None, (Item("status", None, None, old, None, new),)) for at, old, new in changes]
        points_log = sorted(entry.points, key=lambda p: p[0])
        histories += _points_histories(points_log)
        histories.sort(key=lambda h: h.at)
        status = entry.status or (changes[-1][2] if changes else "")
        created = entry.created or (changes[0][0] if changes else None)
        if created is None or not status:
            raise ImportFormatError([Problem(entry.file, key, "created", "no created date and no changes")])
        for name in [status, *(old for _, old, _ in changes if old), *(new for _, _, new in changes)]:
            statuses.setdefault(name, StatusInfo(name, name[:60], None))
        points = entry.current_points if entry.current_points is not None or not points_log else points_log[-1][1]
        built.append(
            Issue(
                file=entry.file,
                key=key,
                summary=entry.summary[:MAX_TITLE],
                description=entry.description,
                issue_type=entry.issue_type,
                subtask=False,
                status=status,
                created=created,
                assignee=entry.assignee,
                labels=entry.labels,
                numbers={POINTS_FIELD: points} if points is not None else {},
                histories=tuple(histories),
            )
        )
    users = {i.assignee: JiraUser(i.assignee, i.assignee, i.assignee) for i in built if i.assignee}
    return Export(
        issues=tuple(built),
        sprints={},
        users=users,
        statuses=statuses,
        field_names={POINTS_FIELD: "Points"},
        style="csv",
    )


def _points_histories(points: list[tuple[datetime, float | None]]) -> list[History]:
    """A points change wherever the points column differs from the row before (rows in time order)."""
    out = []
    for (_, before), (at, after) in zip(points, points[1:], strict=False):
        if before != after:
            item = Item("points", POINTS_FIELD, None, _text(before), None, _text(after))
            out.append(History(at, None, (item,)))
    return out


def _text(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"
