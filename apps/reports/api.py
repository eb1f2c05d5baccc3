"""/api/v1/: sprint reports and a project's flow, velocity, waste, forecast and DataOps reports.

GET answers 200 with the report when its stored inputs are current (or with ``status: "failed"`` and
its ``error``), else queues the computation and answers 202 with ``status`` and ``progress``. POST
(member) queues a recomputation: it retries a failed report; a current one is never recomputed.
``?format=csv`` (``&table=``) or ``?format=json`` downloads a done report. A request that would
queue a computation past the caps of computations in flight (per person, per project) answers 429
with ``Retry-After``; one whose parameters are already being computed gets that computation.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from apps.core.api_support import BodilessMetadata, JsonOnly, error_responses
from apps.projects.api_base import ApiView
from apps.projects.models import Role
from apps.reports import exports, parameters, services
from apps.reports import serializers as s
from apps.reports.models import Report, ReportKind, ReportStatus
from apps.reports.selectors import local_today
from apps.stories.models import Sprint

FORMAT = OpenApiParameter(
    "format", str, enum=["csv", "json"], description="Download the done report as CSV (one table) or JSON."
)
TABLE = OpenApiParameter(
    "table", str, description="With format=csv: which table (default: the first). An unknown one is a 400 listing them."
)
WINDOW = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (inclusive); default: 89 days before to."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (inclusive, not after today); default: today."),
]
FORECAST = [
    OpenApiParameter(
        "items",
        {"type": "integer", "minimum": 1, "maximum": parameters.MAX_ITEMS},
        description="When will this many more stories be done.",
    ),
    OpenApiParameter(
        "date",
        OpenApiTypes.DATE,
        description="How many stories by the end of this day (default: one sprint length from today).",
    ),
    OpenApiParameter(
        "seed",
        {"type": "integer", "minimum": 0, "maximum": parameters.MAX_SEED},
        description="Random seed of the Monte Carlo trials (default 0).",
    ),
]
STATUS_202 = OpenApiResponse(s.ReportStatusSerializer, description="Being computed: poll again.")
CSV_200 = OpenApiResponse(OpenApiTypes.STR, description="With format=csv: one table of the done report, as CSV.")


def _answers(serializer: type, *errors: int) -> dict:
    """A report endpoint's answers: the report as JSON, its CSV download, 202 while computing, the errors."""
    return {
        (200, "application/json"): serializer,
        (200, "text/csv"): CSV_200,
        202: STATUS_202,
        **error_responses(*errors),
    }


def _read(summary: str, serializer: type, extra: list[OpenApiParameter]):
    return extend_schema(
        summary=summary, parameters=[*extra, FORMAT, TABLE], responses=_answers(serializer, 400, 401, 404)
    )


def _recompute(kind: str, serializer: type, extra: list[OpenApiParameter]):
    return extend_schema(
        summary=f"Queue the {kind} report's computation again (member): retries a failed one",
        parameters=extra,
        request=None,
        responses={200: serializer, 202: STATUS_202, **error_responses(400, 401, 403, 404)},
    )


class ReportView(ApiView):
    content_negotiation_class = JsonOnly
    metadata_class = BodilessMetadata  # POST takes no body: OPTIONS has no serializer to describe

    def answer_report(self, report: Report, request, *, queued_status: int = 202):
        download = exports.requested_download(report, request.query_params)
        if download is not None:
            return download
        busy = report.status in (ReportStatus.PENDING, ReportStatus.RUNNING)
        return Response(exports.report_body(report), status=queued_status if busy else 200)


class SprintReport(ReportView):
    def sprint(self, sprint_id: int, minimum: str) -> Sprint:
        return self.scoped(Sprint.objects.all(), minimum, missing=f"There is no sprint {sprint_id}.", pk=sprint_id)

    def request_report(self, request, sprint_id: int, minimum: str, *, force: bool) -> Report:
        sprint = self.sprint(sprint_id, minimum)
        parameters.parse(ReportKind.SPRINT, request.query_params, today=local_today(sprint.project))
        return services.report_request(
            project=sprint.project,
            kind=ReportKind.SPRINT,
            parameters={},
            sprint=sprint,
            force=force,
            requested_by=request.user,
        )

    @extend_schema(
        summary="A sprint's report: commitment vs completed, the story lists, re-estimates and the burndown",
        parameters=[FORMAT, TABLE],
        responses=_answers(s.SprintReportSerializer, 400, 401, 404, 409),
    )
    def get(self, request, sprint_id):
        return self.answer_report(self.request_report(request, sprint_id, Role.STAKEHOLDER, force=False), request)

    @extend_schema(
        summary="Queue the sprint report's computation again (member): retries a failed one",
        request=None,
        responses={200: s.SprintReportSerializer, 202: STATUS_202, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, sprint_id):
        return self.answer_report(self.request_report(request, sprint_id, Role.MEMBER, force=True), request)


class ProjectReport(ReportView):
    """A project's report of ``kind``; each kind below documents its own parameters and answer."""

    kind: str

    def request_report(self, request, key: str, minimum: str, *, force: bool) -> Report:
        project = self.project(key, minimum)
        wanted = parameters.parse(self.kind, request.query_params, today=local_today(project))
        return services.report_request(
            project=project, kind=self.kind, parameters=wanted, force=force, requested_by=request.user
        )

    def read(self, request, key):
        return self.answer_report(self.request_report(request, key, Role.STAKEHOLDER, force=False), request)

    def recompute(self, request, key):
        return self.answer_report(self.request_report(request, key, Role.MEMBER, force=True), request)


class FlowReport(ProjectReport):
    kind = ReportKind.FLOW

    @_read(
        "Flow: cycle times and percentiles, throughput, WIP, CFD, age, time in state, efficiency",
        s.FlowReportSerializer,
        WINDOW,
    )
    def get(self, request, key):
        return self.read(request, key)

    @_recompute(ReportKind.FLOW, s.FlowReportSerializer, WINDOW)
    def post(self, request, key):
        return self.recompute(request, key)


class VelocityReport(ProjectReport):
    kind = ReportKind.VELOCITY

    @_read(
        "Velocity: commitment vs completed of the last 7 closed sprints, average of the last 3",
        s.VelocityReportSerializer,
        [],
    )
    def get(self, request, key):
        return self.read(request, key)

    @_recompute(ReportKind.VELOCITY, s.VelocityReportSerializer, [])
    def post(self, request, key):
        return self.recompute(request, key)


class WasteReport(ProjectReport):
    kind = ReportKind.WASTE

    @_read(
        "Lean waste: each waste's measured signal over the window, with the stories behind it",
        s.WasteReportSerializer,
        WINDOW,
    )
    def get(self, request, key):
        return self.read(request, key)

    @_recompute(ReportKind.WASTE, s.WasteReportSerializer, WINDOW)
    def post(self, request, key):
        return self.recompute(request, key)


class ForecastReport(ProjectReport):
    kind = ReportKind.FORECAST

    @_read(
        "Monte Carlo forecast: how many by a date, or when N more stories will be done",
        s.ForecastReportSerializer,
        FORECAST,
    )
    def get(self, request, key):
        return self.read(request, key)

    @_recompute(ReportKind.FORECAST, s.ForecastReportSerializer, FORECAST)
    def post(self, request, key):
        return self.recompute(request, key)


class DataOpsReport(ProjectReport):
    kind = ReportKind.DATAOPS

    @_read(
        "DataOps: time to insight and validation lag per deliverable, their distribution by kind, "
        "deliverables published per sprint",
        s.DataOpsReportSerializer,
        [],
    )
    def get(self, request, key):
        return self.read(request, key)

    @_recompute(ReportKind.DATAOPS, s.DataOpsReportSerializer, [])
    def post(self, request, key):
        return self.recompute(request, key)
