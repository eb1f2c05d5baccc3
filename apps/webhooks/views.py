"""Pages: a project's webhooks (admins): add one, pause or resume, delete, and each one's delivery log."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.core.errors import DomainError
from apps.projects.forms import add_domain_error
from apps.projects.models import Membership, Project, Role
from apps.projects.views import project_view, render_project
from apps.webhooks import selectors, services
from apps.webhooks.forms import WebhookForm
from apps.webhooks.models import Webhook

LOG_LENGTH = 50


def _webhook(project: Project, webhook_id: int) -> Webhook:
    webhook = selectors.project_webhooks(project).filter(pk=webhook_id).first()
    if webhook is None:
        raise Http404("No such webhook.")
    return webhook


@project_view(minimum=Role.ADMIN)
def webhook_list(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    form = WebhookForm(request.POST or None)
    created, secret = None, None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created, secret = services.webhook_create(
                project=project,
                actor=request.user,
                url=data["url"],
                events=data["events"],
                secret=data["secret"] or None,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            form = WebhookForm()  # the secret is shown on this answer, never in a redirect's cookie
    return render_project(
        request,
        "webhooks/list.html",
        project,
        membership,
        nav="settings",
        status=400 if form.errors else 200,
        webhooks=selectors.project_webhooks(project),
        webhook_form=form,
        created=created,
        secret=secret,
    )


@project_view(minimum=Role.ADMIN)
def webhook_detail(request: HttpRequest, project: Project, membership: Membership, webhook_id: int) -> HttpResponse:
    webhook = _webhook(project, webhook_id)
    deliveries = selectors.webhook_deliveries(webhook)[:LOG_LENGTH]
    return render_project(
        request, "webhooks/detail.html", project, membership, nav="settings", webhook=webhook, deliveries=deliveries
    )


@require_POST
@project_view(minimum=Role.ADMIN)
def webhook_toggle(request: HttpRequest, project: Project, membership: Membership, webhook_id: int) -> HttpResponse:
    webhook = services.webhook_update(webhook=_webhook(project, webhook_id), active=request.POST.get("active") == "1")
    messages.success(request, f"The webhook to {webhook.url} is {'on' if webhook.active else 'paused'}.")
    return redirect("project-webhooks", key=project.key)


@require_POST
@project_view(minimum=Role.ADMIN)
def webhook_delete(request: HttpRequest, project: Project, membership: Membership, webhook_id: int) -> HttpResponse:
    webhook = _webhook(project, webhook_id)
    services.webhook_delete(webhook=webhook)
    messages.success(request, f"The webhook to {webhook.url} was deleted.")
    return redirect("project-webhooks", key=project.key)


@require_POST
@project_view(minimum=Role.ADMIN)
def delivery_redeliver(
    request: HttpRequest, project: Project, membership: Membership, webhook_id: int, delivery_id: int
) -> HttpResponse:
    webhook = _webhook(project, webhook_id)
    delivery = selectors.webhook_deliveries(webhook).filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404("No such delivery.")
    copy = services.delivery_redeliver(delivery=delivery)
    messages.success(request, f"Delivery {delivery.pk} is queued again as delivery {copy.pk}.")
    return redirect("project-webhook", key=project.key, webhook_id=webhook.pk)
