"""apps.core.forms.plain_widget and marked_options write a form's inputs and selects as Django's widgets do."""

from __future__ import annotations

from django import forms
from django.test.signals import template_rendered

from apps.core.forms import OfferedChoiceField, marked_options, plain_widget


class Everything(forms.Form):
    title = forms.CharField(max_length=30, help_text="Short")
    body = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3, "data-x": "a&b"}))
    points = forms.DecimalField(max_digits=6, decimal_places=1, min_value=0, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)
    email = forms.EmailField(required=False, disabled=True)
    kind = forms.ChoiceField(choices=[("a", "A"), ("b", "B")])
    tags = forms.MultipleChoiceField(choices=[("1", "one"), ("2", "two")], required=False)


def test_every_input_is_written_as_its_widget_writes_it_bound_or_not_with_or_without_errors():
    tricky = {"title": 'a "quoted" <b>title</b> & more', "body": "</textarea><script>x</script>\n  indented"}
    for form in (
        Everything(auto_id="f-%s", initial={"title": "Hi", "points": 2, "version": 4}),
        Everything({**tricky, "points": "x", "version": "7"}),
        Everything({"title": "", "body": "", "points": "1.5", "version": ""}),
    ):
        form.is_valid()
        for field in form:
            assert plain_widget(field) == str(field), (field.name, form.is_bound)
    written = []
    template_rendered.connect(receiver := lambda sender, **kwargs: written.append(kwargs["template"].name))
    try:
        plain = [plain_widget(Everything()[name]) for name in ("title", "body", "points", "version", "email")]
        assert all(plain) and written == []  # none of them rendered a template
        plain_widget(Everything()["kind"])
        assert "django/forms/widgets/select.html" in written  # a select renders as a widget
    finally:
        template_rendered.disconnect(receiver)
    bound = Everything({"title": "x" * 40, "points": "-1", "version": "1", "kind": "a"})
    assert 'aria-invalid="true" aria-describedby="id_title_helptext id_title_error"' in plain_widget(bound["title"])


def test_options_are_marked_as_the_widgets_mark_them():
    form = Everything({"kind": "b", "tags": ["1", "2"]})
    assert marked_options(form["kind"], [("a", "A"), ("b", "B")]) == [("a", "A", False), ("b", "B", True)]
    assert [selected for _, _, selected in marked_options(form["tags"], [("1", "one"), ("2", "two"), ("3", "")])] == [
        True,
        True,
        False,
    ]
    assert marked_options(Everything()["kind"], [("", "Any"), ("a", "A")]) == [("", "Any", True), ("a", "A", False)]


def test_option_tags_write_the_options_as_the_select_widget_does():
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext_lazy

    from apps.web.templatetags.sprintboard import option_tags

    tricky = [("a", 'A "quoted" <b>&'), ("b", "B")]

    class Tricky(forms.Form):
        kind = forms.ChoiceField(choices=tricky)

    for chosen in ("a", "b"):
        field = Tricky({"kind": chosen})["kind"]
        widget_lines = [line for line in str(field).splitlines() if "<option" in line]
        assert option_tags(marked_options(field, tricky)).splitlines() == widget_lines  # escaped and marked alike
    written = option_tags([('x"<', gettext_lazy("Unassigned"), False), ("1", mark_safe("<i>safe</i>"), True)])
    assert (
        written
        == '  <option value="x&quot;&lt;">Unassigned</option>\n  <option value="1" selected><i>safe</i></option>\n'
    )


def test_the_escaping_examples_run():
    import doctest

    from apps.core import markup

    result = doctest.testmod(markup)
    assert result.attempted > 0 and result.failed == 0


def test_an_offered_choice_is_validated_as_a_choice_field_validates_it():
    """OfferedChoiceField keeps its (value, label) pairs as given and checks a value against a set of them: every
    value a query string can carry is cleaned, or refused with the same error, as ChoiceField does."""
    offered = [("", "Anyone"), ("none", "Unassigned"), ("ana", "Ana <Admin>"), ("7", "Seven"), ("a b", "Spaced")]

    class Plain(forms.Form):
        who = forms.ChoiceField(required=False)

    class Offered(forms.Form):
        who = OfferedChoiceField(required=False)

    for value in ("", "none", "ana", "Ana", "7", "07", " ana", "a b", "x", "\x00", None):
        data = {} if value is None else {"who": value}
        plain, fast = Plain(data), Offered(data)
        plain.fields["who"].choices = offered  # type: ignore[attr-defined]
        fast.fields["who"].choices = offered  # type: ignore[attr-defined]
        assert plain.is_valid() == fast.is_valid(), value
        assert plain.errors == fast.errors, value
        assert plain.cleaned_data == fast.cleaned_data, value
        assert marked_options(plain["who"], offered) == marked_options(fast["who"], offered)

    # Each form has its own: a form's choices are not another's (the class's field is copied per form).
    first, second = Offered({"who": "ana"}), Offered({"who": "ana"})
    first.fields["who"].choices = offered  # type: ignore[attr-defined]
    second.fields["who"].choices = [("", "Anyone")]  # type: ignore[attr-defined]
    assert first.is_valid() and not second.is_valid()
    assert Offered({"who": "ana"}).is_valid() is False  # no choices set: nothing but "" is valid
