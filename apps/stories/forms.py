"""Forms of the backlog, planning and story pages: they type the input; the services validate it."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.forms import BoundField
from django.urls import reverse

from apps.core.forms import OfferedChoiceField, form_field, marked_options
from apps.deliverables.models import Deliverable
from apps.projects.models import Project
from apps.stories import services
from apps.stories.models import Epic, Label, Sprint, SprintStatus, StoryKind
from apps.stories.selectors import ASSIGNABLE_ROLES, FILTER_PARTS, filter_options, points_value, project_names

POSITIONS = [("top", "Top"), ("bottom", "Bottom")]
STORY_KEY = r"^[A-Z]{2,10}-[0-9]{1,9}$"


def _members(project: Project):
    """Who may be given a story: the project's members, product owners and admins (not its stakeholders)."""
    return (
        get_user_model()
        .objects.filter(memberships__project=project, memberships__role__in=ASSIGNABLE_ROLES)
        .order_by("first_name", "last_name", "username")
    )


def person_name(user: Any) -> str:
    return user.get_full_name() or user.get_username()


class MemberChoiceField(forms.ModelChoiceField):
    """A project member, shown by name."""

    def label_from_instance(self, obj: Any) -> str:
        return person_name(obj)


# --- Backlog filters ------------------------------------------------------------------------
# Each filter is a GET parameter, a form field here and a condition in the one story filter,
# apps.stories.selectors.STORY_FILTERS (the API and the board use it too). To add one: add the
# field below, its choices in __init__, its condition in STORY_FILTERS (if it is new) and its
# counts in selectors.backlog_counts.


class BacklogFilterForm(forms.Form):
    q = forms.CharField(label="Text", max_length=200, required=False, help_text="Title, description or key")
    epic = OfferedChoiceField(label="Epic", required=False)
    label = OfferedChoiceField(label="Label", required=False)
    kind = OfferedChoiceField(label="Kind", required=False)
    assignee = OfferedChoiceField(label="Assignee", required=False)
    deliverable = OfferedChoiceField(label="Deliverable", required=False)

    def __init__(self, *args: Any, project: Project, counts: dict[str, dict[Any, int]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

        def choices(options: list[tuple[Any, str]], field: str, none_label: str | None = None) -> list[tuple[str, str]]:
            tally = counts.get(field, {})
            out = [("", "Any")]
            if none_label is not None:
                out.append(("none", f"{none_label} ({tally.get(None, 0)})"))
            return out + [(str(value), f"{name} ({tally.get(value, 0)})") for value, name in options]

        named = filter_options(project)
        self.options: dict[str, list[tuple[str, str]]] = {  # per select, its choices (value, label)
            "epic": choices(named["epic"], "epic", "No epic"),
            "label": choices(named["label"], "label"),
            "kind": choices(list(StoryKind.choices), "kind"),
            "assignee": choices(named["assignee"], "assignee", "Unassigned"),
            "deliverable": choices(named["deliverable"], "deliverable", "No deliverable"),
        }
        for name, offered in self.options.items():
            form_field(self, name, OfferedChoiceField).choices = offered

    def shown(self) -> list[tuple[BoundField, list[tuple[str, str, bool]] | None]]:
        """Each field with, for a select, its options as (value, label, selected), as a Select widget would mark
        them: the page writes its selects from these (a widget renders a template per option, which cost the
        backlog page more than all its filters' queries)."""
        shown: list[tuple[BoundField, list[tuple[str, str, bool]] | None]] = []
        for field in self:
            offered = self.options.get(field.name)
            if offered is None:
                shown.append((field, None))
                continue
            shown.append((field, marked_options(field, offered)))
        return shown

    def active(self) -> dict[str, str]:
        """The valid, non-empty filters."""
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value not in ("", None)}


# --- Backlog actions --------------------------------------------------------------------------


class MoveForm(forms.Form):
    """One story moved: exactly one of before, after or position; optionally into a sprint or the backlog."""

    story = forms.RegexField(STORY_KEY, max_length=24)
    before = forms.RegexField(STORY_KEY, max_length=24, required=False)
    after = forms.RegexField(STORY_KEY, max_length=24, required=False)
    position = forms.ChoiceField(choices=POSITIONS, required=False)
    version = forms.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    # "backlog" moves it out of any sprint; a sprint id moves it into that sprint; empty leaves it where it is.
    sprint = forms.RegexField(r"^(backlog|[0-9]{1,18})$", required=False)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        given = [name for name in ("before", "after", "position") if data.get(name)]
        if len(given) != 1:
            raise forms.ValidationError("Give exactly one of before, after or position.")
        return data


class CreateForm(forms.Form):
    title = forms.CharField(max_length=300, label="New story")
    position = forms.ChoiceField(choices=POSITIONS, initial="top", label="Add at")


class PointsForm(forms.Form):
    points = forms.DecimalField(max_digits=6, decimal_places=1, min_value=0, max_value=99999, required=False)
    version = forms.IntegerField(min_value=1, max_value=2**31 - 1)


class BulkForm(forms.Form):
    keys = forms.MultipleChoiceField(
        choices=[],
        error_messages={
            "required": "Select at least one story.",
            "invalid_choice": "One of the selected keys is not a story key.",
        },
    )
    action = forms.ChoiceField(
        choices=[("top", "Move to top"), ("bottom", "Move to bottom"), ("sprint", "Move to sprint")]
    )
    sprint = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keys = self.data.getlist("keys") if hasattr(self.data, "getlist") else []
        # A NUL byte names no story (and PostgreSQL refuses it in text): such a key is not a choice.
        form_field(self, "keys", forms.ChoiceField).choices = [(k, k) for k in keys[:500] if "\x00" not in k]
        form_field(self, "sprint", forms.ChoiceField).choices = [("", "Choose a sprint")] + [
            (s.pk, s.name)
            for s in Sprint.objects.filter(project=project).exclude(status=SprintStatus.CLOSED).order_by("start", "id")
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("action") == "sprint" and not data.get("sprint"):
            self.add_error("sprint", "Choose the sprint to move the stories to.")
        return data


# --- The story page ---------------------------------------------------------------------------


class StoryForm(forms.Form):
    title = forms.CharField(max_length=services.TEXT_FIELDS["title"])
    description = forms.CharField(
        max_length=services.TEXT_FIELDS["description"],
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown: **bold**, lists, `code`, tables, links.",
    )
    acceptance_criteria = forms.CharField(
        max_length=services.TEXT_FIELDS["acceptance_criteria"],
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Acceptance criteria",
    )
    kind = forms.ChoiceField(choices=StoryKind.choices)
    points = forms.DecimalField(max_digits=6, decimal_places=1, min_value=0, max_value=99999, required=False)
    epic = forms.ModelChoiceField(queryset=Epic.objects.none(), required=False, empty_label="No epic")
    labels = forms.ModelMultipleChoiceField(
        queryset=Label.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    assignee = MemberChoiceField(queryset=get_user_model().objects.none(), required=False, empty_label="Unassigned")
    deliverable = forms.ModelChoiceField(
        queryset=Deliverable.objects.none(),
        required=False,
        empty_label="No deliverable",
        help_text="The data product this story helps ship.",
    )
    version = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "story-%s")
        super().__init__(*args, **kwargs)
        self.project = project
        # What ``project_names`` read for the page, when it read them (the story page does, for its history too).
        self.names: Mapping[str, list[tuple[int, str, str]]] | None = None
        # The querysets validate what is posted (only the project's own); the page shows the options of ``selects``.
        form_field(self, "epic", forms.ModelChoiceField).queryset = Epic.objects.filter(project=project)
        form_field(self, "labels", forms.ModelMultipleChoiceField).queryset = Label.objects.filter(project=project)
        form_field(self, "assignee", forms.ModelChoiceField).queryset = _members(project)
        form_field(self, "deliverable", forms.ModelChoiceField).queryset = Deliverable.objects.filter(
            project=project
        ).order_by("name")
        # static/js/notifications.js offers the members' names after an @
        self.fields["description"].widget.attrs["data-members-url"] = reverse("api-members", args=[project.key])

    @cached_property
    def selects(self) -> dict[str, list[tuple[str, str, bool]]]:
        """The options of the selects and the label boxes as (value, label, selected) (``marked_options``), from the
        project's names read in one query (``project_names``), or from ``names`` when the page read them already."""
        rows = self.names if self.names is not None else project_names(self.project.pk, FILTER_PARTS)

        def offered(part: str, empty: str | None = None) -> list[tuple[str, str]]:
            return ([("", empty)] if empty is not None else []) + [(str(pk), name) for pk, name, _ in rows[part]]

        choices = {
            "kind": list(StoryKind.choices),
            "epic": offered("epic", "No epic"),
            "assignee": offered("assignee", "Unassigned"),
            "deliverable": offered("deliverable", "No deliverable"),
            "labels": offered("label"),
        }
        return {name: marked_options(self[name], options) for name, options in choices.items()}

    @staticmethod
    def initial_for(story, *, label_ids: list[int]) -> dict[str, Any]:
        return {
            "title": story.title,
            "description": story.description,
            "acceptance_criteria": story.acceptance_criteria,
            "kind": story.kind,
            "points": points_value(story.points),  # 5, not 5.0: as every page shows points
            "epic": story.epic_id,
            "labels": label_ids,
            "assignee": story.assignee_id,
            "deliverable": story.deliverable_id,
            "version": story.version,
        }


class CommentForm(forms.Form):
    body = forms.CharField(max_length=10_000, label="Comment", widget=forms.Textarea(attrs={"rows": 3}))


class PreviewForm(forms.Form):
    description = forms.CharField(max_length=services.TEXT_FIELDS["description"], required=False, strip=False)


class SprintCreateForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="Empty: the next number.")
    goal = forms.CharField(max_length=2000, required=False)
