"""Formatting of report numbers and table headers, the same on every page (the e2e test relies on it)."""

from __future__ import annotations

from django import template

from apps.reports.exports import timestamp

register = template.Library()


@register.filter
def number(value: object) -> str:
    """A table cell: integers as they are, other numbers with at most two decimals, a timestamp to the minute
    (UTC, as the results keep it); None as an em dash.

    >>> number(26.76923076923077), number(3.0), number("2026-12-01T21:20:25.073772Z"), number(None)
    ('26.77', '3', '2026-12-01 21:20 UTC', '—')
    """
    if value is None or value == "":
        return "—"
    moment = timestamp(value)
    if moment is not None:
        return f"{moment:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


@register.filter
def percent(value: object) -> str:
    if value is None:
        return "—"
    return f"{100 * float(value):.0f}%"  # type: ignore[arg-type]


@register.filter
def label(value: str) -> str:
    text = str(value).replace("_", " ")
    return text[:1].upper() + text[1:]  # "ML model" stays as it is; snake_case headers read as words


@register.filter
def get(mapping: dict, key: object) -> object:
    return mapping.get(key) if isinstance(mapping, dict) else None
