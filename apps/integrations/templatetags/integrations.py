"""The integrations section of the settings page and the code of a story page, whose views cannot know them."""

from __future__ import annotations

from django import template

from apps.integrations import selectors
from apps.integrations.models import CodeLink
from apps.projects.models import Project
from apps.stories.models import Story

register = template.Library()


@register.simple_tag
def integrations_of(project: Project) -> selectors.Settings:
    return selectors.project_settings(project)


@register.simple_tag
def code_links_of(story: Story) -> list[CodeLink]:
    return list(selectors.story_code_links(story))
