"""Every endpoint × every role: who may, who may not, and what the others learn (nothing)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.deliverables import services as deliverable_services
from apps.projects import services as project_services
from apps.projects.models import Role
from apps.stories import services
from tests.sprintboard.pipeline_builders import dbt_passing

pytestmark = pytest.mark.django_db
ROLES = ["admin", "owner", "member", "stakeholder", "outsider", None]
RANK = {"admin": 3, "owner": 2, "member": 1, "stakeholder": 0}
MINIMUM = {Role.ADMIN: 3, Role.PRODUCT_OWNER: 2, Role.MEMBER: 1, Role.STAKEHOLDER: 0}
# Receivers authenticated by the sender's signature alone: a session or token counts for nothing (401 unsigned).
SIGNED = "signed"


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


def tick_every_item(w, people):
    for item in w.deliverable.checklist.all():
        deliverable_services.checklist_item_update(item=item, actor=people["member"], done=True)


def start_sprint_and_compute_its_report(w, people):
    """A started sprint whose report is stored and current (a GET then answers 200, broker or not)."""
    from apps.reports import services as report_services

    start_sprint(w, people)
    w.sprint.refresh_from_db()
    report = report_services.report_request(project=w.project, kind="sprint", parameters={}, sprint=w.sprint)
    report_services.report_compute(report_id=report.pk)


def compute_dataops_report(w, people):
    from apps.reports import services as report_services

    report = report_services.report_request(project=w.project, kind="dataops", parameters={})
    report_services.report_compute(report_id=report.pk)


def compute_flow_report(w, people):
    from apps.reports import services as report_services

    report = report_services.report_request(project=w.project, kind="flow", parameters={"from": None, "to": None})
    report_services.report_compute(report_id=report.pk)


def add_link(w, people):
    """DATA-1 blocks DATA-2, through the service (both stories log it), with the story's id as the link's (so URLs
    can name it): the link table's id sequence is set first."""
    from django.db import connection

    from apps.stories.models import StoryLink

    table = StoryLink._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)", [table, w.story.pk])
        else:
            cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
            cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, w.story.pk - 1])
    link = services.link_add(source=w.story, target=w.other_story, kind="blocks", actor=people["member"])
    assert link.pk == w.story.pk


MERGE_TARGET = 900_002  # a fixed id: a request body cannot name the world's rows


def add_requests(w, people):
    """Two open requests: one whose id is the story's (so URLs can name it), and the merge target."""
    from apps.intake.models import Request

    Request.objects.create(pk=w.story.pk, project=w.project, requester=people["stakeholder"], title="Churn dashboard")
    Request.objects.create(pk=MERGE_TARGET, project=w.project, requester=people["member"], title="Churn dashboards")


def add_import(w, people):
    """An analysed Jira import waiting for its mapping, whose id is the story's (so URLs can name it)."""
    from apps.imports.models import Import

    status = {"key": "1", "name": "To Do", "names": ["To Do"], "category": "todo", "issues": 1, "changes": 0}
    story = {"key": "Story", "name": "Story", "count": 1, "email": None, "username": None}
    Import.objects.create(
        pk=w.story.pk,
        project=w.project,
        analysis={"issues": 1, "changelog_items": 0, "statuses": [status], "issue_types": [story]},
        mapping={"statuses": {"1": {"state": "To Do", "category": "todo"}}, "types": {"Story": "story"}},
    )


def add_webhook(w, people):
    """A webhook and one delivery, whose ids are the story's (so URLs can name them)."""
    from apps.webhooks.models import Delivery, Webhook

    webhook = Webhook.objects.create(
        pk=w.story.pk, project=w.project, url="https://93.184.215.14/hook", secret="s" * 32, events=["*"]
    )
    payload = {"event": "story.created", "seq": 1, "story": w.story.key}
    Delivery.objects.create(pk=w.story.pk, webhook=webhook, event="story.created", seq=1, payload=payload)


def add_integrations(w, people):
    """Secrets set, so an unsigned delivery is refused for its signature, not for a missing secret."""
    from apps.integrations import services as integration_services

    integration_services.integration_update(
        project=w.project, rotate_secret=True, slack_signing_secret="8f742231b10e8888abcd99yyyzzz85a5"
    )


ENDPOINTS = [
    Endpoint("get", "/api/v1/projects/", None, 200),
    # Integrations: settings (admins), and the receivers, which only a sender's signature opens.
    Endpoint("get", "/api/v1/projects/DATA/integrations/", Role.ADMIN, 200),
    Endpoint("get", "/api/v1/stories/DATA-1/code/", Role.STAKEHOLDER, 200),
    Endpoint("patch", "/api/v1/projects/DATA/integrations/", Role.ADMIN, 200, {"rotate_secret": True}),
    Endpoint("post", "/api/v1/projects/DATA/integrations/github/", SIGNED, 401, {"zen": "hi"}, add_integrations),
    Endpoint(
        "post", "/api/v1/projects/DATA/integrations/gitlab/", SIGNED, 401, {"object_kind": "push"}, add_integrations
    ),
    Endpoint("post", "/api/v1/projects/DATA/integrations/slack/", SIGNED, 401, {"text": "x"}, add_integrations),
    # Webhooks (admins). The URL is a public literal address: checked without a DNS look-up, never called here.
    Endpoint("get", "/api/v1/projects/DATA/webhooks/", Role.ADMIN, 200),
    Endpoint(
        "post",
        "/api/v1/projects/DATA/webhooks/",
        Role.ADMIN,
        201,
        {"url": "https://93.184.215.14/hook", "events": ["story.created", "story.moved"]},
    ),
    Endpoint("get", "/api/v1/webhooks/{w.story.pk}/", Role.ADMIN, 200, prepare=add_webhook),
    Endpoint("patch", "/api/v1/webhooks/{w.story.pk}/", Role.ADMIN, 200, {"events": ["*"]}, prepare=add_webhook),
    Endpoint("delete", "/api/v1/webhooks/{w.story.pk}/", Role.ADMIN, 204, prepare=add_webhook),
    Endpoint("get", "/api/v1/webhooks/{w.story.pk}/deliveries/", Role.ADMIN, 200, prepare=add_webhook),
    Endpoint(
        "post", "/api/v1/webhooks/{w.story.pk}/deliveries/{w.story.pk}/redeliver/", Role.ADMIN, 202, prepare=add_webhook
    ),
    # Imports: uploads are multipart (tests/apps/imports/test_api.py), so this table's JSON body gets a 415 from
    # those allowed, after the role check.
    Endpoint("get", "/api/v1/projects/DATA/imports/", Role.PRODUCT_OWNER, 200),
    Endpoint("post", "/api/v1/projects/DATA/imports/", Role.PRODUCT_OWNER, 415),
    Endpoint("post", "/api/v1/projects/DATA/imports/csv-preview/", Role.PRODUCT_OWNER, 415),
    Endpoint("get", "/api/v1/imports/{w.story.pk}/", Role.PRODUCT_OWNER, 200, prepare=add_import),
    Endpoint("post", "/api/v1/imports/{w.story.pk}/confirm/", Role.PRODUCT_OWNER, 202, prepare=add_import),
    # Reports: a stored, current report answers 200; a queued one 202 (POST always queues in these tests).
    Endpoint(
        "get",
        "/api/v1/sprints/{w.sprint.pk}/report/",
        Role.STAKEHOLDER,
        200,
        prepare=start_sprint_and_compute_its_report,
    ),
    Endpoint("post", "/api/v1/sprints/{w.sprint.pk}/report/", Role.MEMBER, 202, prepare=start_sprint),
    Endpoint("get", "/api/v1/projects/DATA/reports/flow/", Role.STAKEHOLDER, 200, prepare=compute_flow_report),
    Endpoint("post", "/api/v1/projects/DATA/reports/flow/", Role.MEMBER, 202),
    Endpoint("get", "/api/v1/projects/DATA/reports/velocity/", Role.STAKEHOLDER, 202),
    Endpoint("post", "/api/v1/projects/DATA/reports/velocity/", Role.MEMBER, 202),
    Endpoint("get", "/api/v1/projects/DATA/reports/waste/", Role.STAKEHOLDER, 202),
    Endpoint("post", "/api/v1/projects/DATA/reports/waste/", Role.MEMBER, 202),
    Endpoint("get", "/api/v1/projects/DATA/reports/forecast/", Role.STAKEHOLDER, 202),
    Endpoint("post", "/api/v1/projects/DATA/reports/forecast/", Role.MEMBER, 202),
    Endpoint("get", "/api/v1/projects/DATA/reports/dataops/", Role.STAKEHOLDER, 200, prepare=compute_dataops_report),
    Endpoint("post", "/api/v1/projects/DATA/reports/dataops/", Role.MEMBER, 202),
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
    Endpoint("get", "/api/v1/stories/DATA-1/links/", Role.STAKEHOLDER, 200, prepare=add_link),
    Endpoint("post", "/api/v1/stories/DATA-1/links/", Role.MEMBER, 201, {"kind": "relates", "target": "DATA-2"}),
    Endpoint("delete", "/api/v1/stories/DATA-1/links/{w.story.pk}/", Role.MEMBER, 204, prepare=add_link),
    Endpoint("get", "/api/v1/notifications/", None, 200),
    # Search: anyone signed in searches their own projects (an outsider gets only their own: tests/apps/web);
    # naming a project needs a role in it.
    Endpoint("get", "/api/v1/search/?q=crm", None, 200),
    Endpoint("get", "/api/v1/search/?q=crm&project=DATA", Role.STAKEHOLDER, 200),
    Endpoint("post", "/api/v1/notifications/read/", None, 200, {"all": True}),
    Endpoint("get", "/api/v1/stories/DATA-1/watchers/", Role.STAKEHOLDER, 200),
    Endpoint("post", "/api/v1/stories/DATA-1/watchers/", Role.STAKEHOLDER, 200),
    Endpoint("delete", "/api/v1/stories/DATA-1/watchers/", Role.STAKEHOLDER, 200),
    Endpoint("get", "/api/v1/stories/DATA-1/comments/", Role.STAKEHOLDER, 200),
    Endpoint("post", "/api/v1/stories/DATA-1/comments/", Role.STAKEHOLDER, 201, {"body": "Looks good"}),
    Endpoint("get", "/api/v1/projects/DATA/backlog/", Role.STAKEHOLDER, 200),
    Endpoint(
        "post", "/api/v1/projects/DATA/backlog/move/", Role.PRODUCT_OWNER, 200, {"keys": ["DATA-2"], "position": "top"}
    ),
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
    Endpoint("delete", "/api/v1/sprints/{w.sprint.pk}/", Role.PRODUCT_OWNER, 204),
    Endpoint("post", "/api/v1/sprints/{w.sprint.pk}/start/", Role.PRODUCT_OWNER, 200),
    Endpoint(
        "post",
        "/api/v1/sprints/{w.sprint.pk}/close/",
        Role.PRODUCT_OWNER,
        200,
        {"unfinished": "backlog"},
        prepare=start_sprint,
    ),
    Endpoint("get", "/api/v1/projects/DATA/deliverables/", Role.STAKEHOLDER, 200),
    Endpoint(
        "post", "/api/v1/projects/DATA/deliverables/", Role.MEMBER, 201, {"name": "Churn model", "kind": "ml_model"}
    ),
    Endpoint("get", "/api/v1/deliverables/{w.deliverable.pk}/", Role.STAKEHOLDER, 200),
    Endpoint(
        "patch", "/api/v1/deliverables/{w.deliverable.pk}/", Role.MEMBER, 200, {"version": 1, "status": "validating"}
    ),
    Endpoint("delete", "/api/v1/deliverables/{w.deliverable.pk}/", Role.MEMBER, 204),
    Endpoint("post", "/api/v1/deliverables/{w.deliverable.pk}/publish/", Role.MEMBER, 200, prepare=tick_every_item),
    Endpoint("post", "/api/v1/deliverables/{w.deliverable.pk}/retire/", Role.MEMBER, 200),
    Endpoint("get", "/api/v1/deliverables/{w.deliverable.pk}/events/", Role.STAKEHOLDER, 200),
    Endpoint("get", "/api/v1/deliverables/{w.deliverable.pk}/runs/", Role.STAKEHOLDER, 200),
    # A pipeline run (here a dbt run_results.json; every shape in tests/apps/deliverables/test_runs.py): members.
    Endpoint("post", "/api/v1/deliverables/{w.deliverable.pk}/runs/", Role.MEMBER, 201, dbt_passing()),
    Endpoint("get", "/api/v1/deliverables/{w.deliverable.pk}/checklist/", Role.STAKEHOLDER, 200),
    Endpoint("post", "/api/v1/deliverables/{w.deliverable.pk}/checklist/", Role.MEMBER, 201, {"text": "PII reviewed"}),
    Endpoint("get", "/api/v1/deliverables/{w.deliverable.pk}/checklist/{w.item.pk}/", Role.STAKEHOLDER, 200),
    # Stakeholders may tick only an item assigned to them (tests/apps/deliverables/test_api.py); this one is not.
    Endpoint(
        "patch", "/api/v1/deliverables/{w.deliverable.pk}/checklist/{w.item.pk}/", Role.MEMBER, 200, {"done": True}
    ),
    Endpoint("delete", "/api/v1/deliverables/{w.deliverable.pk}/checklist/{w.item.pk}/", Role.MEMBER, 204),
    Endpoint("get", "/api/v1/projects/DATA/checklist-templates/", Role.STAKEHOLDER, 200),
    Endpoint("get", "/api/v1/projects/DATA/checklist-templates/{w.deliverable.kind}/", Role.STAKEHOLDER, 200),
    Endpoint(
        "patch",
        "/api/v1/projects/DATA/checklist-templates/{w.deliverable.kind}/",
        Role.ADMIN,
        200,
        {"items": ["Schema documented"]},
    ),
    Endpoint("get", "/api/v1/projects/DATA/requests/", Role.STAKEHOLDER, 200),
    Endpoint(
        "post",
        "/api/v1/projects/DATA/requests/",
        Role.STAKEHOLDER,
        201,
        {"title": "Churn by region", "channel": "chat"},
    ),
    Endpoint("get", "/api/v1/projects/DATA/requests/groups/", Role.STAKEHOLDER, 200, prepare=add_requests),
    Endpoint("get", "/api/v1/requests/{w.story.pk}/", Role.STAKEHOLDER, 200, prepare=add_requests),
    Endpoint(
        "post",
        "/api/v1/requests/{w.story.pk}/accept/",
        Role.PRODUCT_OWNER,
        200,
        {"position": "top"},
        prepare=add_requests,
    ),
    Endpoint(
        "post",
        "/api/v1/requests/{w.story.pk}/merge/",
        Role.PRODUCT_OWNER,
        200,
        {"into": MERGE_TARGET},
        prepare=add_requests,
    ),
    Endpoint(
        "post",
        "/api/v1/requests/{w.story.pk}/decline/",
        Role.PRODUCT_OWNER,
        200,
        {"reason": "Out of scope"},
        prepare=add_requests,
    ),
]


def expected_status(endpoint: Endpoint, role: str | None) -> int:
    if endpoint.minimum == SIGNED:
        return 401
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
        route = route.split("?")[0]
        route = re.sub(r"<(int|str):\w+>", "*", route)
        return re.sub(r"(DATA-\d+|\{w\.[\w.]+\}|(?<=members/)\w+)", "*", route).replace("DATA/", "*/")

    routes = {shape(str(p.pattern)) for include in api_urls.urlpatterns for p in include.url_patterns}
    tested = {shape(e.url.removeprefix("/api/v1/")) for e in ENDPOINTS}
    assert routes - tested == set()


GET_ENDPOINTS = [e for e in ENDPOINTS if e.method == "get"]


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS, ids=str)
def test_a_browser_options_head_and_a_bad_id_never_get_a_500(endpoint, world, people, client_for):
    """A browser (Accept: text/html) gets the browsable API page; OPTIONS and HEAD answer; an id that does
    not match the route gets the JSON error shape."""
    if endpoint.prepare:
        endpoint.prepare(world, people)
    client = Client()
    client.force_login(people["admin"])
    url = endpoint.url.format(w=world)
    page = client.get(url, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert page.status_code == endpoint.success, page.content[:500]
    assert page["Content-Type"].startswith(("text/html", "application/json"))  # reports and downloads: JSON
    assert client.options(url).status_code == 200
    assert client.head(url).status_code == endpoint.success
    for role in ("member", None):  # a member's browser, and one not signed in
        answer = client_for(role).get(url, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
        assert answer.status_code in (expected_status(endpoint, role), 202), answer.content[:300]
    bad = re.sub(r"/\d+/", "/abc/", url, count=1)
    if bad != url:
        response = client.get(bad)
        assert response.status_code == 404 and response.json()["errors"][0]["code"]
