from typing import Any

from django import forms

from apps.core.forms import form_field
from apps.core.search import CLOSED, MAX_QUERY_LENGTH, OPEN

KIND_CHOICES = [("story", "Stories"), ("epic", "Epics"), ("deliverable", "Deliverables"), ("request", "Requests")]


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, required=False, help_text="What the token is for, such as “dbt job” or “my laptop”."
    )


class SearchForm(forms.Form):
    """The search page's question: the words, and optionally one project, a state and one kind of result."""

    q = forms.CharField(label="Search for", max_length=MAX_QUERY_LENGTH, required=False)
    project = forms.ChoiceField(label="Project", required=False)
    state = forms.ChoiceField(
        label="State", required=False, choices=[("", "Any"), (OPEN, "Open"), (CLOSED, "Done or closed")]
    )
    type = forms.ChoiceField(label="Kind", required=False, choices=[("", "All kinds"), *KIND_CHOICES])

    def __init__(self, *args: Any, project_keys: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "project", forms.ChoiceField).choices = [
            ("", "All my projects"),
            *((key, key) for key in project_keys),
        ]
