"""Deliverable pages: the catalogue, a deliverable with its stories, checklist and timeline, and the templates.

Every form posts and redirects back; a refused change renders the page again with the
reason beside the form, and nothing changes.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.forms import ChoiceField
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.core import errors
from apps.core.forms import form_field
from apps.core.http import user_of
from apps.deliverables import selectors, services
from apps.deliverables.forms import (
    CatalogueFilterForm,
    DeliverableForm,
    ItemAddForm,
    ItemAssignForm,
    ItemBindForm,
    ItemTickForm,
    TemplateForm,
)
from apps.deliverables.models import ChecklistItem, Deliverable, DeliverableKind, DeliverableStatus
from apps.projects.forms import add_domain_error
from apps.projects.models import Membership, Project, Role
from apps.projects.views import project_view, render_project

PAGE_SIZE = 50
RECENT_RUNS = 10  # on the page; the API lists them all


def _deliverable(project: Project, deliverable_id: int) -> Deliverable:
    return get_object_or_404(selectors.with_people(Deliverable.objects.filter(project=project)), pk=deliverable_id)


def _detail_url(deliverable: Deliverable, anchor: str = "") -> str:
    url = reverse("deliverable-detail", kwargs={"key": deliverable.project.key, "deliverable_id": deliverable.pk})
    return f"{url}#{anchor}" if anchor else url


# --- The catalogue ---------------------------------------------------------------------------


@project_view()
def catalogue(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    form = CatalogueFilterForm(request.GET or None, consumers=selectors.consumer_choices(project))
    filters = {k: v for k, v in form.cleaned_data.items() if v} if form.is_valid() else {}
    page = Paginator(selectors.deliverables_for(project, **filters), PAGE_SIZE).get_page(request.GET.get("page"))
    progress = selectors.progress_by_deliverable(d.pk for d in page)
    rows = [
        (d, progress.get(d.pk, selectors.Progress()), selectors.is_late(d), selectors.freshness_of(d)) for d in page
    ]
    status = 400 if form.errors else 200
    return render_project(
        request,
        "deliverables/catalogue.html",
        project,
        membership,
        nav="deliverables",
        status=status,
        form=form,
        page=page,
        rows=rows,
        filtered=bool(filters),
        can_edit=membership.allows(Role.MEMBER),
    )


@project_view(minimum=Role.MEMBER)
def deliverable_new(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    form = DeliverableForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        try:
            deliverable = services.deliverable_create(project=project, actor=user_of(request), **form.service_fields())
        except errors.DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"{deliverable.name} is in the catalogue, with its checklist.")
            return redirect(_detail_url(deliverable))
    return render_project(
        request,
        "deliverables/form.html",
        project,
        membership,
        nav="deliverables",
        status=400 if form.errors else 200,
        form=form,
        deliverable=None,
    )


# --- One deliverable ------------------------------------------------------------------------------


def _detail(request, project, membership, deliverable, *, status: int = 200, **forms: Any) -> HttpResponse:
    items = list(selectors.checklist(deliverable))
    stories = list(selectors.linked_stories(deliverable))
    can_edit = membership.allows(Role.MEMBER)
    blockers = selectors.publish_blockers(deliverable) if not deliverable.is_final else selectors.Blockers()
    rows = [(item, selectors.may_change_item(membership, item, {"done"})) for item in items]
    return render_project(
        request,
        "deliverables/detail.html",
        project,
        membership,
        nav="deliverables",
        status=status,
        deliverable=deliverable,
        progress=selectors.progress_by_deliverable([deliverable.pk]).get(deliverable.pk),
        late=selectors.is_late(deliverable),
        items=rows,
        stories=stories,
        blockers=blockers,
        events=[(event, selectors.describe(event)) for event in selectors.events(deliverable)],
        runs=list(selectors.runs(deliverable)[:RECENT_RUNS]),
        run_count=selectors.runs(deliverable).count(),
        freshness=selectors.freshness_of(deliverable),
        source_choices=form_field(ItemBindForm(), "bound_source", ChoiceField).choices,
        can_edit=can_edit,
        add_form=forms.get("add_form") or ItemAddForm(project=project),
        assign_choices=form_field(ItemAssignForm(project=project), "assignee", ChoiceField).choices,
        item_errors=forms.get("item_errors", {}),
    )


@project_view()
def deliverable_detail(
    request: HttpRequest, project: Project, membership: Membership, deliverable_id: int
) -> HttpResponse:
    return _detail(request, project, membership, _deliverable(project, deliverable_id))


@project_view(minimum=Role.MEMBER)
def deliverable_edit(
    request: HttpRequest, project: Project, membership: Membership, deliverable_id: int
) -> HttpResponse:
    deliverable = _deliverable(project, deliverable_id)
    initial = {
        "name": deliverable.name,
        "kind": deliverable.kind,
        "status": deliverable.status,
        "description": deliverable.description,
        "owner": deliverable.owner.username if deliverable.owner else "",
        "consumers": [link.user.username for link in deliverable.consumer_links.all()],
        "consumer_groups": ", ".join(deliverable.consumer_groups),
        "data_sources": "\n".join(deliverable.data_sources),
        "link": deliverable.link,
        "target_date": deliverable.target_date,
        "expected_interval_hours": deliverable.expected_interval_hours,
        "version": deliverable.version,
    }
    form = DeliverableForm(request.POST or None, project=project, initial=initial)
    if deliverable.is_final:
        form.fields["status"].disabled = True
        form_field(form, "status", ChoiceField).choices = [(deliverable.status, deliverable.get_status_display())]
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        if deliverable.is_final:
            fields.pop("status", None)
        try:
            services.deliverable_update(
                deliverable=deliverable, actor=user_of(request), expected_version=form.cleaned_data["version"], **fields
            )
        except errors.StaleVersion:
            form.add_error(
                None, "Someone else changed this deliverable while you were editing: reload the page and try again."
            )
        except errors.DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"{deliverable.name} saved.")
            return redirect(_detail_url(deliverable))
    return render_project(
        request,
        "deliverables/form.html",
        project,
        membership,
        nav="deliverables",
        status=400 if form.errors else 200,
        form=form,
        deliverable=deliverable,
    )


def _transition(request, project, membership, deliverable_id: int, service, done: str) -> HttpResponse:
    deliverable = _deliverable(project, deliverable_id)
    unlinked = service is services.deliverable_publish and not selectors.linked_stories(deliverable).exists()
    service(deliverable=deliverable, actor=request.user)
    messages.success(request, f"{deliverable.name} {done}.")
    if unlinked:
        messages.warning(request, f"No story is linked to {deliverable.name}: nothing shows the work behind it.")
    return redirect(_detail_url(deliverable))


@require_POST
@project_view(minimum=Role.MEMBER)
def deliverable_develop(
    request: HttpRequest, project: Project, membership: Membership, deliverable_id: int
) -> HttpResponse:
    """A proposed deliverable's development starts (offered where the page lists what stands before publishing)."""
    deliverable = _deliverable(project, deliverable_id)
    services.deliverable_update(
        deliverable=deliverable, actor=user_of(request), status=DeliverableStatus.IN_DEVELOPMENT
    )
    messages.success(request, f"{deliverable.name} is in development.")
    return redirect(_detail_url(deliverable))


@require_POST
@project_view(minimum=Role.MEMBER)
def deliverable_publish(
    request: HttpRequest, project: Project, membership: Membership, deliverable_id: int
) -> HttpResponse:
    return _transition(request, project, membership, deliverable_id, services.deliverable_publish, "is published")


@require_POST
@project_view(minimum=Role.MEMBER)
def deliverable_retire(
    request: HttpRequest, project: Project, membership: Membership, deliverable_id: int
) -> HttpResponse:
    return _transition(request, project, membership, deliverable_id, services.deliverable_retire, "is retired")


# --- Checklist ------------------------------------------------------------------------------------------


def _item(deliverable: Deliverable, item_id: int) -> ChecklistItem:
    item = get_object_or_404(ChecklistItem.objects.select_related("assignee"), pk=item_id, deliverable=deliverable)
    item.deliverable = deliverable
    return item


def _member(username: str):
    return get_user_model().objects.filter(username=username).first() if username else None


@require_POST
@project_view(minimum=Role.MEMBER)
def item_add(request: HttpRequest, project: Project, membership: Membership, deliverable_id: int) -> HttpResponse:
    deliverable = _deliverable(project, deliverable_id)
    form = ItemAddForm(request.POST, project=project)
    if form.is_valid():
        try:
            services.checklist_item_add(
                deliverable=deliverable,
                actor=user_of(request),
                text=form.cleaned_data["text"],
                assignee=_member(form.cleaned_data["assignee"]),
            )
        except errors.DomainError as exc:
            add_domain_error(form, exc)
    if form.errors:
        return _detail(request, project, membership, deliverable, status=400, add_form=form)
    return redirect(_detail_url(deliverable, "checklist"))


def _item_change(request, project, membership, deliverable_id: int, item_id: int, form, fields) -> HttpResponse:
    deliverable = _deliverable(project, deliverable_id)
    item = _item(deliverable, item_id)
    if not selectors.may_change_item(membership, item, fields(form) if form.is_valid() else {"done"}):
        raise PermissionDenied("Only members, or the person the item is assigned to, may tick it.")
    status, message = 400, "Check the values and try again."
    if form.is_valid():
        try:
            services.checklist_item_update(item=item, actor=request.user, **fields(form))
        except errors.DomainError as exc:
            status, message = exc.status, exc.message
        else:
            return redirect(_detail_url(deliverable, f"item-{item.pk}"))
    return _detail(request, project, membership, deliverable, status=status, item_errors={item.pk: message})


@require_POST
@project_view()
def item_tick(
    request: HttpRequest, project: Project, membership: Membership, deliverable_id: int, item_id: int
) -> HttpResponse:
    def fields(form: ItemTickForm) -> dict[str, Any]:
        values = {"done": form.cleaned_data["done"]}
        if form.cleaned_data["evidence_url"]:
            values["evidence_url"] = form.cleaned_data["evidence_url"]
        return values

    return _item_change(request, project, membership, deliverable_id, item_id, ItemTickForm(request.POST), fields)


@require_POST
@project_view(minimum=Role.MEMBER)
def item_assign(
    request: HttpRequest, project: Project, membership: Membership, deliverable_id: int, item_id: int
) -> HttpResponse:
    def fields(form: ItemAssignForm) -> dict[str, Any]:
        return {"assignee": _member(form.cleaned_data["assignee"])}

    form = ItemAssignForm(request.POST, project=project)
    return _item_change(request, project, membership, deliverable_id, item_id, form, fields)


@require_POST
@project_view(minimum=Role.MEMBER)
def item_bind(
    request: HttpRequest, project: Project, membership: Membership, deliverable_id: int, item_id: int
) -> HttpResponse:
    """Bind an item to a pipeline source (and job): that source's runs tick and reopen it."""

    def fields(form: ItemBindForm) -> dict[str, Any]:
        return {"bound_source": form.cleaned_data["bound_source"], "bound_job": form.cleaned_data["bound_job"]}

    return _item_change(request, project, membership, deliverable_id, item_id, ItemBindForm(request.POST), fields)


@require_POST
@project_view(minimum=Role.MEMBER)
def item_remove(
    request: HttpRequest, project: Project, membership: Membership, deliverable_id: int, item_id: int
) -> HttpResponse:
    deliverable = _deliverable(project, deliverable_id)
    item = _item(deliverable, item_id)
    services.checklist_item_remove(item=item, actor=user_of(request))
    return redirect(_detail_url(deliverable, "checklist"))


# --- Checklist templates ----------------------------------------------------------------------------------


@project_view()
def templates(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    is_admin = membership.allows(Role.ADMIN)
    if request.method == "POST" and not is_admin:
        raise PermissionDenied("Only admins edit the checklist templates.")
    current = selectors.template_items(project)
    form = TemplateForm(request.POST or None, templates=current)
    if request.method == "POST" and form.is_valid():
        changed = {kind: items for kind, items in form.items().items() if items != current[kind]}
        try:
            services.checklist_templates_update(project=project, templates=changed)
        except errors.DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Checklist templates saved: new deliverables get these items.")
            return redirect("deliverable-templates", key=project.key)
    return render_project(
        request,
        "deliverables/templates.html",
        project,
        membership,
        nav="deliverables",
        status=400 if form.errors else 200,
        form=form,
        can_edit_templates=is_admin,
        templates=[(kind, label, current[kind]) for kind, label in DeliverableKind.choices],
    )
