"""The shell: account and API tokens, the project home, and the pages later issues fill in."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import markdown as markdown_lib
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core import search as core_search
from apps.core.http import user_of
from apps.core.search import Hit
from apps.projects.models import Category, Membership, Project
from apps.projects.selectors import projects_for
from apps.projects.views import project_view, render_project
from apps.stories import selectors as story_selectors
from apps.stories.models import Story
from apps.web import selectors as search_selectors
from apps.web import services
from apps.web.forms import SearchForm, TokenCreateForm
from apps.web.models import ApiToken
from sprintboard import search as text_search


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    template_name = "web/password_change.html"
    success_url = reverse_lazy("account")
    success_message = "Your password has been changed."


def _account_page(
    request: HttpRequest, *, form: TokenCreateForm, new_key: str | None = None, status: int = 200
) -> HttpResponse:
    tokens = ApiToken.objects.filter(user=user_of(request)).order_by("-created_at")
    return render(request, "web/account.html", {"tokens": tokens, "form": form, "new_key": new_key}, status=status)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    return _account_page(request, form=TokenCreateForm())


@never_cache
@require_POST
@login_required
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _account_page(request, form=form, status=400)
    # The key is shown in this response only: no redirect, so it is never stored anywhere in clear.
    _, key = services.token_issue(user=request.user, name=form.cleaned_data["name"])
    return _account_page(request, form=TokenCreateForm(), new_key=key)


@require_POST
@login_required
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    services.token_revoke(token=token)
    messages.success(request, f"Token {token.hint}… has been revoked.")
    return redirect("account")


@project_view()
def project_home(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    sprint = story_selectors.active_sprint(project)
    # The active sprint's progress is its sprint report as of now: the figures its pages and report show.
    progress = story_selectors.sprint_outcomes(project, sprints=[sprint]).get(sprint.pk) if sprint else None
    counts = dict(
        Story.objects.alive().filter(project=project).values_list("state__category").annotate(n=Count("id")).order_by()
    )
    categories = [(value, label, counts.get(value, 0)) for value, label in Category.choices]
    return render_project(
        request,
        "web/project_home.html",
        project,
        membership,
        nav="home",
        sprint=sprint,
        progress=progress,
        categories=categories,
    )


# The metrics guide: the repository's docs/metrics.md, shipped with the code (trusted text, not user input).
METRICS_GUIDE = settings.BASE_DIR / "docs" / "metrics.md"


@functools.cache
def _metrics_guide_html() -> str:
    text = METRICS_GUIDE.read_text(encoding="utf-8")
    return markdown_lib.markdown(text, extensions=["tables", "toc"], output_format="html")


@login_required
def metrics_guide(request: HttpRequest) -> HttpResponse:
    """Every figure the reports show, defined: each report page links to its section here."""
    return render(request, "web/metrics_guide.html", {"guide": mark_safe(_metrics_guide_html())})  # noqa: S308


# --- Search ------------------------------------------------------------------------------------

SEARCH_PER_KIND = 10  # results of each kind on the grouped page
SEARCH_PAGE_SIZE = 25  # results of one kind per page ("Show all")


@dataclass(frozen=True)
class SearchGroup:
    kind: str
    name: str
    total: int
    rows: tuple[tuple[Hit, str], ...]  # each result with its title marked (safe HTML)


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """``/search/?q=&project=&state=&type=``: a story key jumps to the story; otherwise the results, grouped by
    kind (or one kind, paged)."""
    keys = list(projects_for(user_of(request)).values_list("key", flat=True))
    form = SearchForm(request.GET, project_keys=keys)
    context: dict[str, Any] = {"form": form, "groups": [], "search_text": request.GET.get("q", "")[:200]}
    if not form.is_valid():
        return render(request, "web/search.html", context, status=400)
    text, kind = form.cleaned_data["q"].strip(), form.cleaned_data["type"]
    if not text:
        return render(request, "web/search.html", context)
    if not kind and (story := search_selectors.story_for_key(user_of(request), text)) is not None:
        return redirect("story-detail", story.project.key, story.key)
    project_ids = search_selectors.searched_projects(user_of(request), form.cleaned_data["project"] or None)
    state = form.cleaned_data["state"] or None
    words = text_search.words(text)
    if kind:
        number = _page_number(request.GET.get("page"))
        found = search_selectors.search_all(
            project_ids=project_ids,
            text=text,
            state=state,
            kinds=[kind],
            offset=(number - 1) * SEARCH_PAGE_SIZE,
            limit=SEARCH_PAGE_SIZE,
        )
        groups = [_group(kind, found.total, found.hits, words)]
        context.update(page=number, more=found.total > number * SEARCH_PAGE_SIZE)
    else:
        grouped = search_selectors.search_by_kind(
            project_ids=project_ids, text=text, state=state, per_kind=SEARCH_PER_KIND
        )
        groups = [_group(name, total, hits, words) for name, (total, hits) in grouped.items() if total]
    context.update(groups=groups, text=text, kind=kind, per_kind=SEARCH_PER_KIND, candidates=core_search.CANDIDATES)
    return render(request, "web/search.html", context)


def _group(kind: str, total: int, hits: tuple[Hit, ...], words: list[str]) -> SearchGroup:
    rows = tuple((hit, mark_safe(text_search.mark_words(hit.title, words))) for hit in hits)  # noqa: S308 (escaped)
    return SearchGroup(kind=kind, name=search_selectors.KIND_NAMES[kind], total=total, rows=rows)


def _page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < len(value) < 7 and int(value) > 0 else 1
