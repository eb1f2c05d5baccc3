"""/api/v1/: deliverables, their checklist, publish and retire, events, and checklist templates.

Stakeholders read, and may tick an item assigned to them; members create, edit, publish and retire;
admins edit the checklist templates.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.api_support import ErrorSerializer, error_body, error_responses
from apps.core.errors import InvalidInput, NotFound, PermissionDenied
from apps.deliverables import selectors, services
from apps.deliverables import serializers as s
from apps.deliverables.models import ChecklistItem, Deliverable, DeliverableKind
from apps.projects.api_base import ApiView
from apps.projects.models import Role
from apps.projects.selectors import ROLE_NAMES
from sprintboard import pipelines

READ, MEMBER, ADMIN = Role.STAKEHOLDER, Role.MEMBER, Role.ADMIN
NOT_READY = OpenApiResponse(
    ErrorSerializer,
    description="Conflict: already published or retired, still proposed, or not ready: one error per open checklist item "
    "(field checklist[id]) and per unfinished linked story (field stories[KEY]).",
)


class DeliverableScoped(ApiView):
    """Views under /deliverables/{id}/: the deliverable's project decides who may do what."""

    serializer_class: type[serializers.Serializer] = s.DeliverableSerializer

    def deliverable(self, deliverable_id: int, minimum: str = READ) -> Deliverable:
        rows = selectors.with_people(Deliverable.objects.all())
        return self.scoped(rows, minimum, missing=f"There is no deliverable {deliverable_id}.", pk=deliverable_id)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "progress": getattr(self, "progress", {})}

    def answer_deliverable(self, deliverable_id: int, status_code: int = 200) -> Response:
        deliverable = selectors.with_people(Deliverable.objects.filter(pk=deliverable_id)).get()
        self.progress = selectors.progress_by_deliverable([deliverable.pk])
        return self.answer(deliverable, status_code)


# --- Deliverables -----------------------------------------------------------------------------


class DeliverableList(DeliverableScoped):
    @extend_schema(
        summary="A project's deliverables, filtered by kind, status or consumer",
        parameters=[s.DeliverableFilterSerializer],
        responses={200: s.DeliverableSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request, key):
        project = self.project(key)
        filters = s.DeliverableFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.deliverables_for(project, **filters.validated_data)) or []
        self.progress = selectors.progress_by_deliverable(d.pk for d in page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Create a deliverable with a copy of its kind's checklist (member)",
        request=s.DeliverableCreateSerializer,
        responses={201: s.DeliverableSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, key):
        project = self.project(key, MEMBER)
        data = s.resolve_people(project, self.valid(s.DeliverableCreateSerializer, request))
        deliverable = services.deliverable_create(project=project, actor=request.user, **data)
        return self.answer_deliverable(deliverable.pk, status.HTTP_201_CREATED)


class DeliverableDetail(DeliverableScoped):
    @extend_schema(
        summary="A deliverable, with its progress",
        responses={200: s.DeliverableSerializer, **error_responses(401, 404)},
    )
    def get(self, request, deliverable_id):
        return self.answer_deliverable(self.deliverable(deliverable_id).pk)

    @extend_schema(
        summary="Change a deliverable (member). Requires the current version; status moves between proposed, "
        "in_development and validating.",
        request=s.DeliverableUpdateSerializer,
        responses={200: s.DeliverableSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request, deliverable_id):
        deliverable = self.deliverable(deliverable_id, MEMBER)
        data = s.resolve_people(deliverable.project, self.valid(s.DeliverableUpdateSerializer, request))
        version = data.pop("version")
        services.deliverable_update(deliverable=deliverable, actor=request.user, expected_version=version, **data)
        return self.answer_deliverable(deliverable.pk)

    @extend_schema(
        summary="Delete a deliverable that was never published (member); its stories are unlinked",
        responses={204: None, **error_responses(401, 403, 404, 409)},
    )
    def delete(self, request, deliverable_id):
        services.deliverable_delete(deliverable=self.deliverable(deliverable_id, MEMBER), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliverablePublish(DeliverableScoped):
    @extend_schema(
        summary="Publish (member): refused while a checklist item is open or a linked story is unfinished",
        request=None,
        responses={200: s.DeliverableSerializer, **error_responses(401, 403, 404), 409: NOT_READY},
    )
    def post(self, request, deliverable_id):
        deliverable = self.deliverable(deliverable_id, MEMBER)
        try:
            services.deliverable_publish(deliverable=deliverable, actor=request.user)
        except services.PublishRefused as refused:
            return Response(error_body(refused.errors()), status=status.HTTP_409_CONFLICT)
        return self.answer_deliverable(deliverable.pk)


class DeliverableRetire(DeliverableScoped):
    @extend_schema(
        summary="Retire a deliverable, from any status (member)",
        request=None,
        responses={200: s.DeliverableSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request, deliverable_id):
        services.deliverable_retire(deliverable=self.deliverable(deliverable_id, MEMBER), actor=request.user)
        return self.answer_deliverable(deliverable_id)


class DeliverableEvents(DeliverableScoped):
    serializer_class = s.DeliverableEventSerializer

    @extend_schema(
        summary="A deliverable's timeline: creation, status changes (who, when), edits and checklist ticks",
        responses={200: s.DeliverableEventSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request, deliverable_id):
        return self.paginated(selectors.events(self.deliverable(deliverable_id)))


# --- Pipeline runs -------------------------------------------------------------------------------

RUN_BODY = {
    "application/json": {
        "type": "object",
        "additionalProperties": True,
        "description": "Recognised by shape: a dbt run_results.json (v4 and later), a Great Expectations validation or "
        "checkpoint result, an Airflow DAG-run callback body (dag_id, run_id, state, start_date, end_date, "
        'failed_tasks, url) or an OpenLineage RunEvent. See the README\'s "Pipeline results in".',
    }
}


class DeliverableRuns(DeliverableScoped):
    serializer_class = s.PipelineRunSerializer

    @extend_schema(
        summary="A deliverable's pipeline runs, newest first",
        responses={200: s.PipelineRunSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request, deliverable_id):
        return self.paginated(selectors.runs(self.deliverable(deliverable_id)))

    @extend_schema(
        summary="Report a pipeline run (member): dbt run_results.json, a Great Expectations validation or checkpoint "
        "result, an Airflow DAG-run callback or an OpenLineage RunEvent. A passing run ticks the checklist items "
        "bound to its source; a failing one reopens them (or flags a published deliverable). 201 for a new run, "
        "200 when it reports a known run again (OpenLineage COMPLETE after START).",
        parameters=[s.RunQuerySerializer],
        request=RUN_BODY,
        responses={
            201: s.PipelineRunSerializer,
            200: s.PipelineRunSerializer,
            **error_responses(400, 401, 403, 404, 409),
        },
    )
    def post(self, request, deliverable_id):
        deliverable = self.deliverable(deliverable_id, MEMBER)
        query = s.RunQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            report = pipelines.parse_run(request.data)
        except pipelines.PipelineError as refused:
            raise InvalidInput(refused.message, field=refused.field, code=refused.code) from None
        run, created = services.pipeline_run_record(
            deliverable=deliverable, actor=request.user, report=report, **query.validated_data
        )
        return self.answer(run, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- Checklist ----------------------------------------------------------------------------------


class Checklist(DeliverableScoped):
    serializer_class = s.ChecklistItemSerializer

    @extend_schema(
        summary="A deliverable's definition-of-done checklist, in order",
        responses={200: s.ChecklistItemSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request, deliverable_id):
        return self.paginated(selectors.checklist(self.deliverable(deliverable_id)))

    @extend_schema(
        summary="Add an item to a deliverable's checklist (member)",
        request=s.ChecklistItemCreateSerializer,
        responses={201: s.ChecklistItemSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, deliverable_id):
        deliverable = self.deliverable(deliverable_id, MEMBER)
        data = s.resolve_people(deliverable.project, self.valid(s.ChecklistItemCreateSerializer, request))
        item = services.checklist_item_add(deliverable=deliverable, actor=request.user, **data)
        return self.answer(selectors.checklist(deliverable).get(pk=item.pk), status.HTTP_201_CREATED)


class ChecklistItemDetail(DeliverableScoped):
    serializer_class = s.ChecklistItemSerializer

    def item(self, deliverable_id: int, item_id: int, minimum: str = READ) -> ChecklistItem:
        deliverable = self.deliverable(deliverable_id, minimum)
        item = selectors.checklist(deliverable).filter(pk=item_id).first()
        if item is None:
            raise NotFound(f"{deliverable.name} has no checklist item {item_id}.")
        item.deliverable = deliverable
        return item

    @extend_schema(summary="A checklist item", responses={200: s.ChecklistItemSerializer, **error_responses(401, 404)})
    def get(self, request, deliverable_id, item_id):
        return self.answer(self.item(deliverable_id, item_id))

    @extend_schema(
        summary='Tick ({"done": true}), untick, reword, assign or attach evidence (member; a stakeholder may tick '
        "an item assigned to them)",
        request=s.ChecklistItemUpdateSerializer,
        responses={200: s.ChecklistItemSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request, deliverable_id, item_id):
        item = self.item(deliverable_id, item_id)
        data = self.valid(s.ChecklistItemUpdateSerializer, request)
        if not selectors.may_change_item(self.membership, item, data):
            raise PermissionDenied(
                f"This needs the {ROLE_NAMES[MEMBER].lower()} role, or the item must be assigned to you (to tick it)."
            )
        data = s.resolve_people(item.deliverable.project, data)
        services.checklist_item_update(item=item, actor=request.user, **data)
        return self.answer(selectors.checklist(item.deliverable).get(pk=item.pk))

    @extend_schema(
        summary="Remove an item from a deliverable's checklist (member)",
        responses={204: None, **error_responses(401, 403, 404, 409)},
    )
    def delete(self, request, deliverable_id, item_id):
        services.checklist_item_remove(item=self.item(deliverable_id, item_id, MEMBER), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Checklist templates ---------------------------------------------------------------------------

KIND = OpenApiParameter(
    "kind", str, OpenApiParameter.PATH, enum=DeliverableKind.values, description="A deliverable kind."
)


class ChecklistTemplateList(ApiView):
    serializer_class = s.ChecklistTemplateSerializer
    pagination_class = None

    @extend_schema(
        summary="The project's definition of done per deliverable kind",
        responses={200: s.ChecklistTemplateSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request, key):
        templates = selectors.template_items(self.project(key))
        return Response([{"kind": kind, "items": items} for kind, items in templates.items()])


class ChecklistTemplateDetail(ApiView):
    serializer_class = s.ChecklistTemplateSerializer

    def kind(self, project_key: str, kind: str, minimum: str) -> tuple:
        project = self.project(project_key, minimum)
        if kind not in DeliverableKind.values:
            raise NotFound(f"There is no deliverable kind {kind[:50]}.")
        return project, kind

    @extend_schema(
        summary="One kind's checklist template",
        parameters=[KIND],
        responses={200: s.ChecklistTemplateSerializer, **error_responses(401, 404)},
    )
    def get(self, request, key, kind):
        project, kind = self.kind(key, kind, READ)
        return Response({"kind": kind, "items": selectors.template_items(project)[kind]})

    @extend_schema(
        summary="Replace one kind's checklist template (admin); existing deliverables keep their checklists",
        parameters=[KIND],
        request=s.ChecklistTemplateUpdateSerializer,
        responses={200: s.ChecklistTemplateSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request, key, kind):
        project, kind = self.kind(key, kind, ADMIN)
        items = self.valid(s.ChecklistTemplateUpdateSerializer, request)["items"]
        template = services.checklist_template_update(project=project, kind=kind, items=items)
        return Response({"kind": template.kind, "items": template.items})
