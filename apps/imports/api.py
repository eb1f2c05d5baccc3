"""/api/v1/: import a Jira export or a CSV into a project (product owners and admins).

Two steps. ``POST /projects/{KEY}/imports/`` (multipart) uploads the files: they are read and analysed at
once (a malformed file is a 400 naming file, issue key and field; nothing is kept) and the import waits in
status ``mapping`` with what was found (statuses, issue types, numeric fields, users, sprints, with counts)
and the pre-filled mapping. ``POST /imports/{id}/confirm/`` with the mapping (or none: the pre-filled one)
queues it; ``GET /imports/{id}/`` follows its ``status`` and ``progress`` to ``done`` with its ``summary``
(created, updated, unchanged, skipped with reasons) or ``failed`` with its ``error`` (nothing was written).
``confirm=true`` on the upload does both steps at once.
"""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from apps.core.api_support import error_body, error_responses
from apps.core.errors import InvalidInput
from apps.imports import selectors, services
from apps.imports.models import Import, ImportSource
from apps.projects.api_base import ApiView
from apps.projects.models import Role
from sprintboard import csvimport

MAPPING_HELP = (
    'JSON: {"statuses": {"<status id>": {"state": "Waiting", "category": "waiting"}}, "types": {"Sub-task": '
    '"chore"}, "points_field": "customfield_10016", "users": {"<accountId or name>": "username" | null}}. '
    "Anything left out keeps its pre-filled value: statuses by statusCategory (new → todo, indeterminate → active, "
    "done → done; names like Won't Do → cancelled), Epics → epics, sub-tasks skipped, the field named Story "
    "Points, users matched to members by user name or e-mail. Categories: backlog, todo, active, waiting, done, "
    "cancelled; kinds: story, bug, chore, spike, epic, skip."
)
UPLOAD_FIELDS = {"files", "source", "mapping", "confirm", "shape", "columns", "date_format"}


class ImportSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.key", read_only=True)
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = Import
        fields = [
            "id", "project", "source", "status", "progress", "options", "analysis", "mapping", "summary", "error",
            "created_by", "created_at", "started_at", "finished_at",
        ]  # fmt: skip

    def get_created_by(self, upload: Import) -> str | None:
        return upload.created_by.get_username() if upload.created_by else None


class UploadSerializer(serializers.Serializer):
    """The multipart form of an upload (documentation: the view reads the form itself)."""

    files = serializers.ListField(
        child=serializers.FileField(),
        allow_empty=False,
        help_text="Jira search pages (.json), a zip of them, or CSV files.",
    )
    # A declared field, taken off the class by DRF's metaclass: not the Field.source attribute the stubs see.
    source = serializers.ChoiceField(choices=ImportSource.choices, default=ImportSource.JIRA)  # type: ignore[assignment]
    mapping = serializers.CharField(required=False, help_text=MAPPING_HELP)
    confirm = serializers.BooleanField(default=False, help_text="Queue the import at once with this mapping.")
    shape = serializers.ChoiceField(
        choices=csvimport.SHAPES, required=False, help_text="CSV: one row per status change, or one per story."
    )
    columns = serializers.CharField(
        required=False, help_text='CSV, JSON: {"key": "Issue key", "changed_at": "Date", ...}; default: guessed.'
    )
    date_format = serializers.CharField(
        required=False, help_text="CSV: a strptime format such as %d/%m/%Y %H:%M; default ISO 8601."
    )


class ConfirmSerializer(serializers.Serializer):
    mapping = serializers.JSONField(required=False, help_text=MAPPING_HELP)


class PreviewSerializer(serializers.Serializer):
    headers = serializers.ListField(child=serializers.CharField())
    columns = serializers.DictField(child=serializers.CharField(allow_null=True))
    rows = serializers.ListField(child=serializers.DictField())
    count = serializers.IntegerField()


def refused(exc: services.ImportRefused) -> Response:
    """Every problem found, in the one error shape."""
    return Response(error_body(exc.errors()), status=status.HTTP_400_BAD_REQUEST)


def _json(data: Any, name: str) -> Any:
    text = data.get(name)
    if text in (None, ""):
        return None
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        raise InvalidInput(f"{name} is not valid JSON.", field=name) from None


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", "on", "yes"):
        return True
    if value in (None, "", "false", "0", "off", "no"):
        return False
    raise InvalidInput(f"{name} is true or false.", field=name)


def read_upload(request) -> dict[str, Any]:
    """The upload form: files as (name, bytes), the source, the options and the mapping; 400 for anything off."""
    data = request.data
    if not hasattr(data, "getlist"):
        raise InvalidInput("Upload the files as multipart/form-data.", field="files", code="parse_error")
    unknown = sorted(set(data.keys()) - UPLOAD_FIELDS)
    if unknown:
        raise InvalidInput("This field is not known.", field=unknown[0], code="unknown_field")
    uploaded = request.FILES.getlist("files")
    if not uploaded:
        raise InvalidInput("Upload at least one file in the field files.", field="files")
    if sum(f.size or 0 for f in uploaded) > services.MAX_UPLOAD_BYTES:
        raise InvalidInput(f"The files are larger than {services.MAX_UPLOAD_BYTES // 2**20} MiB in all.", field="files")
    source = data.get("source") or ImportSource.JIRA
    options = {"shape": data.get("shape") or "changes", "columns": _json(data, "columns")}
    options["date_format"] = data.get("date_format") or None
    return {
        "files": [(f.name or "upload", f.read()) for f in uploaded],
        "source": source,
        "options": options,
        "mapping": _json(data, "mapping"),
        "confirm": _bool(data.get("confirm"), "confirm"),
    }


class ImportList(ApiView):
    serializer_class = ImportSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="A project's imports, newest first (product owner)",
        responses={200: ImportSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request, key):
        project = self.project(key, Role.PRODUCT_OWNER)
        return self.paginated(selectors.project_imports(project))

    @extend_schema(
        summary="Upload a Jira export or CSV files (product owner): analysed at once, imported once confirmed",
        description=__doc__,
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: OpenApiResponse(
                ImportSerializer, description="Analysed: status mapping, with the pre-filled mapping."
            ),
            202: OpenApiResponse(ImportSerializer, description="confirm=true: queued."),
            **error_responses(400, 401, 403, 404),
        },
    )
    def post(self, request, key):
        project = self.project(key, Role.PRODUCT_OWNER)
        form = read_upload(request)
        try:
            upload = services.import_create(project=project, actor=request.user, **form)
        except services.ImportRefused as exc:
            return refused(exc)
        return self.answer(upload, status.HTTP_202_ACCEPTED if form["confirm"] else status.HTTP_201_CREATED)


class CsvPreview(ApiView):
    serializer_class = PreviewSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="The first rows of a CSV as they will be read, with the columns guessed or given (product owner)",
        request={"multipart/form-data": UploadSerializer},
        responses={200: PreviewSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request, key):
        project = self.project(key, Role.PRODUCT_OWNER)
        form = read_upload(request)
        try:
            return Response(services.csv_preview(project=project, files=form["files"], options=form["options"]))
        except services.ImportRefused as exc:
            return refused(exc)


class ImportScoped(ApiView):
    serializer_class = ImportSerializer

    def item(self, import_id: int) -> Import:
        rows = Import.objects.select_related("created_by")
        return self.scoped(rows, Role.PRODUCT_OWNER, missing=f"There is no import {import_id}.", pk=import_id)


class ImportDetail(ImportScoped):
    @extend_schema(
        summary="An import: status (mapping, queued, running, done, failed), progress, analysis, mapping, summary",
        responses={200: ImportSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request, import_id):
        return self.answer(self.item(import_id))


class ImportConfirm(ImportScoped):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        summary="Confirm an analysed import with its mapping (product owner): queued, then run by a worker",
        request=ConfirmSerializer,
        responses={202: ImportSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, import_id):
        upload = self.item(import_id)
        if not hasattr(request.data, "get"):
            raise InvalidInput("The body is a JSON object.", code="parse_error")
        unknown = sorted(set(request.data.keys()) - {"mapping"})
        if unknown:
            raise InvalidInput("This field is not known.", field=unknown[0], code="unknown_field")
        mapping = _json(request.data, "mapping")
        try:
            upload = services.import_confirm(upload=upload, mapping=mapping)
        except services.ImportRefused as exc:
            return refused(exc)
        return self.answer(selectors.import_by_id(upload.pk), 202)
