"""Forms type the input of the Requests pages; the services validate it."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.intake import services
from apps.intake.models import Channel

POSITIONS = [("bottom", "Bottom of the backlog"), ("top", "Top of the backlog")]


class RequestForm(forms.Form):
    title = forms.CharField(max_length=services.TITLE_MAX, help_text="What do you need, in a sentence?")
    detail = forms.CharField(
        max_length=services.DETAIL_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why it matters, who uses it, by when.",
    )
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.WEB, help_text="Where the ask came from.")

    def __init__(self, *args: Any, with_channel: bool = True, **kwargs: Any) -> None:
        """A stakeholder asks through this page (the web channel); those who triage also record asks from elsewhere."""
        super().__init__(*args, **kwargs)
        if not with_channel:
            del self.fields["channel"]


class AcceptForm(forms.Form):
    position = forms.ChoiceField(choices=POSITIONS, initial="bottom")


class MergeForm(forms.Form):
    into = forms.IntegerField(min_value=1, max_value=2**63 - 1, label="Into request #")


class DeclineForm(forms.Form):
    reason = forms.CharField(max_length=services.REASON_MAX)


class GroupForm(forms.Form):
    action = forms.ChoiceField(choices=[("accept", "Accept"), ("merge", "Merge")])
    representative = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    requests = forms.CharField(max_length=20_000)
    position = forms.ChoiceField(choices=POSITIONS, initial="bottom", required=False)

    def clean_requests(self) -> list[int]:
        try:
            ids = [int(part) for part in self.cleaned_data["requests"].split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("requests is a comma-separated list of request ids.") from None
        if not ids or any(i < 1 or i >= 2**63 for i in ids):
            raise forms.ValidationError("requests is a comma-separated list of request ids.")
        return ids
