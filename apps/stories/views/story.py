"""A story's page: edit every field (Markdown with preview), comment, read its history, delete and restore.

``?panel=1`` answers a compact, self-contained fragment (``stories/_story_panel.html``) for side panels
(the board loads it with htmx); its forms post back with ``panel=1`` and htmx swaps the panel in place.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.projects import errors
from apps.projects.forms import add_domain_error
from apps.projects.models import Membership, Project, Role
from apps.projects.views import project_view, render_project
from apps.stories import selectors, services
from apps.stories.forms import CommentForm, PreviewForm, StoryForm
from apps.stories.models import Comment, Story

EDITED_FIELDS = ("title", "description", "acceptance_criteria", "kind", "points", "epic", "labels", "assignee")


def _story(project: Project, story_key: str) -> Story:
    story = (
        Story.objects.filter(project=project, key=story_key)
        .select_related("state", "sprint", "epic", "assignee", "created_by").prefetch_related("labels").first()
    )
    if story is None:
        raise Http404(f"There is no story {story_key} in {project.key}.")
    return story


def _panel(request: HttpRequest) -> bool:
    return request.GET.get("panel") == "1" or request.POST.get("panel") == "1"


def _respond(request: HttpRequest, project: Project, membership: Membership, story: Story, *, status: int = 200, **forms: Any) -> HttpResponse:
    context = {
        "story": story,
        "form": forms.get("form") or StoryForm(initial=StoryForm.initial_for(story), project=project),
        "comment_form": forms.get("comment_form") or CommentForm(),
        "comments": Comment.objects.filter(story=story).select_related("author"),
        "history": selectors.story_history(story),
        "can_edit": membership.allows(Role.MEMBER),
        "panel": _panel(request),
    }
    if context["panel"]:
        return render(request, "stories/_story_panel.html", {**context, "project": project, "membership": membership}, status=status)
    return render_project(request, "stories/story.html", project, membership, nav="backlog", status=status, **context)


def _done(request: HttpRequest, project: Project, membership: Membership, story: Story, message: str) -> HttpResponse:
    if _panel(request) and request.htmx:
        return _respond(request, project, membership, _story(project, story.key))
    messages.success(request, message)
    return redirect("story-detail", key=project.key, story_key=story.key)


@project_view()
def story_detail(request: HttpRequest, project: Project, membership: Membership, story_key: str) -> HttpResponse:
    story = _story(project, story_key)
    if request.method != "POST":
        return _respond(request, project, membership, story)
    if not membership.allows(Role.MEMBER):
        raise PermissionDenied(f"Editing stories needs the member role or higher in {project.key}.")
    form = StoryForm(request.POST, project=project)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.story_update(
                story=story, actor=request.user, expected_version=data["version"], **{f: data[f] for f in EDITED_FIELDS}
            )
        except errors.StaleVersion:
            form.add_error(None, "Someone else changed this story while you were editing it: reload to see their change, then edit again.")
        except errors.DomainError as exc:
            add_domain_error(form, exc)
        else:
            return _done(request, project, membership, story, f"{story.key} is saved.")
    return _respond(request, project, membership, _story(project, story_key), status=400, form=form)


@require_POST
@project_view()
def story_comment(request: HttpRequest, project: Project, membership: Membership, story_key: str) -> HttpResponse:
    story = _story(project, story_key)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_add(story=story, author=request.user, body=form.cleaned_data["body"])
        except errors.DomainError as exc:
            add_domain_error(form, exc)
        else:
            return _done(request, project, membership, story, "Your comment is added.")
    return _respond(request, project, membership, story, status=400, comment_form=form)


@require_POST
@project_view(minimum=Role.MEMBER)
def story_delete(request: HttpRequest, project: Project, membership: Membership, story_key: str) -> HttpResponse:
    story = _story(project, story_key)
    try:
        if story.is_deleted:
            raise errors.Conflict(f"{story.key} is already deleted.")
        services.story_delete(story=story, actor=request.user)
    except errors.DomainError as exc:
        messages.error(request, exc.message)
        return redirect("story-detail", key=project.key, story_key=story.key)
    return _done(request, project, membership, story, f"{story.key} is deleted. You can restore it from its page.")


@require_POST
@project_view(minimum=Role.MEMBER)
def story_restore(request: HttpRequest, project: Project, membership: Membership, story_key: str) -> HttpResponse:
    story = _story(project, story_key)
    try:
        services.story_restore(story=story, actor=request.user)
    except errors.DomainError as exc:
        messages.error(request, exc.message)
        return redirect("story-detail", key=project.key, story_key=story.key)
    return _done(request, project, membership, story, f"{story.key} is restored.")


@require_POST
@project_view()
def story_preview(request: HttpRequest, project: Project, membership: Membership, story_key: str) -> HttpResponse:
    """The Markdown of a description as it will show, sanitised (htmx fragment)."""
    form = PreviewForm(request.POST)
    text = form.cleaned_data["description"] if form.is_valid() else ""
    return render(request, "stories/_story_preview.html", {"text": text})
