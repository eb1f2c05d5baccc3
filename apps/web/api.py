"""/api/v1/search/: the same search as the search page, as paginated JSON."""

from __future__ import annotations

import math
from typing import Any

from django.core.paginator import Page, Paginator
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers

from apps.core import search
from apps.core.api_support import Pagination, error_responses
from apps.projects.api_base import ApiView
from apps.web import selectors


class SearchParamsSerializer(serializers.Serializer):
    """The query parameters of a search; ``page`` and ``page_size`` paginate as every list does."""

    q = serializers.CharField(
        max_length=search.MAX_QUERY_LENGTH,
        help_text='Words (every one must appear), "quoted phrases", `or` between alternatives, `-word` to leave '
        "one out. An exact story key (DATA-12) ranks that story first.",
    )
    project = serializers.CharField(
        max_length=10, required=False, help_text="A project's key: only its results (default: all of yours)."
    )
    state = serializers.ChoiceField(
        choices=search.STATES,
        required=False,
        help_text="open or closed: stories by their state's category (done and cancelled are closed), deliverables "
        "by status (published and retired are closed), requests (open until triaged). Epics have no state.",
    )
    type = serializers.ChoiceField(choices=search.KINDS, required=False, help_text="Only results of this kind.")


class SearchResultSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=search.KINDS)
    project = serializers.CharField(help_text="The project's key.")
    key = serializers.CharField(allow_null=True, help_text="A story's key (stories only; null for the others).")
    id = serializers.IntegerField(
        allow_null=True, help_text="The epic's, deliverable's or request's id (null for a story)."
    )
    title = serializers.CharField()
    url = serializers.CharField(help_text="The page that shows it.")
    state = serializers.CharField(help_text="Its state or status as people read it; empty for an epic.")
    highlight = serializers.CharField(
        help_text="An excerpt around the matches as HTML: the text escaped, the matching words in <mark>."
    )

    def to_representation(self, instance: search.Hit) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["id"] = None if instance.type == "story" else instance.id
        return data


class Search(ApiView):
    serializer_class = SearchResultSerializer

    @extend_schema(
        summary="Search the stories, epics, deliverables and requests of my projects, best match first",
        parameters=[SearchParamsSerializer],
        responses={200: SearchResultSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request):
        params = SearchParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        text = search.clean_query(data["q"])
        project_ids = selectors.searched_projects(request.user, data.get("project"))
        kinds = [data["type"]] if data.get("type") else list(search.KINDS)
        asked: dict[str, Any] = {"project_ids": project_ids, "text": text, "state": data.get("state"), "kinds": kinds}
        paginator = self.pages()
        size = paginator.get_page_size(request) or paginator.page_size
        number = self._page_number(size, asked)
        found = selectors.search_all(**asked, offset=(number - 1) * size, limit=size)
        if number > 1 and not found.hits:
            raise exceptions.NotFound("Invalid page.")
        paginator.request = request
        paginator.page = Page(list(found.hits), number, Paginator(range(found.total), size))
        return paginator.get_paginated_response(self.get_serializer(found.hits, many=True).data)

    def _page_number(self, size: int, asked: dict[str, Any]) -> int:
        paginator = self.pages()
        if self.request.query_params.get(paginator.page_query_param) in paginator.last_page_strings:
            total = selectors.search_all(**asked, limit=0).total
            return max(1, math.ceil(total / size))
        return max(1, int(paginator.get_page_number(self.request, None)))

    def pages(self) -> Pagination:
        """The view's paginator, as the page-number pagination every list has (DRF types it optional)."""
        if not isinstance(self.paginator, Pagination):
            raise TypeError(f"{type(self).__name__} pages with {type(self.paginator).__name__}, not Pagination.")
        return self.paginator
