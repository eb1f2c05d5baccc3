"""Pages: my notifications (grouped by story), the bell, e-mail settings, one-click unsubscribe, watch a story.

The bell (``notifications-bell``) answers with an ``ETag`` made of the unread count and the newest
notification's id; ``static/js/notifications.js`` polls it with ``If-None-Match`` as the board polls its
fragment, and an unchanged bell answers ``304`` with no body.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.core import errors
from apps.core.http import HtmxHttpRequest, user_of
from apps.notifications import selectors, services
from apps.notifications.models import Delivery, Kind, Notification
from apps.projects.models import Membership, Project
from apps.projects.views import project_view
from apps.stories.models import Story

PAGE_SIZE = 50


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """Newest first, a page at a time (``?page=``; a page past the last shows the last), grouped by story."""
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(selectors.notifications_for(request.user, unread=unread_only), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/list.html",
        {
            "groups": selectors.grouped_by_story(list(page.object_list)),
            "page": page,
            "unread_only": unread_only,
            "bell": selectors.bell_state(request.user),
        },
    )


@login_required
def bell(request: HttpRequest) -> HttpResponse:
    state = selectors.bell_state(request.user)
    if state.etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = render(request, "notifications/_bell.html", {"bell": state})
    response["ETag"] = state.etag
    response["Cache-Control"] = "private, no-cache"
    return response


@require_POST
@login_required
def mark_read(request: HttpRequest) -> HttpResponse:
    ids = [int(pk) for pk in request.POST.getlist("id") if pk.isdigit() and len(pk) < 19]
    marked = services.notifications_mark_read(user=user_of(request), ids=None if request.POST.get("all") else ids)
    messages.success(request, f"{marked} notification{'s' if marked != 1 else ''} marked read.")
    return redirect("notification-list")


@login_required
def open_notification(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Follow a notification: it is read, and the browser goes where it points."""
    notification = Notification.objects.filter(pk=notification_id, user=user_of(request)).first()
    if notification is None:
        raise Http404("There is no such notification of yours.")
    services.notifications_mark_read(user=user_of(request), ids=[notification.pk])
    safe = url_has_allowed_host_and_scheme(notification.url, allowed_hosts={request.get_host()})
    return redirect(notification.url if safe else "notification-list")


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        for kind in Kind.values:
            delivery = request.POST.get(f"delivery-{kind}", "")
            if delivery not in Delivery.values:
                messages.error(request, f"Choose how to be e-mailed about “{Kind(kind).label}”.")
                return redirect("notification-settings")
            services.preference_set(
                user=user_of(request), kind=kind, delivery=delivery, in_app=request.POST.get(f"in_app-{kind}") == "on"
            )
        messages.success(request, "Your notification settings are saved.")
        return redirect("notification-settings")
    return render(
        request,
        "notifications/settings.html",
        {
            "choices": selectors.preferences(request.user),
            "deliveries": Delivery.choices,
            "has_email": bool(user_of(request).email),
        },
    )


@csrf_exempt  # the signed token is the credential: mail clients post it with no session (RFC 8058)
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the page with one button; POST (that button, or a mail client's one-click): that kind's mail stops."""
    if request.method != "POST":
        return render(request, "notifications/unsubscribe.html", {"token": token, "done": False})
    try:
        user, kind = services.unsubscribe(token=token)
    except errors.DomainError as exc:
        return render(request, "notifications/unsubscribe.html", {"error": exc.message}, status=exc.status)
    return render(
        request, "notifications/unsubscribe.html", {"done": True, "label": Kind(kind).label, "for_user": user}
    )


@require_POST
@project_view()
def watch_toggle(request: HtmxHttpRequest, project: Project, membership: Membership, story_key: str) -> HttpResponse:
    story = Story.objects.filter(project=project, key=story_key).first()
    if story is None:
        raise Http404(f"There is no story {story_key} in {project.key}.")
    if request.POST.get("watch") == "1":
        services.watch_add(story=story, user=user_of(request))
    else:
        services.watch_remove(story=story, user=user_of(request))
    if request.htmx:
        return render(
            request,
            "notifications/_watch.html",
            {"story": story, "project": project, "watch": selectors.watch_state(story, request.user)},
        )
    return redirect("story-detail", key=project.key, story_key=story.key)
