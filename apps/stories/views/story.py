"""A story's page: edit every field (Markdown with preview), comment, read its history, delete and restore,
block and unblock with a reason.

``?panel=1`` answers a compact, self-contained fragment (``stories/_story_panel.html``): the board's side
panel (``apps.stories.views.board._panel_url``). Besides the page's forms it has quick changes (block/unblock
with a reason, assign, re-estimate), each posting the story's ``version`` (a stale one is refused with a
message). Its forms post back with ``panel=1``; htmx swaps the panel in place, errors included (the answer
keeps its 400/409 status; the board swaps those into the panel). A successful change answers with
``HX-Trigger: board-changed``, on which the board reloads its fragment.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core import errors
from apps.core.http import HtmxHttpRequest, user_of
from apps.core.mentions import MentionTargets
from apps.projects.forms import add_domain_error
from apps.projects.models import Membership, Project, Role
from apps.projects.views import project_view, render_project
from apps.stories import link_selectors, selectors, services
from apps.stories.forms import CommentForm, PreviewForm, StoryForm, person_name
from apps.stories.models import Comment, LinkKind, Story

BOARD_CHANGED = "board-changed"  # the event the board listens for (static/js/board.js)
ASSIGNABLE = selectors.ASSIGNABLE_ROLES  # stakeholders ask and follow; they are not given work
EDITED_FIELDS = (
    "title", "description", "acceptance_criteria", "kind", "points", "epic", "labels", "assignee", "deliverable"
)  # fmt: skip


def _story(project: Project, story_key: str) -> Story:
    """The story with what its page shows of it (its facts; its labels come with the page's names, ``_respond``).
    By ``get``: ``first`` would order by rank, which costs the query more than it orders (the key is unique)."""
    shown = Story.objects.select_related("state", "sprint", "epic", "assignee", "deliverable")
    try:
        return shown.get(project=project, key=story_key)
    except Story.DoesNotExist:
        raise Http404(f"There is no story {story_key} in {project.key}.") from None


def _story_row(project: Project, story_key: str) -> Story:
    """The story alone (with its project, which a comment's notifications name): for a change that answers with a
    redirect, so that the page it redirects to reads the rest."""
    try:
        return Story.objects.select_related("project").get(project=project, key=story_key)
    except Story.DoesNotExist:
        raise Http404(f"There is no story {story_key} in {project.key}.") from None


def _panel(request: HttpRequest) -> bool:
    return request.GET.get("panel") == "1" or request.POST.get("panel") == "1"


def _respond(
    request: HttpRequest, project: Project, membership: Membership, story: Story, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """The page, or the panel fragment; ``extra`` may carry bound forms, ``error`` and ``notice`` (shown at the top)."""
    panel = _panel(request)
    can_edit = membership.allows(Role.MEMBER)
    # The form's options, the history's names and who may be mentioned: one query for the three.
    names = selectors.project_names(project.pk, selectors.STORY_PAGE_PARTS, story_id=story.pk)
    label_ids = [pk for pk, _, _ in names["story_label"]]
    initial = StoryForm.initial_for(story, label_ids=label_ids)
    form = extra.pop("form", None) or StoryForm(initial=initial, project=project)
    form.names = names  # a form posted back with errors shows its options from this read too
    context = {
        "story": story,
        "form": form,
        **_comments_context(project, story, names["member"], extra.pop("comment_form", None)),
        "history": selectors.story_history(story, names=names),
        "labels": [(name, color) for pk, name, color in names["label"] if pk in label_ids],  # by name
        "links": link_selectors.story_links(story, user=user_of(request)),
        "link_kinds": LinkKind.choices,
        "can_edit": can_edit,
        "panel": panel,
        # The panel's assign menu: the members who may be given a story, as (username, name, is the assignee).
        "assign_options": [(username, name, pk == story.assignee_id) for pk, name, username in names["assignee"]]
        if panel and can_edit
        else [],
        **extra,
    }
    if panel:
        return render(
            request,
            "stories/_story_panel.html",
            {**context, "project": project, "membership": membership},
            status=status,
        )
    return render_project(request, "stories/story.html", project, membership, nav="backlog", status=status, **context)


def _done(
    request: HtmxHttpRequest,
    project: Project,
    membership: Membership,
    story: Story,
    message: str,
    *,
    changed: bool = True,
) -> HttpResponse:
    """After a successful change: the panel again (and the board told to refresh), or a redirect to the page."""
    if _panel(request) and request.htmx:
        response = _respond(request, project, membership, _story(project, story.key), notice=message)
        if changed:
            response["HX-Trigger"] = BOARD_CHANGED
        return response
    messages.success(request, message)
    return redirect("story-detail", key=project.key, story_key=story.key)


def _refused(
    request: HttpRequest, project: Project, membership: Membership, story_key: str, exc: errors.DomainError
) -> HttpResponse:
    """A refused change: the panel or the page again, as it is now, with the reason at the top; nothing changed."""
    return _respond(request, project, membership, _story(project, story_key), status=exc.status, error=exc.message)


@project_view()
def story_detail(request: HtmxHttpRequest, project: Project, membership: Membership, story_key: str) -> HttpResponse:
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
                story=story,
                actor=user_of(request),
                expected_version=data["version"],
                **{f: data[f] for f in EDITED_FIELDS},
            )
        except errors.StaleVersion:
            form.add_error(
                None,
                "Someone else changed this story while you were editing it: reload to see their change, then edit again.",
            )
        except errors.DomainError as exc:
            add_domain_error(form, exc)
        else:
            return _done(request, project, membership, story, f"{story.key} is saved.")
    return _respond(request, project, membership, _story(project, story_key), status=400, form=form)


@require_POST
@project_view()
def story_comment(request: HtmxHttpRequest, project: Project, membership: Membership, story_key: str) -> HttpResponse:
    """Add a comment. The page's form posts it with htmx and is answered with its comments section alone (the new
    comment, or the form's error, in place: no reload of the page); without JavaScript, a redirect to the page;
    from the panel, the panel."""
    story = _story_row(project, story_key)
    form = CommentForm(request.POST)
    in_place = request.htmx and not _panel(request)
    if form.is_valid():
        try:
            services.comment_add(story=story, author=user_of(request), body=form.cleaned_data["body"])
        except errors.DomainError as exc:
            add_domain_error(form, exc)
        else:
            added = "Your comment is added."
            if in_place:
                return _comments(request, project, story, comment_notice=added)
            return _done(request, project, membership, story, added, changed=False)
    if in_place:
        return _comments(request, project, story, status=400, comment_form=form)
    return _respond(request, project, membership, _story(project, story_key), status=400, comment_form=form)


def _comments_context(
    project: Project, story: Story, members: list[tuple[int, str, str]], comment_form: CommentForm | None
) -> dict[str, Any]:
    """What the comments section (``stories/_story_comments.html``) shows besides the story: its comments, the
    form (a posted one with its errors, or a new one) and who may be mentioned (``project_names``' "member" rows)."""
    return {
        "comments": Comment.objects.filter(story=story).select_related("author"),
        "comment_form": comment_form or CommentForm(),
        "mentions": MentionTargets(project_key=project.key, usernames=frozenset(name for _, name, _ in members)),
    }


def _comments(
    request: HttpRequest,
    project: Project,
    story: Story,
    *,
    status: int = 200,
    comment_form: CommentForm | None = None,
    comment_notice: str = "",
) -> HttpResponse:
    """The story's comments section alone, as the page shows it."""
    members = selectors.project_names(project.pk, ("member",))["member"]
    context = {
        "project": project,
        "story": story,
        "panel": False,
        "comment_notice": comment_notice,
        **_comments_context(project, story, members, comment_form),
    }
    return render(request, "stories/_story_comments.html", context, status=status)


@require_POST
@project_view(minimum=Role.MEMBER)
def story_delete(request: HtmxHttpRequest, project: Project, membership: Membership, story_key: str) -> HttpResponse:
    story = _story(project, story_key)
    try:
        if story.is_deleted:
            raise errors.Conflict(f"{story.key} is already deleted.")
        services.story_delete(story=story, actor=request.user, expected_version=_posted_version(request))
    except errors.DomainError as exc:
        if _panel(request):
            return _refused(request, project, membership, story_key, exc)
        messages.error(request, exc.message)
        return redirect("story-detail", key=project.key, story_key=story.key)
    return _done(request, project, membership, story, f"{story.key} is deleted. You can restore it from its page.")


@require_POST
@project_view(minimum=Role.MEMBER)
def story_restore(request: HtmxHttpRequest, project: Project, membership: Membership, story_key: str) -> HttpResponse:
    story = _story(project, story_key)
    try:
        services.story_restore(story=story, actor=request.user)
    except errors.DomainError as exc:
        if _panel(request):
            return _refused(request, project, membership, story_key, exc)
        messages.error(request, exc.message)
        return redirect("story-detail", key=project.key, story_key=story.key)
    return _done(request, project, membership, story, f"{story.key} is restored.")


def _posted_version(request: HttpRequest) -> int | None:
    """The version a delete form carries (older forms carry none: then the delete is not version-checked)."""
    field = forms.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    try:
        return field.clean(request.POST.get("version"))
    except forms.ValidationError:
        raise errors.InvalidInput("The form's version is not a number; reload the story.", field="version") from None


# --- Quick changes (the board's side panel; block/unblock also on the page) ----------------------


class QuickChangeForm(forms.Form):
    """One quick change; every one carries the version the person saw."""

    version = forms.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    reason = forms.CharField(required=False, max_length=300)
    assignee = forms.CharField(required=False, max_length=150)
    points = forms.DecimalField(required=False, min_value=0, max_value=99999, max_digits=6, decimal_places=1)


QUICK_CHANGES = ("block", "unblock", "assign", "estimate")


@require_POST
@project_view(minimum=Role.MEMBER)
def story_quick_change(
    request: HtmxHttpRequest, project: Project, membership: Membership, story_key: str, action: str
) -> HttpResponse:
    """Block (with a reason), unblock, assign or re-estimate a story; a stale ``version`` is refused (409)."""
    if action not in QUICK_CHANGES:
        raise Http404("There is no such change.")
    story = _story(project, story_key)
    form = QuickChangeForm(request.POST)
    try:
        if not form.is_valid():
            name, problems = next(iter(form.errors.items()))
            raise errors.InvalidInput(f"{form.fields[name].label or name.capitalize()}: {problems[0]}", field=name)
        message = _quick_change(action, project, story, form.cleaned_data, actor=request.user)
    except errors.DomainError as exc:
        return _refused(request, project, membership, story_key, exc)
    return _done(request, project, membership, story, message)


def _quick_change(action: str, project: Project, story: Story, data: dict[str, Any], *, actor) -> str:
    version = data["version"]
    if version is None:
        raise errors.InvalidInput("The form is missing the story's version; reload the story.", field="version")
    if action == "block":
        services.story_block(story=story, reason=data["reason"], actor=actor, expected_version=version)
        return f"{story.key} is blocked."
    if action == "unblock":
        services.story_unblock(story=story, actor=actor, expected_version=version)
        return f"{story.key} is unblocked."
    if action == "assign":
        username = data["assignee"]
        user = None
        if username:
            member = project.memberships.select_related("user").filter(user__username=username).first()
            if member is None:
                raise errors.InvalidInput(f"{username} is not a member of {project.key}.", field="assignee")
            if member.role not in ASSIGNABLE:
                raise errors.InvalidInput(
                    f"{username} is a stakeholder of {project.key}: stories go to members.", field="assignee"
                )
            user = member.user
        services.story_assign(story=story, assignee=user, actor=actor, expected_version=version)
        return f"{story.key} is assigned to {person_name(user)}." if user else f"{story.key} is unassigned."
    services.story_estimate(story=story, points=data["points"], actor=actor, expected_version=version)
    return f"{story.key} is re-estimated." if data["points"] is not None else f"{story.key}'s estimate is cleared."


@require_POST
@project_view()
def story_preview(request: HttpRequest, project: Project, membership: Membership, story_key: str) -> HttpResponse:
    """The Markdown of a description as it will show, sanitised (htmx fragment)."""
    form = PreviewForm(request.POST)
    text = form.cleaned_data["description"] if form.is_valid() else ""
    return render(request, "stories/_story_preview.html", {"text": text})
