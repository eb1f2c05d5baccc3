"""Every endpoint × every role: who may, who may not, and what the others learn (nothing)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model

from apps.projects import services as project_services
from apps.projects.models import Role
from apps.stories import services

pytestmark = pytest.mark.django_db
ROLES = ["admin", "owner", "member", "stakeholder", "outsider", None]
RANK = {"admin": 3, "owner": 2, "member": 1, "stakeholder": 0}
MINIMUM = {Role.ADMIN: 3, Role.PRODUCT_OWNER: 2, Role.MEMBER: 1, Role.STAKEHOLDER: 0}


@dataclass
class Endpoint:
    method: str
    url: str
    minimum: str | None  # None: any authenticated user, member of the project or not
    success: int
    body: dict | Callable = field(default_factory=dict)
    prepare: Callable | None = None

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.url}"


def start_sprint(w, people):
    services.sprint_start(sprint=w.sprint, actor=people["owner"])


def add_newbie(w, people):
    newbie = get_user_model().objects.get(username="newbie")
    project_services.membership_add(project=w.project, user=newbie, role=Role.MEMBER)


def delete_other(w, people):
    services.story_delete(story=w.other_story, actor=people["member"])


ENDPOINTS = [
    Endpoint("get", "/api/v1/projects/", None, 200),
    Endpoint("post", "/api/v1/projects/", None, 201, {"key": "NEW", "name": "New"}),
    Endpoint("get", "/api/v1/projects/DATA/", Role.STAKEHOLDER, 200),
    Endpoint("patch", "/api/v1/projects/DATA/", Role.ADMIN, 200, {"name": "Renamed"}),
    Endpoint("get", "/api/v1/projects/DATA/members/", Role.STAKEHOLDER, 200),
    Endpoint("post", "/api/v1/projects/DATA/members/", Role.ADMIN, 201, {"username": "newbie", "role": "member"}),
    Endpoint("get", "/api/v1/projects/DATA/members/stakeholder/", Role.STAKEHOLDER, 200),
    Endpoint("patch", "/api/v1/projects/DATA/members/stakeholder/", Role.ADMIN, 200, {"role": "member"}),
    Endpoint("delete", "/api/v1/projects/DATA/members/newbie/", Role.ADMIN, 204, prepare=add_newbie),
    Endpoint("get", "/api/v1/projects/DATA/states/", Role.STAKEHOLDER, 200),
    Endpoint("post", "/api/v1/projects/DATA/states/", Role.ADMIN, 201, {"name": "Review", "category": "waiting"}),
    Endpoint("get", "/api/v1/projects/DATA/states/{w.doing_state.pk}/", Role.STAKEHOLDER, 200),
    Endpoint("patch", "/api/v1/projects/DATA/states/{w.doing_state.pk}/", Role.ADMIN, 200, {"wip_limit": 3}),
    Endpoint("delete", "/api/v1/projects/DATA/states/{w.empty_state.pk}/", Role.ADMIN, 204),
    Endpoint("get", "/api/v1/projects/DATA/stories/", Role.STAKEHOLDER, 200),
    Endpoint("post", "/api/v1/projects/DATA/stories/", Role.MEMBER, 201, {"title": "New story"}),
    Endpoint("get", "/api/v1/stories/DATA-1/", Role.STAKEHOLDER, 200),
    Endpoint("patch", "/api/v1/stories/DATA-1/", Role.MEMBER, 200, {"version": 1, "points": 5}),
    Endpoint("delete", "/api/v1/stories/DATA-1/", Role.MEMBER, 204),
    Endpoint("post", "/api/v1/stories/DATA-2/restore/", Role.MEMBER, 200, prepare=delete_other),
    Endpoint("post", "/api/v1/stories/DATA-2/move/", Role.PRODUCT_OWNER, 200, {"position": "top"}),
    Endpoint("get", "/api/v1/stories/DATA-1/events/", Role.STAKEHOLDER, 200),
    Endpoint("get", "/api/v1/stories/DATA-1/comments/", Role.STAKEHOLDER, 200),
    Endpoint("post", "/api/v1/stories/DATA-1/comments/", Role.STAKEHOLDER, 201, {"body": "Looks good"}),
    Endpoint("get", "/api/v1/projects/DATA/backlog/", Role.STAKEHOLDER, 200),
    Endpoint("post", "/api/v1/projects/DATA/backlog/move/", Role.PRODUCT_OWNER, 200, {"keys": ["DATA-2"], "position": "top"}),
    Endpoint("get", "/api/v1/projects/DATA/epics/", Role.STAKEHOLDER, 200),
    Endpoint("post", "/api/v1/projects/DATA/epics/", Role.MEMBER, 201, {"name": "Churn model"}),
    Endpoint("get", "/api/v1/projects/DATA/epics/{w.epic.pk}/", Role.STAKEHOLDER, 200),
    Endpoint("patch", "/api/v1/projects/DATA/epics/{w.epic.pk}/", Role.MEMBER, 200, {"description": "All CRM sources"}),
    Endpoint("delete", "/api/v1/projects/DATA/epics/{w.epic.pk}/", Role.MEMBER, 204),
    Endpoint("get", "/api/v1/projects/DATA/labels/", Role.STAKEHOLDER, 200),
    Endpoint("post", "/api/v1/projects/DATA/labels/", Role.MEMBER, 201, {"name": "pii", "color": "#aa0000"}),
    Endpoint("get", "/api/v1/projects/DATA/labels/{w.label.pk}/", Role.STAKEHOLDER, 200),
    Endpoint("patch", "/api/v1/projects/DATA/labels/{w.label.pk}/", Role.MEMBER, 200, {"color": "#00aa00"}),
    Endpoint("delete", "/api/v1/projects/DATA/labels/{w.label.pk}/", Role.MEMBER, 204),
    Endpoint("get", "/api/v1/projects/DATA/sprints/", Role.STAKEHOLDER, 200),
    Endpoint("post", "/api/v1/projects/DATA/sprints/", Role.PRODUCT_OWNER, 201, {"goal": "Ship the CRM feed"}),
    Endpoint("get", "/api/v1/sprints/{w.sprint.pk}/", Role.STAKEHOLDER, 200),
    Endpoint("patch", "/api/v1/sprints/{w.sprint.pk}/", Role.PRODUCT_OWNER, 200, {"goal": "Revenue first"}),
    Endpoint("post", "/api/v1/sprints/{w.sprint.pk}/start/", Role.PRODUCT_OWNER, 200),
    Endpoint("post", "/api/v1/sprints/{w.sprint.pk}/close/", Role.PRODUCT_OWNER, 200, {"unfinished": "backlog"}, prepare=start_sprint),
]


def expected_status(endpoint: Endpoint, role: str | None) -> int:
    if role is None:
        return 401
    if endpoint.minimum is None:
        return endpoint.success
    if role == "outsider":
        return 404
    return endpoint.success if RANK[role] >= MINIMUM[endpoint.minimum] else 403


@pytest.mark.parametrize("role", ROLES, ids=[r or "anonymous" for r in ROLES])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_who_may_call_each_endpoint(endpoint, role, world, client_for, people):
    if endpoint.prepare:
        endpoint.prepare(world, people)
    url = endpoint.url.format(w=world)
    response = getattr(client_for(role), endpoint.method)(url, endpoint.body, format="json")
    assert response.status_code == expected_status(endpoint, role), response.content
    if response.status_code >= 400:
        assert set(response.json()) == {"errors"}
        assert response.json()["errors"][0]["code"]


def test_every_api_route_is_in_the_permission_table():
    from config import api_urls

    def shape(route: str) -> str:
        route = re.sub(r"<(int|str):\w+>", "*", route)
        return re.sub(r"(DATA-\d+|\{w\.[\w.]+\}|(?<=members/)\w+)", "*", route).replace("DATA/", "*/")

    routes = {shape(str(p.pattern)) for include in api_urls.urlpatterns for p in include.url_patterns}
    tested = {shape(e.url.removeprefix("/api/v1/")) for e in ENDPOINTS}
    assert routes - tested == set()
