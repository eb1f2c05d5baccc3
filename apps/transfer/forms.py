"""Forms of the backup section of a project's settings."""

from __future__ import annotations

from django import forms

# A backup bigger than this is refused before it is read (the demo project's is about 0.3 MB).
RESTORE_MAX_BYTES = 200 * 1024 * 1024


class RestoreForm(forms.Form):
    document = forms.FileField(label="Backup file", help_text="A project backup (.json) downloaded from Sprintboard.")
    key = forms.CharField(
        label="Key of the new project",
        max_length=10,
        help_text="2 to 10 capital letters; story keys are built from it.",
    )
    name = forms.CharField(
        label="Name of the new project", max_length=200, required=False, help_text="Empty: the name in the backup."
    )

    def clean_document(self):
        document = self.cleaned_data["document"]
        if document.size > RESTORE_MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {RESTORE_MAX_BYTES // (1024 * 1024)} MB.")
        return document
