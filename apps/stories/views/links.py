"""A story's links on its page and the board's side panel: add one, remove one, close as a duplicate.

Each posts back to the page (a redirect with a message) or, with ``panel=1`` from htmx, answers the panel again
(``views.story``'s ``_done`` and ``_refused``). Linking needs the member role in both projects; a refusal
says why at the top of the page or panel, and nothing changes.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.core import errors
from apps.core.http import HtmxHttpRequest, user_of
from apps.projects.models import Membership, Project, Role
from apps.projects.views import project_view
from apps.stories import link_selectors, services
from apps.stories.models import LinkKind
from apps.stories.views.story import _done, _panel, _refused, _story


class LinkForm(forms.Form):
    kind = forms.ChoiceField(choices=LinkKind.choices)
    target = forms.CharField(max_length=24)


class DuplicateForm(forms.Form):
    original = forms.CharField(max_length=24)
    version = forms.IntegerField(min_value=1, max_value=2**31 - 1, required=False)


def _valid(form: forms.Form) -> dict:
    if not form.is_valid():
        name, problems = next(iter(form.errors.items()))
        raise errors.InvalidInput(f"{name.capitalize()}: {problems[0]}", field=name)
    return form.cleaned_data


def _refusal(
    request: HtmxHttpRequest, project: Project, membership: Membership, story_key: str, exc: errors.DomainError
) -> HttpResponse:
    if _panel(request):
        return _refused(request, project, membership, story_key, exc)
    messages.error(request, exc.message)
    return redirect("story-detail", key=project.key, story_key=story_key)


@require_POST
@project_view(minimum=Role.MEMBER)
def story_link_add(request: HtmxHttpRequest, project: Project, membership: Membership, story_key: str) -> HttpResponse:
    story = _story(project, story_key)
    try:
        data = _valid(LinkForm(request.POST))
        target = link_selectors.link_target(user=user_of(request), key=data["target"].strip().upper())
        link = services.link_add(source=story, target=target, kind=data["kind"], actor=user_of(request))
    except errors.DomainError as exc:
        return _refusal(request, project, membership, story_key, exc)
    return _done(request, project, membership, story, f"{story.key} {LinkKind(link.kind).label} {target.key}.")


@require_POST
@project_view(minimum=Role.MEMBER)
def story_link_remove(
    request: HtmxHttpRequest, project: Project, membership: Membership, story_key: str, link_id: int
) -> HttpResponse:
    story = _story(project, story_key)
    try:
        link = link_selectors.story_link(story=story, link_id=link_id, user=user_of(request))
        other = link.target if link.source_id == story.pk else link.source
        services.link_remove(link=link, actor=user_of(request))
    except errors.DomainError as exc:
        return _refusal(request, project, membership, story_key, exc)
    return _done(request, project, membership, story, f"The link to {other.key} is removed.")


@require_POST
@project_view(minimum=Role.MEMBER)
def story_close_duplicate(
    request: HtmxHttpRequest, project: Project, membership: Membership, story_key: str
) -> HttpResponse:
    story = _story(project, story_key)
    try:
        data = _valid(DuplicateForm(request.POST))
        original = link_selectors.link_target(user=user_of(request), key=data["original"].strip().upper())
        if original.pk == story.pk:
            raise errors.InvalidInput("A story cannot duplicate itself.", field="original")
        closed = services.story_close_as_duplicate(
            story=story, original=original, actor=user_of(request), expected_version=data["version"]
        )
    except errors.DomainError as exc:
        return _refusal(request, project, membership, story_key, exc)
    message = f"{story.key} is closed as a duplicate of {original.key} ({closed.state.name})."
    return _done(request, project, membership, story, message)
