"""Forms type the input of the deliverable pages; the services validate it (their errors land on these forms)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from apps.core.forms import form_field
from apps.deliverables.models import (
    MAX_INTERVAL_HOURS,
    WORKING_STATUSES,
    DeliverableKind,
    DeliverableStatus,
    RunSource,
)
from apps.projects.models import Project

ANY = [("", "Any")]


def member_choices(project: Project, *, blank: str | None = "Nobody") -> list[tuple[str, str]]:
    users = get_user_model().objects.filter(memberships__project=project).order_by("username")
    choices = [(u.username, u.get_full_name() or u.username) for u in users]
    return ([("", blank)] if blank is not None else []) + choices


def _lines(value: str, separator: str) -> list[str]:
    return [part.strip() for part in value.replace("\r", "").split(separator) if part.strip()]


class CatalogueFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=ANY + DeliverableKind.choices, required=False)
    status = forms.ChoiceField(choices=ANY + DeliverableStatus.choices, required=False)
    consumer = forms.ChoiceField(choices=ANY, required=False)

    def __init__(self, *args: Any, consumers: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "consumer", forms.ChoiceField).choices = ANY + consumers


class DeliverableForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(
        choices=DeliverableKind.choices,
        help_text="Its definition-of-done checklist is copied from this kind's template.",
    )
    status = forms.ChoiceField(
        choices=[(s.value, s.label) for s in DeliverableStatus if s in WORKING_STATUSES],
        initial=DeliverableStatus.PROPOSED,
        help_text="Publishing and retiring are buttons on the deliverable's page.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=20_000)
    owner = forms.ChoiceField(required=False)
    consumers = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="People who use it."
    )
    consumer_groups = forms.CharField(
        required=False,
        max_length=2000,
        label="Consumer groups",
        help_text="Comma-separated, such as Finance, Sales leadership.",
    )
    data_sources = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=15_000,
        label="Data sources",
        help_text="One per line.",
    )
    link = forms.CharField(required=False, max_length=500, help_text="Where the published thing lives (http or https).")
    target_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Target date")
    expected_interval_hours = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_INTERVAL_HOURS,
        label="Expected run interval (hours)",
        help_text="How often a pipeline run should succeed (24 for a daily load); past it the deliverable shows as stale.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=2**31 - 1)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "owner", forms.ChoiceField).choices = member_choices(project)
        form_field(self, "consumers", forms.ChoiceField).choices = member_choices(project, blank=None)

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values as the services take them: users for usernames, lists for the text fields."""
        data = dict(self.cleaned_data)
        data.pop("version", None)
        users = {
            u.username: u for u in get_user_model().objects.filter(username__in=[data["owner"], *data["consumers"]])
        }
        data["owner"] = users.get(data["owner"]) if data["owner"] else None
        data["consumers"] = [users[name] for name in data["consumers"] if name in users]
        data["consumer_groups"] = _lines(data["consumer_groups"], ",")
        data["data_sources"] = _lines(data["data_sources"], "\n")
        return data


class ItemAddForm(forms.Form):
    text = forms.CharField(max_length=300, label="New item")
    assignee = forms.ChoiceField(required=False, label="Assigned to")

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "add-item-%s")
        super().__init__(*args, **kwargs)
        form_field(self, "assignee", forms.ChoiceField).choices = member_choices(project)


class ItemTickForm(forms.Form):
    done = forms.TypedChoiceField(choices=[("1", "Done"), ("0", "Open")], coerce=lambda v: v == "1")
    evidence_url = forms.CharField(required=False, max_length=500, label="Evidence link")


class ItemBindForm(forms.Form):
    bound_source = forms.ChoiceField(choices=[("", "Not bound"), *RunSource.choices], required=False, label="Ticked by")
    bound_job = forms.CharField(required=False, max_length=300, label="Job (optional)")


class ItemAssignForm(forms.Form):
    assignee = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "assignee", forms.ChoiceField).choices = member_choices(project)


class TemplateForm(forms.Form):
    """One textarea per kind, one checklist item per line."""

    def __init__(self, *args: Any, templates: dict[str, list[str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in DeliverableKind.choices:
            self.fields[kind] = forms.CharField(
                label=label,
                required=False,
                max_length=20_000,
                widget=forms.Textarea(attrs={"rows": 5}),
                initial="\n".join(templates[kind]),
                help_text="One item per line.",
            )

    def items(self) -> dict[str, list[str]]:
        return {kind: _lines(self.cleaned_data[kind], "\n") for kind in DeliverableKind.values}
