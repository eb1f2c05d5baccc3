"""The base of every API view: strict input, project scoping and role lookup, pagination."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import InvalidInput
from apps.projects.models import Membership, Project, Role
from apps.projects.selectors import project_for_user


class ApiView(GenericAPIView):
    """Thin views: parse the input, look up and authorise, call a service, answer."""

    def project(self, key: str, minimum: str = Role.STAKEHOLDER) -> Project:
        project, self.membership = project_for_user(user=self.request.user, key=key, minimum=minimum)
        return project

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
