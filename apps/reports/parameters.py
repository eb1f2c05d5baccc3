"""The parameters of each report kind: parsed from a query string, checked, made canonical.

Canonical parameters are a small dict with sorted keys and ISO dates; a missing optional parameter
is ``None`` and is resolved against the as-of day when the report is computed (a flow report with no
dates always covers the 90 days ending on its as-of day). Their hash names the Report row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from django.conf import settings

from apps.core.errors import InvalidInput
from apps.reports.models import ReportKind

WINDOW_DAYS = 90  # the default window of flow and waste reports, ending on the as-of day
MAX_ITEMS = 10_000
MAX_SEED = 2**31 - 1
FORECAST_HORIZON_DAYS = 5 * 365
# Query parameters every report endpoint accepts besides its own: the download format and its table.
DOWNLOAD_PARAMETERS = frozenset({"format", "table"})
ALLOWED: dict[str, set[str]] = {
    ReportKind.FLOW: {"from", "to"},
    ReportKind.WASTE: {"from", "to"},
    ReportKind.VELOCITY: set(),
    ReportKind.FORECAST: {"items", "date", "seed"},
    ReportKind.SPRINT: set(),
    ReportKind.DATAOPS: set(),
}


def parameters_hash(parameters: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parameters, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# How each parameter reads in a sentence (the API's answers name the field too, in ``field``).
READABLE = {"from": "start date", "to": "end date", "date": "date", "items": "number of stories", "seed": "seed"}


def _whole_message(name: str, low: int, high: int) -> str:
    return f"The {READABLE.get(name, name)} must be a whole number from {low} to {high}."


def _date(query: Mapping[str, str], name: str) -> date | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"The {READABLE.get(name, name)} must be a date written YYYY-MM-DD, like 2024-03-31.",
            field=name,
            code="invalid_date",
        ) from None


def _whole(query: Mapping[str, str], name: str, *, low: int, high: int) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise InvalidInput(_whole_message(name, low, high), field=name, code="invalid_number")
    value = int(raw)
    if not low <= value <= high:
        raise InvalidInput(_whole_message(name, low, high), field=name, code="out_of_range")
    return value


def _window(query: Mapping[str, str], today: date) -> dict[str, str | None]:
    start, end = _date(query, "from"), _date(query, "to")
    if end is not None and end > today:
        raise InvalidInput(
            f"The end date ({end}) is after today ({today}): a report cannot see the future.", field="to"
        )
    if start is not None and start > (end or today):
        raise InvalidInput(
            f"The start date ({start}) is after the end date ({end or today}): put the earlier date first.",
            field="from",
        )
    longest = settings.REPORT_MAX_WINDOW_DAYS  # what one report may read and hold, whoever asks
    if start is not None and ((end or today) - start).days + 1 > longest:
        raise InvalidInput(
            f"The dates may be at most {longest} days apart: choose a later start date.", field="from", code="too_long"
        )
    return {"from": None if start is None else start.isoformat(), "to": None if end is None else end.isoformat()}


def _forecast(query: Mapping[str, str], today: date) -> dict[str, Any]:
    items = _whole(query, "items", low=1, high=MAX_ITEMS)
    by = _date(query, "date")
    if items is not None and by is not None:
        raise InvalidInput(
            "Ask one question at a time: either how many stories by a date, or when a number of stories will be done.",
            field="items",
        )
    if by is not None and not today <= by <= today + timedelta(days=FORECAST_HORIZON_DAYS):
        raise InvalidInput(
            f"The date must be between today ({today}) and five years from now.", field="date", code="out_of_range"
        )
    seed = _whole(query, "seed", low=0, high=MAX_SEED)
    return {"items": items, "date": by and by.isoformat(), "seed": 0 if seed is None else seed}


def parse(kind: str, query: Mapping[str, str], *, today: date) -> dict[str, Any]:
    """Canonical parameters of a ``kind`` report from a query string; InvalidInput names the bad one."""
    unknown = sorted(set(query) - ALLOWED[kind] - DOWNLOAD_PARAMETERS)
    if unknown:
        raise InvalidInput(
            f"“{unknown[0]}” is not something this report can be asked for.", field=unknown[0], code="unknown_field"
        )
    if kind in (ReportKind.FLOW, ReportKind.WASTE):
        return _window(query, today)
    if kind == ReportKind.FORECAST:
        return _forecast(query, today)
    return {}


def window_of(parameters: Mapping[str, Any], as_of_day: date) -> tuple[date, date]:
    """The first and last day of a flow or waste report computed on ``as_of_day``."""
    end = date.fromisoformat(parameters["to"]) if parameters.get("to") else as_of_day
    start = date.fromisoformat(parameters["from"]) if parameters.get("from") else end - timedelta(days=WINDOW_DAYS - 1)
    return start, min(end, as_of_day)
