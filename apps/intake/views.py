"""The Requests pages: submit, the triage queue and its groups, and "my requests"."""

from __future__ import annotations

from django.contrib import messages
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from apps.core.errors import DomainError, InvalidInput
from apps.core.http import user_of
from apps.intake import mail, selectors, services
from apps.intake.forms import AcceptForm, DeclineForm, GroupForm, MergeForm, RequestForm
from apps.intake.models import Channel, Request, RequestStatus
from apps.projects.forms import add_domain_error
from apps.projects.models import Membership, Project, Role
from apps.projects.views import project_view, render_project, valid, wants_json
from apps.stories.services import Placement

PAGE_SIZE = 50
MIN_GROUP = 2  # the page's "most asked for" shows groups of at least this many requests


def _page(
    request: HttpRequest, project: Project, membership: Membership, *, form: RequestForm, status: int = 200, errors=None
) -> HttpResponse:
    shown = request.GET.get("status", RequestStatus.OPEN)
    if shown not in [*RequestStatus.values, "all"]:
        shown = RequestStatus.OPEN
    channel, channel_error = _channel(request)
    if channel_error and wants_json(request):
        raise channel_error
    queue = selectors.project_requests(project, status=None if shown == "all" else shown, channel=channel)
    page = Paginator(queue, PAGE_SIZE).get_page(request.GET.get("page"))
    is_owner = membership.allows(Role.PRODUCT_OWNER)
    groups = (
        [g for g in selectors.request_groups(project) if g.count >= MIN_GROUP] if shown == RequestStatus.OPEN else []
    )
    labels = dict(Channel.choices)
    titles = dict(Request.objects.filter(pk__in=[i for g in groups for i in g.requests]).values_list("pk", "title"))
    return render_project(
        request,
        "intake/requests.html",
        project,
        membership,
        nav="requests",
        status=400 if channel_error else status,
        form=form,
        page=page,
        shown=shown,
        channel=channel or "",
        channels=Channel.choices,
        channel_error=channel_error.message if channel_error else "",
        counts=selectors.status_counts(project),
        statuses=RequestStatus.choices,
        groups=[
            (
                g,
                ",".join(map(str, g.requests)),
                [(i, titles.get(i, "")) for i in g.requests],
                [(labels.get(c, c), n) for c, n in g.channels.items()],
            )
            for g in groups
        ],
        is_owner=is_owner,
        triage_errors=errors or {},
        # The open requests a request can be merged into, by title (no typing of numbers).
        # An accepted request stands for the story it became: merging into it adds an ask to that story.
        merge_targets=list(
            Request.objects.filter(project=project, status__in=[RequestStatus.OPEN, RequestStatus.ACCEPTED])
            .order_by("status", "-id")
            .values_list("pk", "title", "story__key")
        )
        if is_owner
        else [],
    )


def _channel(request: HttpRequest) -> tuple[str | None, InvalidInput | None]:
    """The channel the queue is filtered by (``?channel=``; absent or empty: every channel), or the error."""
    channel = request.GET.get("channel") or None
    if channel is None or channel in Channel.values:
        return channel, None
    return None, InvalidInput(f"channel must be one of {', '.join(Channel.values)}.", field="channel")


@project_view()
def requests_page(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    form = RequestForm(request.POST or None, with_channel=membership.allows(Role.PRODUCT_OWNER))
    if request.method == "POST" and form.is_valid():
        try:
            created = services.request_submit(project=project, requester=user_of(request), **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Request #{created.pk} is in the triage queue. Follow it under My requests.")
            return redirect("project-requests", key=project.key)
    return _page(request, project, membership, form=form, status=400 if form.errors else 200)


@project_view()
def my_requests(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    page = Paginator(selectors.requests_of(project, user_of(request)), PAGE_SIZE).get_page(request.GET.get("page"))
    return render_project(request, "intake/my_requests.html", project, membership, nav="requests", page=page)


TRIAGE_FORMS = {"accept": AcceptForm, "merge": MergeForm, "decline": DeclineForm}


def _back(project: Project, request: HttpRequest) -> HttpResponse:
    url = reverse("project-requests", kwargs={"key": project.key})
    shown, channel = request.POST.get("status"), request.POST.get("channel")
    query = {"status": shown} if shown in RequestStatus.values or shown == "all" else {}
    if channel in Channel.values:
        query["channel"] = channel
    return redirect(f"{url}?{urlencode(query)}" if query else url)


@require_POST
@project_view(minimum=Role.PRODUCT_OWNER)
def triage(
    request: HttpRequest, project: Project, membership: Membership, request_id: int, action: str
) -> HttpResponse:
    if action not in TRIAGE_FORMS:
        raise Http404("No such action.")
    item = get_object_or_404(Request, pk=request_id, project=project)
    data = valid(TRIAGE_FORMS[action](request.POST))
    if action == "accept":
        done = services.request_accept(
            request=item, actor=user_of(request), placement=Placement(position=data["position"])
        )
        messages.success(
            request,
            # request_accept links the new story: an accepted request's story is never None here.
            f"Request #{item.pk} is now {done.story.key}, at the {data['position']} of the backlog.",  # type: ignore[union-attr]
        )
    elif action == "merge":
        into = Request.objects.filter(project=project, pk=data["into"]).first()
        if into is None:
            raise InvalidInput(f"{project.key} has no request #{data['into']}.", field="into")
        services.request_merge(request=item, into=into, actor=user_of(request))
        messages.success(request, f"Request #{item.pk} is merged into #{into.pk}.")
    else:
        services.request_decline(request=item, actor=user_of(request), reason=data["reason"])
        messages.success(request, f"Request #{item.pk} is declined; its requester sees why.")
    return _back(project, request)


@require_POST
@project_view(minimum=Role.PRODUCT_OWNER)
def group_triage(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    form = GroupForm(request.POST)
    if not form.is_valid():
        raise InvalidInput("That group could not be read; reload the page and try again.")
    data = form.cleaned_data
    if data["action"] == "accept":
        placement = Placement(position=data["position"] or "bottom")
        head = services.requests_accept_group(
            project=project,
            ids=data["requests"],
            representative=data["representative"],
            actor=user_of(request),
            placement=placement,
        )
        # requests_accept_group links the new story: the head's story is never None here.
        messages.success(request, f"{len(data['requests'])} requests are now one story, {head.story.key}.")  # type: ignore[union-attr]
    else:
        services.requests_merge_group(
            project=project, ids=data["requests"], representative=data["representative"], actor=user_of(request)
        )
        messages.success(request, f"{len(data['requests']) - 1} requests are merged into #{data['representative']}.")
    return _back(project, request)


def follow(request: HttpRequest, token: str) -> HttpResponse:
    """The page an e-mailed request's sender follows it on: no account needed, the signed link is the key."""
    try:
        item = selectors.followed_request(mail.follow_payload(token))
    except signing.BadSignature:
        item = None
    if item is None:
        return render(request, "intake/follow.html", {"item": None}, status=404)
    return render(request, "intake/follow.html", {"item": item, "project": item.project})
