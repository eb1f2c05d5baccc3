"""Formatting of report numbers and table headers, the same on every page (the e2e test relies on it)."""

from __future__ import annotations

from collections.abc import Sequence

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

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


@register.simple_tag
def table_rows(rows: Sequence[Sequence[object]], columns: int, empty: str = "") -> SafeString:
    """A report table's body: each row's first cell a row header, the others numbers (``number``), escaped.

    Written in one pass rather than as template tags per cell: the flow page's tables hold thousands of cells,
    and each cell through the template engine cost ~10 µs.
    """
    if not rows:
        return format_html(
            '<tr><td colspan="{}" class="empty">{}</td></tr>', columns, empty or "Nothing in this window."
        )
    lines = []
    for row in rows:
        cells = "".join(f'<td class="num">{escape(number(cell))}</td>' for cell in row[1:])
        head = f'<th scope="row">{escape(number(row[0]))}</th>' if row else ""
        lines.append(f"<tr>{head}{cells}</tr>")
    return mark_safe("\n".join(lines))  # noqa: S308 - every cell escaped above
