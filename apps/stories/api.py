"""/api/v1/: stories, their events, comments and links, epics, labels, sprints and backlog moves."""

from __future__ import annotations

import functools
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api_support import CsvDownloads, error_responses
from apps.core.errors import InvalidInput, NotFound, PermissionDenied
from apps.core.rows import RowQuery
from apps.projects.api_base import ApiView
from apps.projects.models import Project, Role
from apps.projects.selectors import ROLE_IN_PROJECT_SQL, ROLE_NAMES
from apps.stories import exports, link_selectors, selectors, services
from apps.stories import serializers as s
from apps.stories.models import Comment, Epic, Label, Sprint, Story, StoryEvent

READ, MEMBER, OWNER = Role.STAKEHOLDER, Role.MEMBER, Role.PRODUCT_OWNER
SPRINT_FIELDS = {"sprint"}
CSV = OpenApiParameter(
    "format",
    str,
    enum=["csv", "json"],
    description="csv: every matching story as one CSV download (not paginated); json: the page (the default).",
)
ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def wants_csv(request: Request) -> bool:
    return request.query_params.get("format") == "csv"


def stories_with_relations() -> QuerySet[Story]:
    return Story.objects.select_related("project", "state", "assignee").prefetch_related("labels").order_by("rank")


# A story by key with its project and the caller's role: every write under /stories/{KEY}/ starts with it.
STORY_BY_KEY = RowQuery(
    Story, by="key", related=("project",), extra={"caller_role": ROLE_IN_PROJECT_SQL}, prepared=True
)


class StoryScoped(ApiView):
    """Views under /stories/{KEY}/: the story's project decides who may do what."""

    def story(self, key: str, minimum: str = READ, *, deleted: bool = False, full: bool = False) -> Story:
        """The story and the caller's role in its project; ``full`` also loads what its JSON shows."""
        missing = f"There is no story {key}."
        if full:
            story = self.scoped(stories_with_relations(), minimum, missing=missing, key=key)
        else:
            story = self.authorised(STORY_BY_KEY.first(key, self.request.user.pk), minimum, missing=missing)
        if story.is_deleted and not deleted:
            raise NotFound(f"{story.key} has been deleted; restore it first.")
        return story


def _require_owner_for_sprint_moves(view: ApiView, data: dict[str, Any], project: Project) -> None:
    if SPRINT_FIELDS & data.keys() and not view.membership_allows(OWNER):
        raise PermissionDenied(f"Moving stories into or out of sprints needs the {ROLE_NAMES[OWNER].lower()} role.")


# --- Stories --------------------------------------------------------------------------


class StoryList(ApiView):
    serializer_class = s.StorySerializer
    content_negotiation_class = CsvDownloads

    @extend_schema(
        summary="A project's stories in rank order, filtered (?format=csv: all of them as CSV)",
        parameters=[s.StoryFilterSerializer, CSV],
        responses={200: s.StorySerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request, key):
        project = self.project(key)
        filters = s.StoryFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        stories = filtered_stories(project, filters.validated_data)
        if wants_csv(request):
            return exports.stories_csv(project, stories, name="stories")
        return self.paginated(stories)

    @extend_schema(
        summary="Create a story (member)",
        request=s.StoryCreateSerializer,
        responses={201: s.StorySerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, key):
        project = self.project(key, MEMBER)
        data = self.valid(s.StoryCreateSerializer, request)
        _require_owner_for_sprint_moves(self, data, project)
        fields = s.resolve_references(project, data)
        placement = services.Placement(position=fields.pop("position"))
        blocked, reason = fields.pop("blocked", False), fields.pop("blocked_reason", "")
        story = services.story_create(project=project, actor=request.user, placement=placement, **fields)
        if blocked:
            story = services.story_block(story=story, reason=reason, actor=request.user)
        return self.answer(stories_with_relations().get(pk=story.pk), status.HTTP_201_CREATED)


# The API's ?params -> the names of selectors.STORY_FILTERS (the API names people and labels, not ids).
API_FILTER_NAMES = {"assignee": "assignee_name", "label": "label_name"}


def filtered_stories(project: Project, params: dict[str, Any]) -> QuerySet[Story]:
    stories = stories_with_relations().filter(project=project, deleted_at__isnull=not params["deleted"])
    filters = {API_FILTER_NAMES.get(name, name): value for name, value in params.items() if name != "deleted"}
    return selectors.filter_stories(stories, filters)


class StoryDetail(StoryScoped):
    serializer_class = s.StorySerializer

    @extend_schema(summary="A story", responses={200: s.StorySerializer, **error_responses(401, 404)})
    def get(self, request, story_key):
        return self.answer(self.story(story_key, full=True))

    @extend_schema(
        summary="Change a story (member; moving between sprints: product owner). Requires the current version.",
        request=s.StoryUpdateSerializer,
        responses={200: s.StorySerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request, story_key):
        story = self.story(story_key, MEMBER)
        data = self.valid(s.StoryUpdateSerializer, request)
        _require_owner_for_sprint_moves(self, data, story.project)
        version = data.pop("version")
        fields = s.resolve_references(story.project, data)
        services.story_update(story=story, actor=request.user, expected_version=version, **fields)
        return self.answer(stories_with_relations().get(pk=story.pk))

    @extend_schema(summary="Delete a story (soft; member)", responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, story_key):
        services.story_delete(story=self.story(story_key, MEMBER), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StoryRestore(StoryScoped):
    serializer_class = s.StorySerializer

    @extend_schema(
        summary="Restore a deleted story (member)",
        request=None,
        responses={200: s.StorySerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request, story_key):
        story = self.story(story_key, MEMBER, deleted=True)
        services.story_restore(story=story, actor=request.user)
        return self.answer(stories_with_relations().get(pk=story.pk))


class StoryMove(StoryScoped):
    serializer_class = s.StorySerializer

    @extend_schema(
        summary="Move a story in rank, optionally into a sprint or the backlog (product owner)",
        description=(
            'Exactly one of "before" (immediately above that story), "after" (immediately below it) or '
            '"position" ("top" or "bottom"); "sprint" (an id, or null for the backlog) moves it into or out of a '
            "sprint in the same call, placed in the destination list. An anchor that is the story itself, of another "
            "project, unknown, or not in the destination list is a 400 naming the field; nothing changes."
        ),
        request=s.StoryMoveSerializer,
        responses={200: s.StorySerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, story_key):
        story = self.story(story_key, OWNER)
        data = self.valid(s.StoryMoveSerializer, request)
        sprint = s.resolve_destination(story.project, data)
        placement = selectors.resolve_placement(story.project, data)
        moved = services.story_move(
            story=story, actor=request.user, placement=placement, sprint=sprint, expected_version=data.get("version")
        )
        return self.answer(moved)  # the row saved, with its project, state and assignee (labels: one query)


class BacklogList(ApiView):
    serializer_class = s.StorySerializer
    content_negotiation_class = CsvDownloads

    @extend_schema(
        summary="The backlog: stories in no sprint and not finished, in rank order (?format=csv: as CSV)",
        parameters=[CSV],
        responses={200: s.StorySerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request, key):
        project = self.project(key)
        stories = stories_with_relations().filter(project=project).filter(selectors.backlog_filter())
        if wants_csv(request):
            return exports.stories_csv(project, stories, name="backlog")
        return self.paginated(stories)


class BacklogMove(ApiView):
    serializer_class = s.StorySerializer
    pagination_class = None  # answers the moved stories, all of them

    @extend_schema(
        summary="Move several stories together; they keep their relative order (product owner)",
        request=s.StoriesMoveSerializer,
        responses={200: s.StorySerializer(many=True), **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, key):
        project = self.project(key, OWNER)
        data = self.valid(s.StoriesMoveSerializer, request)
        stories = list(Story.objects.filter(project=project, key__in=data["keys"], deleted_at__isnull=True))
        missing = set(data["keys"]) - {story.key for story in stories}
        if missing:
            raise InvalidInput(f"{sorted(missing)[0]} is not a story of {project.key}.", field="keys")
        if len(data["keys"]) != len(set(data["keys"])):
            raise InvalidInput("A story is listed twice.", field="keys")
        sprint = s.resolve_destination(project, data)
        placement = selectors.resolve_placement(project, data)
        moved = services.stories_move(
            project=project, stories=stories, actor=request.user, placement=placement, sprint=sprint
        )
        fresh = stories_with_relations().filter(pk__in=[story.pk for story in moved])
        return Response(self.get_serializer(fresh, many=True).data)


class StoryEvents(StoryScoped):
    serializer_class = s.EventSerializer

    @extend_schema(
        summary="A story's history, oldest first",
        responses={200: s.EventSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request, story_key):
        story = self.story(story_key, deleted=True)
        return self.paginated(StoryEvent.objects.filter(story=story).select_related("actor").order_by("seq"))


class StoryComments(StoryScoped):
    serializer_class = s.CommentSerializer

    @extend_schema(
        summary="A story's comments, oldest first",
        responses={200: s.CommentSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request, story_key):
        story = self.story(story_key)
        return self.paginated(Comment.objects.filter(story=story).select_related("author"))

    @extend_schema(
        summary="Comment on a story (stakeholder)",
        request=s.CommentCreateSerializer,
        responses={201: s.CommentSerializer, **error_responses(400, 401, 404)},
    )
    def post(self, request, story_key):
        story = self.story(story_key)
        body = self.valid(s.CommentCreateSerializer, request)["body"]
        return self.answer(services.comment_add(story=story, author=request.user, body=body), status.HTTP_201_CREATED)


# --- Epics and labels -------------------------------------------------------------------


class NamedList(ApiView):
    model: type[Epic] | type[Label]
    input_serializer: type
    save: Any

    def get(self, request, key):
        return self.paginated(self.model.objects.filter(project=self.project(key)))

    def post(self, request, key):
        project = self.project(key, MEMBER)
        item = type(self).save(project=project, **self.valid(self.input_serializer, request))
        return self.answer(item, status.HTTP_201_CREATED)


class NamedDetail(ApiView):
    model: type[Epic] | type[Label]
    update_serializer: type
    save: Any
    remove: Any

    def item(self, key: str, item_id: int, minimum: str):
        missing = f"{{project}} has no {self.model._meta.verbose_name} {item_id}."
        return self.scoped(self.model.objects.all(), minimum, missing=missing, project_key=key, pk=item_id)

    def get(self, request, key, item_id):
        return self.answer(self.item(key, item_id, READ))

    def patch(self, request, key, item_id):
        item = self.item(key, item_id, MEMBER)
        data = self.valid(self.update_serializer, request)
        return self.answer(
            # A concrete model's model_name is always set (django-stubs type Options.model_name as optional).
            type(self).save(project=item.project, **{self.model._meta.model_name: item}, actor=request.user, **data)  # type: ignore[arg-type]
        )

    def delete(self, request, key, item_id):
        item = self.item(key, item_id, MEMBER)
        into = None
        if "into" in request.query_params:
            into = _merge_target(self.model, item, request.query_params["into"])
        type(self).remove(**{self.model._meta.model_name: item}, into=into, actor=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


def _merge_target(model, item, value: str):
    """The epic or label that ``?into=`` names, in the same project (a 400 naming ``into`` otherwise)."""
    target = (
        model.objects.filter(project=item.project_id, pk=int(value)).first()
        if value.isdigit() and len(value) < 19
        else None
    )
    if target is None:
        raise InvalidInput(f"into must be the id of another {model._meta.verbose_name} of this project.", field="into")
    return target


def _named_views(model, serializer, input_serializer, update_serializer, save, remove, noun: str):
    schema = {
        "get": extend_schema(
            summary=f"The project's {noun}s", responses={200: serializer(many=True), **error_responses(401, 404)}
        ),
        "post": extend_schema(
            summary=f"Create an {noun} (member)" if noun[0] in "aeiou" else f"Create a {noun} (member)",
            request=input_serializer,
            responses={201: serializer, **error_responses(400, 401, 403, 404, 409)},
        ),
    }
    detail_schema = {
        "get": extend_schema(summary=f"One {noun}", responses={200: serializer, **error_responses(401, 404)}),
        "patch": extend_schema(
            summary=f"Change a {noun} (member)",
            request=update_serializer,
            responses={200: serializer, **error_responses(400, 401, 403, 404, 409)},
        ),
        "delete": extend_schema(
            summary=f"Delete a {noun} (member); its stories lose it, one event each, or with ?into=<id> get that {noun} instead (a merge)",
            parameters=[OpenApiParameter("into", ID, required=False, description=f"Merge into this {noun}")],
            responses={204: None, **error_responses(400, 401, 403, 404)},
        ),
    }
    attrs = {
        "model": model,
        "serializer_class": serializer,
        "input_serializer": input_serializer,
        "update_serializer": update_serializer,
        "save": staticmethod(save),
        "remove": staticmethod(remove),
    }
    list_view = type(f"{model.__name__}List", (NamedList,), attrs)
    detail_view = type(f"{model.__name__}Detail", (NamedDetail,), attrs)
    for view, schemas in ((list_view, schema), (detail_view, detail_schema)):
        for method, decorator in schemas.items():
            setattr(view, method, decorator(_own_copy(getattr(view, method))))
    return list_view, detail_view


def _own_copy(method):
    """A function of the view's own: ``extend_schema`` marks the function it decorates, and epics and labels
    share NamedList's (the labels' schema, decorated last, was the epics' too)."""

    @functools.wraps(method)
    def view_method(self, *args, **kwargs):
        return method(self, *args, **kwargs)

    return view_method


EpicList, EpicDetail = _named_views(
    Epic,
    s.EpicSerializer,
    s.EpicInputSerializer,
    s.EpicUpdateSerializer,
    services.epic_save,
    services.epic_delete,
    "epic",
)
LabelList, LabelDetail = _named_views(
    Label,
    s.LabelSerializer,
    s.LabelInputSerializer,
    s.LabelUpdateSerializer,
    services.label_save,
    services.label_delete,
    "label",
)


# --- Sprints ---------------------------------------------------------------------------


class SprintScoped(ApiView):
    serializer_class = s.SprintSerializer

    def sprint(self, sprint_id: int, minimum: str = READ) -> Sprint:
        return self.scoped(Sprint.objects.all(), minimum, missing=f"There is no sprint {sprint_id}.", pk=sprint_id)


class SprintList(ApiView):
    serializer_class = s.SprintSerializer

    @extend_schema(
        summary="A project's sprints, by start date",
        responses={200: s.SprintSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request, key):
        return self.paginated(
            Sprint.objects.filter(project=self.project(key)).select_related("project").order_by("start", "id")
        )

    @extend_schema(
        summary="Create a sprint (product owner); dates default to the cadence",
        request=s.SprintInputSerializer,
        responses={201: s.SprintSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request, key):
        project = self.project(key, OWNER)
        sprint = services.sprint_create(
            project=project, actor=request.user, **self.valid(s.SprintInputSerializer, request)
        )
        return self.answer(sprint, status.HTTP_201_CREATED)


class SprintDetail(SprintScoped):
    @extend_schema(summary="A sprint", responses={200: s.SprintSerializer, **error_responses(401, 404)})
    def get(self, request, sprint_id):
        return self.answer(self.sprint(sprint_id))

    @extend_schema(
        summary="Change a sprint's name, goal or dates (product owner)",
        request=s.SprintInputSerializer,
        responses={200: s.SprintSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request, sprint_id):
        sprint = self.sprint(sprint_id, OWNER)
        return self.answer(services.sprint_update(sprint=sprint, **self.valid(s.SprintInputSerializer, request)))

    @extend_schema(
        summary="Delete a planned sprint; its stories go back to the backlog, one event each (product owner)",
        responses={204: None, **error_responses(401, 403, 404, 409)},
    )
    def delete(self, request, sprint_id):
        services.sprint_delete(sprint=self.sprint(sprint_id, OWNER), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SprintStart(SprintScoped):
    @extend_schema(
        summary="Start a planned sprint, recording its commitment (product owner)",
        request=None,
        responses={200: s.SprintSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request, sprint_id):
        return self.answer(services.sprint_start(sprint=self.sprint(sprint_id, OWNER), actor=request.user))


class SprintClose(SprintScoped):
    @extend_schema(
        summary="Close the active sprint; unfinished stories go to the next sprint or the backlog (product owner)",
        request=s.SprintCloseSerializer,
        responses={200: s.SprintSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, sprint_id):
        sprint = self.sprint(sprint_id, OWNER)
        unfinished = self.valid(s.SprintCloseSerializer, request)["unfinished"]
        return self.answer(services.sprint_close(sprint=sprint, actor=request.user, unfinished=unfinished))


# --- Story links -----------------------------------------------------------------------


class StoryLinks(StoryScoped):
    serializer_class = s.LinkSerializer

    @extend_schema(
        summary="A story's links to other stories (those whose other end the caller can see)",
        responses={200: s.LinkSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request, story_key):
        story = self.story(story_key)
        return self.paginated(link_selectors.story_links(story, user=request.user))

    @extend_schema(
        summary="Link the story to another (member of both projects)",
        description=(
            '"kind": "blocks" (this story blocks the target), "relates" or "duplicates" (this story duplicates the '
            'target); "target": the other story\'s key, in this project or another the caller is a member of. '
            "An unknown kind, an unknown or invisible target, the story itself or a link of that kind between "
            "the two already: a 400 naming the field. Each link is a link event on both stories."
        ),
        request=s.LinkCreateSerializer,
        responses={201: s.LinkSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request, story_key):
        story = self.story(story_key, MEMBER)
        data = self.valid(s.LinkCreateSerializer, request)
        target = link_selectors.link_target(user=request.user, key=data["target"])
        link = services.link_add(source=story, target=target, kind=data["kind"], actor=request.user)
        return self.answer(link_selectors.link_as_seen(link, story=story), status.HTTP_201_CREATED)


class StoryLinkDetail(StoryScoped):
    serializer_class = s.LinkSerializer

    @extend_schema(
        summary="Remove a link (member of both projects)", responses={204: None, **error_responses(401, 403, 404)}
    )
    def delete(self, request, story_key, link_id):
        story = self.story(story_key, MEMBER)
        link = link_selectors.story_link(story=story, link_id=link_id, user=request.user)
        services.link_remove(link=link, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
