"""Formatting of report numbers and table headers, the same on every page (the e2e test relies on it)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def number(value: object) -> str:
    """Integers as they are, other numbers with at most two decimals; None as an em dash."""
    if value is None or value == "":
        return "—"
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
