"""Form helpers every app's forms share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django import forms

F = TypeVar("F", bound=forms.Field)


def form_field(form: forms.BaseForm, name: str, kind: type[F]) -> F:
    """``form.fields[name]`` as the kind of field the form declares (``form.fields`` holds plain ``Field``s to
    the type checker), so a form can set the choices or queryset it only knows once it has a project."""
    field = form.fields[name]
    if not isinstance(field, kind):
        raise TypeError(f"{type(form).__name__}.{name} is a {type(field).__name__}, not a {kind.__name__}.")
    return field


def marked_options(field: forms.BoundField, offered: Iterable[tuple[str, str]]) -> list[tuple[str, str, bool]]:
    """A select's (or checkboxes') options as (value, label, selected), marked as Django's choice widgets mark them
    (the field's value, or values, as text): a page writes its selects from these, as a widget renders a template
    per option, which cost the pages more than reading the options."""
    chosen = field.value()
    values = chosen if isinstance(chosen, list | tuple) else [chosen]
    current = {"" if value is None else str(value) for value in values}
    return [(value, label, value in current) for value, label in offered]
