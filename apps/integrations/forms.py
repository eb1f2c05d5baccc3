from __future__ import annotations

from django import forms

from apps.core.forms import form_field
from apps.projects.models import Project, WorkflowState


class StatesForm(forms.Form):
    opened_state = forms.ModelChoiceField(
        queryset=WorkflowState.objects.none(),
        required=False,
        label="When a pull/merge request opens, move the story to",
        empty_label="— don't move it —",
    )
    merged_state = forms.ModelChoiceField(
        queryset=WorkflowState.objects.none(),
        required=False,
        label="When it merges, move the story to",
        empty_label="— don't move it —",
    )

    def __init__(self, *args, project: Project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("opened_state", "merged_state"):
            form_field(self, name, forms.ModelChoiceField).queryset = WorkflowState.objects.filter(
                project=project
            ).order_by("position", "id")


class SlackForm(forms.Form):
    signing_secret = forms.CharField(
        required=False,
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The Slack app's Signing Secret (Basic Information › App Credentials). Empty: keep the current one.",
    )
    users = forms.CharField(
        required=False,
        label="Slack users",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line: a Slack member ID and a username, e.g. U012AB3CD alice. Others' asks keep their Slack name.",
    )

    def clean_users(self) -> dict[str, str]:
        users = {}
        for number, line in enumerate(self.cleaned_data["users"].splitlines(), start=1):
            words = line.split()
            if not words:
                continue
            if len(words) != 2:
                raise forms.ValidationError(f"Line {number}: write a Slack member ID and a username.")
            users[words[0]] = words[1]
        return users
