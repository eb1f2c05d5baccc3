"""Files people download: CSV tables a spreadsheet opens safely, and JSON documents.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'``:
a spreadsheet must not run a state name, a title or a blocked reason as a formula (CSV injection).
Every CSV download goes through :func:`csv_text` (report tables, story exports).

>>> spreadsheet_cell("=HYPERLINK(1)"), spreadsheet_cell(None), spreadsheet_cell(3)
("'=HYPERLINK(1)", '', 3)
>>> csv_text((["key", "title"], [["DATA-1", "-1 day"]]))
"key,title\\r\\nDATA-1,'-1 day\\r\\n"
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse

__all__ = ["FORMULA_START", "Table", "csv_download", "csv_text", "download", "json_download", "spreadsheet_cell"]

# Headers and rows: what a CSV download holds.
Table = tuple[Sequence[str], Iterable[Sequence[Any]]]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """A value as a CSV cell: None is empty; text a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_text(table: Table) -> str:
    headers, rows = table
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([spreadsheet_cell(h) for h in headers])
    writer.writerows([spreadsheet_cell(v) for v in row] for row in rows)
    return out.getvalue()


def download(content: str | bytes, *, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_download(table: Table, *, filename: str) -> HttpResponse:
    return download(csv_text(table), filename=filename, content_type="text/csv; charset=utf-8")


def json_download(body: Any, *, filename: str, indent: int | None = 2) -> HttpResponse:
    return download(json.dumps(body, indent=indent), filename=filename, content_type="application/json")
