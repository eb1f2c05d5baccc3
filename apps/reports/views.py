"""Report pages: the index, a sprint's report, flow, velocity, forecast, waste and DataOps.

Opening a page asks for its report: a current stored one is shown at once; otherwise the
computation is queued and the page shows a progress bar that polls (htmx) and reloads the page
when the report is done. Without a broker the computation runs in the request, so the page comes
back complete. Members may queue a failed report again with the button beside its error. Past a
cap of computations in flight (per person, per project) the page says so, answering 429.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import DomainError, TooManyRequests
from apps.core.http import HtmxHttpRequest, user_of
from apps.projects.models import Membership, Project, Role
from apps.projects.views import project_view, render_project
from apps.reports import exports, parameters, services
from apps.reports.models import Report, ReportKind, ReportStatus
from apps.reports.selectors import local_today, report_find, reportable_sprints, sprint_parameters
from apps.stories.models import Sprint

PAGE_KINDS = (ReportKind.FLOW, ReportKind.VELOCITY, ReportKind.FORECAST, ReportKind.WASTE, ReportKind.DATAOPS)


@project_view()
def reports_index(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    return render_project(
        request,
        "reports/index.html",
        project,
        membership,
        nav="reports",
        sprints=reportable_sprints(project),
    )


def _base_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    for name in parameters.DOWNLOAD_PARAMETERS:
        query.pop(name, None)
    return f"{query.urlencode()}&" if query else ""


def _context(report: Report | None, kind: str) -> dict[str, Any]:
    result = report.result if report is not None and report.status == ReportStatus.DONE else None
    return {
        "report": report,
        "result": result,
        "tables": exports.tables(kind, result) if result is not None else {},
        "trend_tables": exports.waste_trend_tables(result) if result is not None and kind == ReportKind.WASTE else {},
        "kind": kind,
    }


def _too_many(render, exc: TooManyRequests, stored: Report | None) -> HttpResponse:
    """Past a cap on computations in flight: the page says so (with what is stored, if anything), 429."""
    response = render(stored, form_error=exc.message, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _download_or_page(request: HttpRequest, report: Report, render) -> HttpResponse:
    try:
        download = exports.requested_download(report, request.GET)
    except DomainError as exc:
        return render(form_error=exc.message, status=400)
    return download or render()


@project_view()
def sprint_report(request: HttpRequest, project: Project, membership: Membership, sprint_id: int) -> HttpResponse:
    sprint = get_object_or_404(Sprint, project=project, pk=sprint_id)

    def render(report: Report | None = None, form_error: str | None = None, status: int = 200) -> HttpResponse:
        return render_project(
            request,
            "reports/sprint.html",
            project,
            membership,
            nav="reports",
            status=status,
            sprint=sprint,
            form_error=form_error,
            can_queue=membership.allows(Role.MEMBER),
            base_query=_base_query(request),
            **_context(report, ReportKind.SPRINT),
        )

    if sprint.started_at is None:
        return render(form_error=f"{sprint.name} has not started: its report begins at its start.")
    try:
        report = services.report_request(
            project=project, kind=ReportKind.SPRINT, parameters={}, sprint=sprint, requested_by=user_of(request)
        )
    except TooManyRequests as exc:
        return _too_many(render, exc, report_find(project, ReportKind.SPRINT, sprint_parameters(sprint)))
    return _download_or_page(request, report, lambda **kw: render(report, **kw))


def _kind_page(kind: str, template: str):
    @project_view()
    def page(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
        def render(report: Report | None = None, form_error: str | None = None, status: int = 200) -> HttpResponse:
            return render_project(
                request,
                template,
                project,
                membership,
                nav="reports",
                status=status,
                form_error=form_error,
                query=request.GET,
                # ``query.items`` in a template is the QueryDict's items() method, not the parameter.
                items_wanted=request.GET.get("items", ""),
                can_queue=membership.allows(Role.MEMBER),
                base_query=_base_query(request),
                **_context(report, kind),
            )

        try:
            wanted = parameters.parse(kind, request.GET, today=local_today(project))
        except DomainError as exc:
            return render(form_error=exc.message, status=400)
        try:
            report = services.report_request(
                project=project, kind=kind, parameters=wanted, requested_by=user_of(request)
            )
        except TooManyRequests as exc:
            return _too_many(render, exc, report_find(project, kind, wanted))
        return _download_or_page(request, report, lambda **kw: render(report, **kw))

    page.__name__ = f"{kind}_report"
    return page


flow_report = _kind_page(ReportKind.FLOW, "reports/flow.html")
velocity_report = _kind_page(ReportKind.VELOCITY, "reports/velocity.html")
forecast_report = _kind_page(ReportKind.FORECAST, "reports/forecast.html")
waste_report = _kind_page(ReportKind.WASTE, "reports/waste.html")
dataops_report = _kind_page(ReportKind.DATAOPS, "reports/dataops.html")


def _page_url(report: Report) -> str:
    if report.kind == ReportKind.SPRINT:
        return reverse("report-sprint", args=[report.project.key, report.sprint_id])
    query = QueryDict(mutable=True)
    query.update({k: str(v) for k, v in report.parameters.items() if v is not None and not (k == "seed" and v == 0)})
    suffix = f"?{query.urlencode()}" if query else ""
    return reverse(f"report-{report.kind}", args=[report.project.key]) + suffix


def _status(
    request: HtmxHttpRequest,
    project: Project,
    membership: Membership,
    report: Report,
    *,
    note: str = "",
    refused: str = "",
    refresh: bool = True,
) -> HttpResponse:
    response = render_project(
        request,
        "reports/_status.html",
        project,
        membership,
        nav="reports",
        report=report,
        can_queue=membership.allows(Role.MEMBER),
        page_url=_page_url(report),
        note=note,
        refused=refused,
    )
    if refresh and report.status == ReportStatus.DONE and request.htmx:
        response["HX-Refresh"] = "true"  # the page reloads itself with the finished report
    return response


@require_GET
@project_view()
def report_status(request: HtmxHttpRequest, project: Project, membership: Membership, report_id: int) -> HttpResponse:
    report = get_object_or_404(Report.objects.select_related("project"), project=project, pk=report_id)
    return _status(request, project, membership, report)


@require_POST
@project_view(minimum=Role.MEMBER)
def report_queue(request: HtmxHttpRequest, project: Project, membership: Membership, report_id: int) -> HttpResponse:
    """Queue a report again (retries a failed one; a current one is left as it is)."""
    report = get_object_or_404(Report.objects.select_related("project", "sprint"), project=project, pk=report_id)
    if report.kind not in ReportKind.values:
        raise Http404("No such report.")
    was_done = report.status == ReportStatus.DONE
    try:
        report = services.report_request(
            project=project,
            kind=report.kind,
            parameters=report.parameters,
            sprint=report.sprint,
            force=True,
            requested_by=user_of(request),
        )
    except TooManyRequests as exc:
        if not request.htmx:
            raise  # project_view: the message, and back to the page
        return _status(request, project, membership, report, refused=exc.message, refresh=False)
    if request.htmx:
        current = was_done and report.status == ReportStatus.DONE
        note = "Already up to date: nothing it is computed from has changed." if current else ""
        return _status(request, project, membership, report, note=note, refresh=not current)
    return redirect(_page_url(report))
