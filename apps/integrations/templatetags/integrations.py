"""The integrations section of the settings page and the code of a story page, whose views cannot know them."""

from __future__ import annotations

from django import template

from apps.integrations import selectors

register = template.Library()


@register.simple_tag
def integrations_of(project: object) -> selectors.Settings:
    return selectors.project_settings(project)  # type: ignore[arg-type]


@register.simple_tag
def code_links_of(story: object) -> list:
    return list(selectors.story_code_links(story))
