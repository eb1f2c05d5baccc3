"""The base of every API view: strict input, project scoping and role lookup, pagination."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core import throttling
from apps.core.api_support import check_query
from apps.core.errors import InvalidInput, NotFound
from apps.projects.models import Membership, Project, Role
from apps.projects.selectors import project_for_user, require_role, role_in_project

M = TypeVar("M", bound=Model)


class ApiView(GenericAPIView):
    """Thin views: parse the input, look up and authorise, call a service, answer."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        check_query(request.query_params)

    def check_throttles(self, request: Request) -> None:
        """DRF's, with every throttle's count in one round trip to the cache (apps.core.throttling)."""
        refused = throttling.check_throttles(self.get_throttles(), request, self)
        if refused:
            wait = max((wait for wait in refused if wait is not None), default=None)
            self.throttled(request, wait)  # type: ignore[arg-type]  # None (no Retry-After) is DRF's own case too

    def project(self, key: str, minimum: str = Role.STAKEHOLDER) -> Project:
        project, self.membership = project_for_user(user=self.request.user, key=key, minimum=minimum)
        return project

    def scoped(
        self,
        rows: QuerySet[M],
        minimum: str = Role.STAKEHOLDER,
        *,
        missing: str,
        project_key: str | None = None,
        **lookup: Any,
    ) -> M:
        """The row of ``rows`` matching ``lookup``, once the caller's role in its project is at least ``minimum``.

        With ``project_key``, the project is looked up and authorised first and the row must belong to it;
        otherwise the row's own project decides. No such row: a 404 saying ``missing`` (``{project}`` in it
        is replaced by the project's key).
        """
        if project_key is not None:
            project = self.project(project_key, minimum)
            found = rows.filter(project=project, **lookup).first()
            if found is None:
                raise NotFound(missing.replace("{project}", project.key))
            return found
        user = self.request.user
        found = rows.select_related("project").annotate(caller_role=role_in_project(user)).filter(**lookup).first()
        return self.authorised(found, minimum, missing=missing)

    def authorised(self, found: M | None, minimum: str, *, missing: str) -> M:
        """``found``, read with its project and the caller's role in it (``caller_role``), once that role is at
        least ``minimum``; None: a 404 saying ``missing``."""
        if found is None:
            raise NotFound(missing)
        # Every row an API view scopes has a project (the bound of M, Model, cannot say so).
        project, role = found.project, found.caller_role  # type: ignore[attr-defined]
        self.membership = require_role(user=self.request.user, project=project, minimum=minimum, role=role)
        return found

    def membership_allows(self, minimum: str) -> bool:
        membership: Membership | None = getattr(self, "membership", None)
        return membership is not None and membership.allows(minimum)

    def valid(self, serializer_class: type[serializers.Serializer], request: Request, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(request.data, dict):
            raise InvalidInput("The body must be a JSON object.", code="parse_error")
        serializer = serializer_class(data=request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def paginated(self, queryset) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def answer(self, instance: Any, status: int = 200) -> Response:
        return Response(self.get_serializer(instance).data, status=status)
