"""Template filters: ``{% load sprintboard %}``."""

from __future__ import annotations

import markdown as markdown_lib
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str | None) -> SafeString:
    """Markdown to HTML, sanitised: scripts, event handlers and unsafe links are stripped."""
    if not text:
        return mark_safe("")
    html = markdown_lib.markdown(str(text), extensions=["fenced_code", "tables"], output_format="html")
    return mark_safe(nh3.clean(html))  # noqa: S308 - nh3 has just removed anything unsafe
