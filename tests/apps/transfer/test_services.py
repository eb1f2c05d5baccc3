"""project_export / project_import on a small project: what is kept, and every refusal writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from apps.core.errors import Conflict, InvalidInput
from apps.imports.models import ImportedIssue
from apps.projects.models import Membership, Project, Role
from apps.stories import services as story_services
from apps.stories.models import Comment, Story, StoryEvent
from apps.stories.signals import events_appended
from apps.transfer import services

pytestmark = pytest.mark.django_db


def exported(project: Project) -> dict[str, Any]:
    return json.loads(json.dumps(services.project_export(project)))


def counts() -> tuple[int, ...]:
    return (
        Project.objects.count(),
        Story.objects.count(),
        StoryEvent.objects.count(),
        Comment.objects.count(),
        get_user_model().objects.count(),
    )


def refused(document: Any, key: str = "COPY", **options: Any) -> InvalidInput | Conflict:
    before = counts()
    with pytest.raises((InvalidInput, Conflict)) as caught:
        services.project_import(document=document, key=key, actor=None, **options)
    assert counts() == before, "a refused import wrote something"
    return caught.value


def test_it_copies_a_project_and_makes_the_restorer_an_admin(world, people):
    story_services.story_block(story=world.story, reason="waiting for access", actor=people["member"])
    copy = services.project_import(document=exported(world.project), key="COPY", actor=people["member"])
    assert copy.key == "COPY" and copy.name == world.project.name
    roles = dict(Membership.objects.filter(project=copy).values_list("user__username", "role"))
    assert roles == {
        "admin": Role.ADMIN,
        "owner": Role.PRODUCT_OWNER,
        "member": Role.ADMIN,
        "stakeholder": "stakeholder",
    }
    story = Story.objects.get(key="COPY-1")
    assert (story.title, story.blocked_reason, story.epic.name) == ("Ingest CRM", "waiting for access", "CRM ingestion")
    assert [label.name for label in story.labels.all()] == ["dbt"]
    assert story.comments.get().author == people["member"]
    assert copy.deliverables.get().checklist.count() == world.deliverable.checklist.count()


def test_the_copy_without_an_actor_has_exactly_the_original_members(world):
    copy = services.project_import(document=exported(world.project), key="COPY", actor=None)
    assert set(copy.memberships.values_list("user__username", "role")) == set(
        world.project.memberships.values_list("user__username", "role")
    )


def test_it_tells_the_listeners_once_about_the_whole_log(world):
    heard = []

    def listener(sender, **kwargs):
        heard.append(kwargs)

    events_appended.connect(listener)
    try:
        copy = services.project_import(document=exported(world.project), key="COPY", actor=None)
    finally:
        events_appended.disconnect(listener)
    assert [(h["project_id"], h["first_seq"], h["last_seq"]) for h in heard] == [(copy.pk, 1, copy.last_event_seq)]


def test_a_rebalance_names_the_copies_story_keys(world, people):
    document = exported(world.project)
    second = next(s for s in document["stories"] if s["number"] == 2)
    last = document["events"][-1]
    document["events"].append(
        {
            "seq": last["seq"] + 1,
            "story": last["story"],
            "kind": "rebalanced",
            "field": "",
            "from": None,
            "to": {"DATA-2": second["rank"]},
            "actor": "owner",
            "at": last["at"],
        }
    )
    document["project"]["last_event_seq"] += 1
    copy = services.project_import(document=document, key="COPY", actor=None)
    assert StoryEvent.objects.get(project=copy, kind="rebalanced").to_value == {"COPY-2": second["rank"]}


# --- Refusals -------------------------------------------------------------------------------------


def test_it_refuses_what_is_not_a_backup(world):
    assert refused({"stories": []}).code == "bad_format"
    assert refused([1, 2]).code == "bad_document"
    document = exported(world.project)
    document["version"] = 2
    error = refused(document)
    assert error.code == "bad_version" and "version 2" in error.message


def test_it_refuses_a_key_in_use_or_malformed(world):
    document = exported(world.project)
    assert refused(document, key="OTHER").code == "duplicate"
    assert refused(document, key="DATA").code == "duplicate"
    error = refused(document, key="new")
    assert error.field == "key" and "capital letters" in error.message


def test_it_lists_the_users_this_installation_lacks(world):
    document = exported(world.project)
    document["members"].append({"username": "ghost", "role": "member"})
    document["comments"][0]["author"] = "casper"
    error = refused(document)
    assert error.code == "missing_users" and "ghost" in error.message and "casper" in error.message
    assert error.extra["missing_users"] == ["casper", "ghost"]


def test_missing_users_can_be_created_as_inactive_accounts(world):
    document = exported(world.project)
    document["members"].append({"username": "ghost", "role": "member"})
    copy = services.project_import(document=document, key="COPY", actor=None, missing_users="create")
    ghost = get_user_model().objects.get(username="ghost")
    assert not ghost.is_active and not ghost.has_usable_password()
    assert copy.memberships.filter(user=ghost, role="member").exists()


def test_a_malformed_row_is_refused_naming_where(world):
    document = exported(world.project)
    document["stories"][0]["state"] = "Backlog"
    error = refused(document)
    assert error.message.startswith("stories[0].state:")
    document = exported(world.project)
    document["events"][1]["at"] = "yesterday"
    assert refused(document).message.startswith("events[1].at:")
    document = exported(world.project)
    del document["sprints"][0]["start_seq"]
    assert refused(document).message == "sprints[0].start_seq: missing."


def test_a_log_with_a_gap_or_an_unknown_story_is_refused(world):
    document = exported(world.project)
    document["events"][1]["seq"] = 7
    assert "without gaps" in refused(document).message
    document = exported(world.project)
    document["events"][0]["story"] = 999_999
    assert "does not hold" in refused(document).message


def test_rows_that_disagree_with_their_log_are_refused_whole(world):
    document = exported(world.project)
    document["stories"][0]["title"] = "Not what the log says"
    error = refused(document)
    assert error.code == "log_mismatch" and "COPY-1 title" in error.message


def test_a_file_that_is_not_json_is_refused_saying_where():
    with pytest.raises(InvalidInput) as caught:
        services.document_load(b'{"format": "sprintboard-project",\n "version": }')
    assert caught.value.code == "parse_error" and "line 2" in caught.value.message
    with pytest.raises(InvalidInput, match="not text"):
        services.document_load(b"\xff\xfe{}")


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_export_reads_one_snapshot(world):
    """The command and the page call it outside any transaction: every table is read in one repeatable-read one."""
    document = services.project_export(world.project)
    assert len(document["events"]) == document["project"]["last_event_seq"] > 0


def test_what_a_jira_import_already_wrote_comes_along(world):
    """A re-import into the copy must not write the same source changes twice (apps.imports' watermark)."""
    mark = ImportedIssue.objects.create(story=world.story, last_change_at=world.story.created_at)
    copy = services.project_import(exported(world.project), "COPY", None)
    assert ImportedIssue.objects.get(story__project=copy).last_change_at == mark.last_change_at


def test_links_come_along_and_a_backup_from_before_links_still_imports(world, people):
    from apps.stories.models import StoryLink

    document = exported(world.project)
    del document["links"]  # written before story links
    assert services.project_import(document=document, key="OLD", actor=None).stories.count() == 2
    story_services.link_add(source=world.story, target=world.other_story, kind="blocks", actor=people["member"])
    copy = services.project_import(document=exported(world.project), key="COPY", actor=None)
    link = StoryLink.objects.get(source__project=copy)
    assert (link.source.key, link.target.key, link.kind, link.created_by) == (
        "COPY-1",
        "COPY-2",
        "blocks",
        people["member"],
    )
    event = StoryEvent.objects.get(story=link.target, kind="link")
    assert event.to_value == {
        "link": link.pk,
        "kind": "blocks",
        "direction": "inward",
        "story": link.source_id,
        "key": "COPY-1",
    }


def run_reported(deliverable, status: str, job: str = "dbt build"):
    from apps.deliverables import services as deliverable_services
    from sprintboard.pipelines import PipelineRun

    report = PipelineRun(source="dbt", external_id=f"inv-{status}", job=job, status=status, started_at=None,
                         finished_at=None, passed=3, failed=int(status == "failed"))  # fmt: skip
    return deliverable_services.pipeline_run_record(deliverable=deliverable, actor=None, report=report)[0]


def test_pipeline_runs_and_bindings_come_along_and_a_backup_from_before_them_still_imports(world, people):
    from apps.deliverables import services as deliverable_services

    deliverable_services.deliverable_update(
        deliverable=world.deliverable, actor=people["owner"], expected_interval_hours=6
    )
    deliverable_services.checklist_item_update(item=world.item, actor=people["owner"], bound_source="dbt")
    passed = run_reported(world.deliverable, "passed")  # ticks the bound item, the run as its evidence
    document = exported(world.project)
    old = json.loads(json.dumps(document))
    del old["pipeline_runs"], old["integration"]
    for deliverable in old["deliverables"]:
        for name in ("expected_interval_hours", "last_run_status", "last_run_at", "last_success_at", "flagged_at"):
            del deliverable[name]
        for item in deliverable["checklist"]:
            del item["bound_source"], item["bound_job"], item["evidence_run"]
    old["deliverable_events"] = [e for e in old["deliverable_events"] if e["kind"] != "run"]
    before = services.project_import(document=old, key="OLD", actor=None).deliverables.get()
    assert before.expected_interval_hours is None and not before.runs.exists()

    copy = services.project_import(document=document, key="COPY", actor=None).deliverables.get()
    run = copy.runs.get()
    assert (run.external_id, run.status, run.passed) == ("inv-passed", "passed", 3) and run.pk != passed.pk
    item = copy.checklist.get(text=world.item.text)
    assert (item.bound_source, item.done, item.evidence_run) == ("dbt", True, run)
    assert (copy.expected_interval_hours, copy.last_run_status, copy.last_success_at) == (
        6,
        "passed",
        world.deliverable.__class__.objects.get(pk=world.deliverable.pk).last_success_at,
    )
    assert copy.events.get(kind="run").to_value["run"] == run.pk


def test_malformed_pipeline_runs_and_integrations_are_refused_naming_where(world):
    run_reported(world.deliverable, "failed")
    document = exported(world.project)
    document["pipeline_runs"][0]["status"] = "green"
    assert refused(document).message.startswith("pipeline_runs[0].status:")
    document = exported(world.project)
    document["deliverables"][0]["checklist"][0]["evidence_run"] = 424242
    assert "does not hold" in refused(document).message
    document = exported(world.project)
    document["integration"] = {"opened_state": 424242, "merged_state": None, "slack_users": {}}
    assert refused(document).message.startswith("integration.opened_state:")
