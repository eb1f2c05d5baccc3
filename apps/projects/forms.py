"""Forms type the input; the services validate it (their errors land on these forms)."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.utils.html import format_html, format_html_join

from apps.core.errors import DomainError
from apps.projects.models import Category, Role, WipPolicy

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show a service's error beside the field it names, or above the form."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


class SearchableChoice(forms.TextInput):
    """A text input with its choices as a ``<datalist>``: the browser filters them as one types."""

    def render(self, name, value, attrs=None, renderer=None):
        field = super().render(name, value, attrs, renderer)
        options = format_html_join("", '<option value="{}">', ((value,) for value, _ in TIMEZONE_CHOICES))
        return field + format_html('<datalist id="{}">{}</datalist>', self.attrs["list"], options)


class ProjectSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    sprint_length_days = forms.IntegerField(label="Sprint length (days)", min_value=1, max_value=90, initial=14)
    timezone = forms.ChoiceField(
        label="Time zone",
        choices=TIMEZONE_CHOICES,
        initial="UTC",
        help_text="Sprint days and reports follow this zone. Type to search: a city (Berlin) or a region (Europe/).",
        # A text field with the zones as suggestions: ~600 entries are searchable as you type, not scrolled.
        widget=SearchableChoice(attrs={"list": "timezone-choices", "autocomplete": "off", "spellcheck": "false"}),
    )
    wip_policy = forms.ChoiceField(
        label="WIP policy", choices=WipPolicy.choices, initial=WipPolicy.WARN, widget=forms.RadioSelect
    )


class ProjectCreateForm(ProjectSettingsForm):
    key = forms.CharField(
        max_length=10, help_text="2 to 10 capital letters, such as DATA. Story keys start with it: DATA-1."
    )
    field_order = ["key", "name", "sprint_length_days", "timezone", "wip_policy"]

    def clean_key(self) -> str:
        return self.cleaned_data["key"].strip().upper()


class MemberAddForm(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "add-member-%s")  # unique ids on the settings page, which has several forms
        super().__init__(*args, **kwargs)

    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class StateForm(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "add-state-%s")
        super().__init__(*args, **kwargs)

    name = forms.CharField(max_length=60)
    category = forms.ChoiceField(choices=Category.choices)
    wip_limit = forms.IntegerField(label="WIP limit", min_value=1, required=False, help_text="Empty for no limit.")


class StateMoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])


class StateDeleteForm(forms.Form):
    move_to = forms.IntegerField(label="Move its stories to", required=False, min_value=1)
