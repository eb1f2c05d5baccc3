"""The backup section is included in the settings page, whose view (apps.projects) cannot know its form."""

from __future__ import annotations

from django import template

from apps.transfer.forms import RestoreForm

register = template.Library()


@register.simple_tag
def restore_form(bound: object = None) -> RestoreForm:
    """The restore form with its errors when the restore page re-renders it, else (an unknown variable on the
    settings page) a blank one."""
    return bound if isinstance(bound, RestoreForm) else RestoreForm()
