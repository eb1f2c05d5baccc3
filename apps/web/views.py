"""The shell: account and API tokens, the project home, and the pages later issues fill in."""

from __future__ import annotations

import functools

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

from apps.core.http import user_of
from apps.projects.models import Category, Membership, Project
from apps.projects.views import project_view, render_project
from apps.stories import selectors as story_selectors
from apps.stories.models import Story
from apps.web.forms import TokenCreateForm
from apps.web.models import ApiToken


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
    _, key = ApiToken.issue(user=request.user, name=form.cleaned_data["name"])
    return _account_page(request, form=TokenCreateForm(), new_key=key)


@require_POST
@login_required
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    token.delete()
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
