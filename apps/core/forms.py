"""Form helpers every app's forms share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django import forms
from django.utils.html import conditional_escape as escape
from django.utils.safestring import SafeString

F = TypeVar("F", bound=forms.Field)


def form_field(form: forms.BaseForm, name: str, kind: type[F]) -> F:
    """``form.fields[name]`` as the kind of field the form declares (``form.fields`` holds plain ``Field``s to
    the type checker), so a form can set the choices or queryset it only knows once it has a project."""
    field = form.fields[name]
    if not isinstance(field, kind):
        raise TypeError(f"{type(form).__name__}.{name} is a {type(field).__name__}, not a {kind.__name__}.")
    return field


class OfferedChoiceField(forms.ChoiceField):
    """A choice among (value, label) pairs of text that a form sets per request, such as a project's 400 members:
    kept as given and validated by a set of the values. ``ChoiceField`` normalises every pair each time its
    choices are set, for the field and again for its widget (and again when a form copies its fields), then
    scans them to validate: ~1.5 ms of every board and backlog page of a 400-member team. The pages write these
    selects themselves (``marked_options``, web/_select.html), so the widget is given no options; the value, its
    validation and its error are ``ChoiceField``'s."""

    def __init__(self, **kwargs: Any) -> None:
        self._values: frozenset[str] = frozenset()
        super().__init__(**kwargs)

    @property
    def choices(self) -> list[tuple[str, str]]:
        return self._choices

    @choices.setter
    def choices(self, value: Any) -> None:  # (value, label) pairs of text
        self._choices = list(value)
        self._values = frozenset(str(key) for key, _ in self._choices)

    def valid_value(self, value: object) -> bool:
        return str(value) in self._values


def marked_options(field: forms.BoundField, offered: Iterable[tuple[str, str]]) -> list[tuple[str, str, bool]]:
    """A select's (or checkboxes') options as (value, label, selected), marked as Django's choice widgets mark them
    (the field's value, or values, as text): a page writes its selects from these, as a widget renders a template
    per option, which cost the pages more than reading the options."""
    chosen = field.value()
    values = chosen if isinstance(chosen, list | tuple) else [chosen]
    current = {"" if value is None else str(value) for value in values}
    return [(value, label, value in current) for value, label in offered]


# The widgets whose template is input.html (or just includes it) or textarea.html, with nothing of their own.
PLAIN_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in ("input", "text", "number", "hidden", "email", "url", "password", "search", "tel", "textarea")
)


def plain_widget(field: forms.BoundField) -> SafeString:
    """A text, number or hidden input or a textarea written as Django's templates for them write it (the same
    attributes, value and escaping), without rendering a template: three templates per field cost a page with a
    form more than its queries. Any other widget renders as usual."""
    widget = field.field.widget
    if widget.template_name not in PLAIN_TEMPLATES or field.field.localize:
        return SafeString(field.as_widget())
    attrs = field.build_widget_attrs({}, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    shown = widget.get_context(field.html_name, field.value(), attrs)["widget"]
    written = "".join(
        f" {escape(name)}" if value is True else f' {escape(name)}="{escape(value)}"'
        for name, value in shown["attrs"].items()
        if value is not False
    )
    name, value = escape(shown["name"]), shown["value"]
    if widget.template_name.endswith("textarea.html"):
        return SafeString(f'<textarea name="{name}"{written}>\n{escape(value) if value else ""}</textarea>')
    given = "" if value is None else f' value="{escape(value)}"'
    return SafeString(f'<input type="{escape(shown["type"])}" name="{name}"{given}{written}>')
