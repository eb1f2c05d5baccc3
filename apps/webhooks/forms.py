from __future__ import annotations

from django import forms

from apps.webhooks.models import ALL_EVENTS, EVENT_KINDS

EVENT_CHOICES = [(ALL_EVENTS, "All events (*)"), *((kind, kind) for kind in EVENT_KINDS)]


class WebhookForm(forms.Form):
    url = forms.CharField(label="Payload URL", max_length=2000, help_text="http:// or https://, a public address.")
    events = forms.MultipleChoiceField(choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple, initial=[ALL_EVENTS])
    secret = forms.CharField(
        required=False,
        max_length=200,
        strip=False,
        help_text="Leave empty to have one generated; it is shown once, after saving.",
    )
