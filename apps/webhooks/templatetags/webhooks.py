"""The webhooks section of the settings page, whose view (apps.projects) cannot know webhooks."""

from __future__ import annotations

from django import template

from apps.projects.models import Project
from apps.webhooks import selectors

register = template.Library()


@register.simple_tag
def webhooks_of(project: Project) -> dict:
    return {"all": list(selectors.project_webhooks(project)), "disabled": selectors.disabled_webhooks(project)}
