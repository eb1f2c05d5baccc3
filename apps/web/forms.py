from django import forms


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, required=False, help_text="What the token is for, such as “dbt job” or “my laptop”."
    )
