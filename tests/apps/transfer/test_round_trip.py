"""The backup loses nothing: the demo project, exported and imported under a new key, reports the same.

One seed serves the module (it takes seconds): the demo's fourteen weeks of history plus what the demo
never does (deleted and restored stories, a deleted epic, sprint, deliverable and workflow state that
the log still names, a renamed label, a blocked story, triaged requests). The copy's reports are
computed by the engine from the copy's own rows and log, as the report task reads them, and compared
with the original's after naming states, sprints, deliverables and story keys the same way in both.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from apps.deliverables import services as deliverable_services
from apps.deliverables.models import ChecklistItem, Deliverable, DeliverableKind, PipelineRun
from apps.deliverables.selectors import engine_deliverables, freshness_of
from apps.intake import services as intake_services
from apps.integrations import services as integration_services
from apps.integrations.models import Integration, SlackUser
from apps.projects import services as project_services
from apps.projects.models import Category, Project, WorkflowState
from apps.reports.models import Report
from apps.reports.services import _compute
from apps.stories import services as story_services
from apps.stories.models import Label, Sprint, Story, StoryEvent, StoryLink
from apps.stories.selectors import engine_input
from apps.transfer import services
from apps.web.demo import seed_demo
from sprintboard.history import replay
from tests.apps.intake.helpers import email_request

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Demo:
    original: Project
    copy: Project
    document: dict[str, Any]
    now: datetime


def _more_history(project: Project) -> None:
    """What the demo's simulation never does, through the services, as people would."""
    users = {user.username: user for user in get_user_model().objects.all()}
    owner, stakeholder = users["owner"], users["stakeholder"]
    backlog = list(
        Story.objects.filter(project=project, sprint=None, deleted_at=None, state__category=Category.BACKLOG)
    )
    story_services.story_delete(story=backlog[0], actor=owner)
    story_services.story_delete(story=backlog[1], actor=owner)
    story_services.story_restore(story=backlog[1], actor=owner)
    story_services.story_block(story=backlog[1], reason="+1 waiting on warehouse access", actor=owner)

    epic = story_services.epic_save(project=project, name="Scratch epic")
    sprint = story_services.sprint_create(project=project, actor=owner, name="Scratch sprint")
    deliverable = deliverable_services.deliverable_create(
        project=project, actor=owner, name="Scratch analysis", kind=DeliverableKind.ANALYSIS
    )
    scratch = story_services.story_create(
        project=project, actor=owner, title="=SUM(A1:A9) looks like a formula", points=2, epic=epic, sprint=sprint
    )
    story_services.story_update(story=scratch, actor=owner, deliverable=deliverable)
    review = project_services.state_add(project=project, name="Peer review", category=Category.WAITING)
    story_services.story_change_state(story=scratch, state=review, actor=owner)
    waiting = WorkflowState.objects.get(project=project, name="Waiting")
    project_services.state_delete(state=review, move_to=waiting, actor=owner)
    story_services.epic_delete(epic=epic, actor=owner)
    story_services.sprint_delete(sprint=sprint, actor=owner)
    deliverable_services.deliverable_delete(deliverable=deliverable, actor=owner)
    label = Label.objects.filter(project=project).order_by("name").first()
    story_services.label_save(project=project, label=label, name=f"{label.name}-renamed", actor=owner)

    asks = [
        intake_services.request_submit(project=project, requester=stakeholder, title=title)
        for title in ("Churn by region", "Churn per region, monthly", "A new logo", "Weekly revenue email")
    ]
    intake_services.request_accept(request=asks[0], actor=owner)
    intake_services.request_merge(request=asks[1], into=asks[0], actor=owner)
    intake_services.request_decline(request=asks[2], actor=owner, reason="Not a data question.")
    email_request(project, "Churn by country")
    _links(project, owner)
    integration_services.integration_update(
        project=project,
        rotate_secret=True,
        opened_state=WorkflowState.objects.get(project=project, name="In progress").pk,
        merged_state=WorkflowState.objects.get(project=project, name="Validating").pk,
        slack_signing_secret="s" * 32,
        slack_users={"U012AB3CD": "member", "U045EF6GH": "owner"},
    )


def _links(project: Project, owner: Any) -> None:
    """Links within the project (one kept, one removed, one closing a story as a duplicate) and one to a story of
    another project, which the copy keeps as history only."""
    alive = list(Story.objects.filter(project=project, deleted_at=None).order_by("number")[:4])
    story_services.link_add(source=alive[0], target=alive[1], kind="blocks", actor=owner)
    removed = story_services.link_add(source=alive[1], target=alive[2], kind="relates", actor=owner)
    story_services.link_remove(link=removed, actor=owner)
    side = project_services.project_create(creator=owner, key="SIDE", name="Side project")
    elsewhere = story_services.story_create(project=side, actor=owner, title="Warehouse access")
    story_services.link_add(source=elsewhere, target=alive[2], kind="blocks", actor=owner)
    extra = story_services.story_create(project=project, actor=owner, title="Churn by region, again")
    story_services.story_close_as_duplicate(story=extra, original=alive[3], actor=owner)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        original = seed_demo()
        _more_history(original)
        document = services.project_export(original)
        restored = services.project_import(document=json.loads(json.dumps(document)), key="COPY", actor=None)
        yield Demo(original, restored, document, timezone.now())
        transaction.set_rollback(True)


# --- Naming rows the same way in both projects ---------------------------------------------------


@dataclass(frozen=True)
class Names:
    """Each id of a project as something both projects share: its state's name, sprint's name, and so on."""

    key: str
    states: dict[int, str]
    sprints: dict[int, str]
    deliverables: dict[int, str]

    @classmethod
    def of(cls, project: Project) -> Names:
        states = WorkflowState.all_objects.filter(project=project)
        return cls(
            key=project.key,
            states={s.pk: f"state {s.name}@{s.position}{' (deleted)' if s.deleted_at else ''}" for s in states},
            sprints={
                pk: f"sprint {name}" for pk, name in Sprint.objects.filter(project=project).values_list("pk", "name")
            },
            deliverables={
                pk: f"deliverable {name}"
                for pk, name in Deliverable.objects.filter(project=project).values_list("pk", "name")
            },
        )

    def name(self, kind: str, value: Any) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            return value
        return getattr(self, kind).get(value, f"a deleted {kind[:-1]}")


STATE_KEYED = {"state_names", "counts"}  # dicts keyed by state id
ID_VALUES = {"state": "states", "states": "states", "sprint_id": "sprints", "deliverable_id": "deliverables"}
DELIVERABLE_KINDS = set(DeliverableKind.values)


def named(value: Any, names: Names, key: str | None = None, parent: dict | None = None) -> Any:
    """A report result with every id replaced by its name and every story key by its number."""
    if isinstance(value, dict):
        return {
            (names.name("states", int(k)) if key in STATE_KEYED and str(k).isdigit() else named(k, names)): named(
                v, names, k, value
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [named(v, names, key, parent) for v in value]
    if key == "id" and parent is not None:
        return names.name("deliverables" if parent.get("kind") in DELIVERABLE_KINDS else "sprints", value)
    if key in ID_VALUES:
        return names.name(ID_VALUES[key], value)
    if isinstance(value, str):
        return re.sub(rf"\b{names.key}-(\d+)\b", r"#\1", value)
    return value


def reports(project: Project, now: datetime) -> dict[str, Any]:
    """Every report of ``project`` as the report task computes it (engine_input, replay, _compute), as of ``now``."""
    data = engine_input(project)
    deliverables = engine_deliverables(project)
    names = Names.of(project)

    def compute(kind: str, parameters: dict[str, Any], sprint: Sprint | None = None) -> Any:
        as_of = sprint.closed_at if sprint is not None and sprint.closed_at else now
        history = replay(data.events, stories=data.stories, workflow=data.workflow, tz=data.timezone, as_of=as_of)
        report = Report(project=project, kind=kind, parameters=parameters, sprint=sprint)
        return named(_compute(report, data, history, deliverables), names)

    out = {
        f"sprint report of {sprint.name}": compute("sprint", {}, sprint)
        for sprint in Sprint.objects.filter(project=project).exclude(started_at=None).order_by("start")
    }
    day = timezone.localtime(now, project.tzinfo).date()
    out["velocity"] = compute("velocity", {})
    out["flow"] = compute("flow", {"from": None, "to": None})
    out["flow, the first sprints"] = compute("flow", {"from": (day - timedelta(days=97)).isoformat(), "to": None})
    out["waste"] = compute("waste", {"from": None, "to": None})
    out["dataops"] = compute("dataops", {})
    out["forecast how many"] = compute("forecast", {"items": None, "date": None, "seed": 7})
    out["forecast when"] = compute("forecast", {"items": 25, "date": None, "seed": 7})
    return out


# --- The round trip --------------------------------------------------------------------------------


def test_every_report_of_the_copy_equals_the_original(demo):
    original, restored = reports(demo.original, demo.now), reports(demo.copy, demo.now)
    assert len([name for name in original if name.startswith("sprint report")]) == 7  # six closed, one active
    assert original["velocity"]["sprints"] and original["flow"]["cycle_times"]
    for name in original:
        assert restored[name] == original[name], name


def test_the_copy_holds_every_row_and_the_same_log(demo):
    a, b = (Project.objects.get(pk=p.pk) for p in (demo.original, demo.copy))
    assert (b.last_event_seq, b.last_event_at, b.last_story_number) == (
        a.last_event_seq,
        a.last_event_at,
        a.last_story_number,
    )
    assert b.created_at == a.created_at and b.name == a.name and b.timezone == a.timezone
    columns = ("seq", "kind", "field", "at", "actor__username", "actor_name", "to_name", "story__number")
    assert list(StoryEvent.objects.filter(project=b).order_by("seq").values_list(*columns)) == list(
        StoryEvent.objects.filter(project=a).order_by("seq").values_list(*columns)
    )
    story_columns = ("number", "title", "rank", "version", "deleted_at", "blocked_reason", *Story.FLOW_FIELDS)
    assert list(Story.objects.filter(project=b).order_by("number").values_list(*story_columns)) == list(
        Story.objects.filter(project=a).order_by("number").values_list(*story_columns)
    )
    copied = StoryLink.objects.filter(source__project=b).values_list("source__number", "target__number", "kind")
    assert set(copied) == set(
        StoryLink.objects.filter(source__project=a, target__project=a).values_list(
            "source__number", "target__number", "kind"
        )
    )
    assert len(copied) == 2 and StoryEvent.objects.filter(project=b, kind="link", to_value__link=None).count() == 1
    for name in ("states", "epics", "labels", "sprints", "deliverables", "comments", "requests", "members", "links"):
        assert len(demo.document[name]) > 0, name
    assert b.requests.count() == 5 and b.requests.get(channel="email").requester_email == "client@elsewhere.org"
    assert b.deliverable_events.count() == a.deliverable_events.count()


def test_the_copy_keeps_the_integration_settings_but_not_the_secrets(demo):
    original, copied = (Integration.objects.get(project=p) for p in (demo.original, demo.copy))
    assert (copied.opened_state.name, copied.merged_state.name) == ("In progress", "Validating")
    assert (copied.opened_state.project, copied.merged_state.project) == (demo.copy, demo.copy)
    assert original.secret and original.slack_signing_secret
    assert copied.secret == "" and copied.slack_signing_secret == ""  # set anew by the copy's admin
    assert "secret" not in json.dumps(demo.document["integration"])
    assert dict(SlackUser.objects.filter(project=demo.copy).values_list("slack_id", "user__username")) == {
        "U012AB3CD": "member",
        "U045EF6GH": "owner",
    }


def test_the_copy_keeps_the_pipeline_runs_their_bindings_and_the_freshness(demo):
    def pipelines(project: Project) -> dict[str, Any]:
        deliverables = Deliverable.objects.filter(project=project).order_by("name")
        runs = PipelineRun.objects.filter(deliverable__project=project).order_by("received_at", "id")
        items = ChecklistItem.objects.filter(deliverable__project=project).exclude(bound_source="")
        return {
            "deliverables": list(
                deliverables.values_list(
                    "name", "expected_interval_hours", "last_run_status", "last_run_at", "last_success_at", "flagged_at"
                )
            ),
            "runs": list(
                runs.values_list(
                    "deliverable__name", "source", "external_id", "job", "status", "finished_at", "failures", "url"
                )
            ),
            "bound": sorted(items.values_list("deliverable__name", "text", "bound_source", "bound_job")),
            "evidence": sorted(
                ChecklistItem.objects.filter(deliverable__project=project, evidence_run__isnull=False).values_list(
                    "text", "evidence_run__external_id"
                )
            ),
        }

    original, copied = pipelines(demo.original), pipelines(demo.copy)
    assert {run[4] for run in original["runs"]} == {"passed", "failed"} and original["bound"]
    assert any(hours == 24 for _, hours, *_ in original["deliverables"])
    assert copied == original
    assert [freshness_of(d, demo.now) for d in Deliverable.objects.filter(project=demo.copy).order_by("name")] == [
        freshness_of(d, demo.now) for d in Deliverable.objects.filter(project=demo.original).order_by("name")
    ]


def test_rows_deleted_before_the_export_stay_named_by_negative_ids(demo):
    deleted_sprint_moves = StoryEvent.objects.filter(project=demo.copy, kind="sprint", from_value__lt=0)
    assert deleted_sprint_moves.count() == 1
    gone_epic = StoryEvent.objects.filter(project=demo.copy, kind="updated", field="epic", from_value__lt=0)
    assert gone_epic.count() == 1


def test_the_sprint_commitments_name_the_copies(demo):
    for sprint in Sprint.objects.filter(project=demo.copy).exclude(commitment=[]):
        keys = {entry["key"] for entry in sprint.commitment}
        stories = dict(Story.objects.filter(pk__in=[e["story"] for e in sprint.commitment]).values_list("pk", "key"))
        assert keys == set(stories.values()) and all(key.startswith("COPY-") for key in keys)


# --- Export, import, export: the same document --------------------------------------------------------

LISTS = ("states", "epics", "labels", "sprints", "deliverables", "stories", "links", "requests", "pipeline_runs")
LOGGED = {("state", ""): "states", ("sprint", ""): "sprints", ("updated", "epic"): "epics"}
LOGGED[("updated", "deliverable")] = "deliverables"
CREATED = {"state": "states", "sprint": "sprints", "epic": "epics", "deliverable": "deliverables"}


def without_ids(document: dict[str, Any]) -> dict[str, Any]:
    """The document with each row's id replaced by its place in its list (rows the log names after their
    deletion: by order of appearance) and the project's key taken out of story keys."""
    doc = copy.deepcopy(document)
    key = doc["project"].pop("key")
    places = {name: {row["id"]: f"{name}[{i}]" for i, row in enumerate(doc[name])} for name in LISTS}
    gone: dict[str, dict[Any, str]] = {}

    def ref(kind: str, value: Any) -> Any:
        if value is None:
            return None
        if value in places[kind]:
            return places[kind][value]
        deleted = gone.setdefault(kind, {})
        return deleted.setdefault(value, f"a deleted {kind} #{len(deleted)}")

    def story_key(value: str) -> str:
        return value.replace(f"{key}-", "#")

    for name in LISTS:
        for row in doc[name]:
            row["id"] = ref(name, row["id"])
    for story in doc["stories"]:
        for field in ("state", "epic", "sprint", "deliverable"):
            story[field] = ref(f"{field}s", story[field])
        story["labels"] = [ref("labels", label) for label in story["labels"]]
    for sprint in doc["sprints"]:
        sprint["commitment"] = [
            {**e, "story": ref("stories", e["story"]), "key": story_key(e["key"])} for e in sprint["commitment"]
        ]
    for event in doc["deliverable_events"]:
        event["deliverable"] = ref("deliverables", event["deliverable"])
        if isinstance(event["to"], dict) and "run" in event["to"]:
            event["to"]["run"] = ref("pipeline_runs", event["to"]["run"])
    for run in doc["pipeline_runs"]:
        run["deliverable"] = ref("deliverables", run["deliverable"])
    for deliverable in doc["deliverables"]:
        for item in deliverable["checklist"]:
            item["evidence_run"] = ref("pipeline_runs", item["evidence_run"])
    for row in doc["comments"]:
        row["story"] = ref("stories", row["story"])
    for row in doc["requests"]:
        row["story"], row["merged_into"] = ref("stories", row["story"]), ref("requests", row["merged_into"])
    for event in doc["events"]:
        event["story"] = ref("stories", event["story"])
        kind = LOGGED.get((event["kind"], event["field"]))
        if kind is not None:
            event["from"], event["to"] = ref(kind, event["from"]), ref(kind, event["to"])
        elif event["kind"] == "created":
            event["to"] = {k: ref(CREATED[k], v) if k in CREATED else v for k, v in event["to"].items()}
        elif event["kind"] == "rebalanced":
            event["to"] = {story_key(k): v for k, v in event["to"].items()}
        elif event["kind"] == "link":
            inside = event["to"]["story"] in places["stories"]  # else the copy keeps the other project's key only
            link, other = (
                (ref("links", event["to"]["link"]), ref("stories", event["to"]["story"])) if inside else (None, None)
            )
            event["to"] = {**event["to"], "link": link, "story": other, "key": story_key(event["to"]["key"])}
    for row in doc["links"]:
        row["source"], row["target"] = ref("stories", row["source"]), ref("stories", row["target"])
    for field in ("opened_state", "merged_state"):
        doc["integration"][field] = ref("states", doc["integration"][field])
    return doc


def test_export_import_export_gives_the_same_document_but_for_ids_and_key(demo):
    again = services.project_export(demo.copy)
    assert again["project"]["key"] == "COPY"
    assert without_ids(again) == without_ids(demo.document)


def test_the_command_line_round_trip_writes_the_same_document(demo, tmp_path):
    path = tmp_path / "project.json"
    out = StringIO()
    call_command("export_project", "DATA", stdout=out)
    path.write_text(out.getvalue())
    assert json.loads(out.getvalue()) == json.loads(json.dumps(demo.document))
    done = StringIO()
    call_command("import_project", str(path), "--key", "AGAIN", stdout=done)
    assert "Created AGAIN" in done.getvalue()
    assert without_ids(services.project_export(Project.objects.get(key="AGAIN"))) == without_ids(demo.document)
