from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from apps.core.errors import Conflict, InvalidInput, StaleVersion
from apps.deliverables import selectors, services
from apps.deliverables.models import DEFAULT_CHECKLISTS, ChecklistTemplate, Deliverable, DeliverableEvent
from apps.stories import services as story_services
from apps.stories.models import StoryEvent
from sprintboard import records

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def timeline(deliverable):
    return list(
        DeliverableEvent.objects.filter(deliverable=deliverable)
        .order_by("at", "id")
        .values_list("kind", "field", "from_value", "to_value")
    )


@pytest.fixture
def dataset(project, people):
    return services.deliverable_create(
        project=project,
        actor=people["member"],
        name="CRM customers",
        kind="dataset",
        owner=people["member"],
        consumers=[people["stakeholder"]],
        consumer_groups=["Finance", "Sales ops"],
        data_sources=["Salesforce"],
        status="in_development",
        at=T0,
    )


def tick_all(deliverable, user, at=None):
    for item in deliverable.checklist.all():
        services.checklist_item_update(item=item, actor=user, done=True, at=at)


# --- Creation and the checklist template -------------------------------------------------------------


def test_a_new_deliverable_copies_its_kinds_default_checklist_and_logs_its_creation(dataset, project, people):
    assert list(dataset.checklist.values_list("text", flat=True)) == list(DEFAULT_CHECKLISTS["dataset"])
    assert ChecklistTemplate.objects.get(project=project, kind="dataset").items == list(DEFAULT_CHECKLISTS["dataset"])
    assert timeline(dataset) == [
        ("created", "", None, {"name": "CRM customers", "kind": "dataset", "status": "in_development"})
    ]
    event = DeliverableEvent.objects.get(deliverable=dataset)
    assert (event.actor, event.at) == (people["member"], T0)


def test_an_edited_template_is_copied_into_new_deliverables_only(dataset, project, people):
    services.checklist_template_update(
        project=project, kind="dataset", items=["Schema documented", " ", "GDPR review", "GDPR review"]
    )
    assert selectors.template_items(project)["dataset"] == ["Schema documented", "GDPR review"]
    later = services.deliverable_create(project=project, actor=people["member"], name="Orders", kind="dataset")
    assert list(later.checklist.values_list("text", flat=True)) == ["Schema documented", "GDPR review"]
    assert dataset.checklist.count() == len(DEFAULT_CHECKLISTS["dataset"])


def test_templates_read_without_writing_and_every_kind_has_defaults(project):
    templates = selectors.template_items(project)
    assert set(templates) == set(DEFAULT_CHECKLISTS)
    assert all(items for items in templates.values())
    assert "Stakeholder sign-off" in templates["dashboard"] and "Model card written" in templates["ml_model"]
    assert ChecklistTemplate.objects.filter(project=project).count() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "  "}, "name"),
        ({"kind": "spreadsheet"}, "kind"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"link": "ftp://files.example.com/x"}, "link"),
        ({"status": "published"}, "status"),
        ({"consumer_groups": "Finance"}, "consumer_groups"),
        ({"target_date": "2026-03-01"}, "target_date"),
    ],
)
def test_creation_refuses_bad_values(project, people, fields, field):
    values = {"name": "Revenue", "kind": "dashboard", **fields}
    with pytest.raises(InvalidInput) as error:
        services.deliverable_create(project=project, actor=people["member"], **values)
    assert error.value.field == field
    assert not Deliverable.objects.exists()


def test_owner_and_consumers_must_be_members_and_names_are_unique(dataset, project, people):
    with pytest.raises(InvalidInput) as error:
        services.deliverable_create(
            project=project, actor=people["member"], name="X", kind="report", owner=people["outsider"]
        )
    assert error.value.field == "owner"
    with pytest.raises(InvalidInput):
        services.deliverable_create(
            project=project, actor=people["member"], name="X", kind="report", consumers=[people["outsider"]]
        )
    with pytest.raises(Conflict) as duplicate:
        services.deliverable_create(project=project, actor=people["member"], name="CRM customers", kind="report")
    assert duplicate.value.code == "duplicate"


# --- Edits and status -------------------------------------------------------------------------------------


def test_each_changed_field_is_an_event_and_a_status_change_records_who_and_when(dataset, people):
    later = T0 + timedelta(days=1)
    dataset = services.deliverable_update(
        deliverable=dataset,
        actor=people["owner"],
        expected_version=1,
        at=later,
        name="CRM customers v2",
        consumers=[people["stakeholder"], people["owner"]],
        target_date=date(2026, 4, 1),
        status="validating",
        description="Long text",
    )
    assert dataset.version == 2
    kinds = {(kind, field): (old, new) for kind, field, old, new in timeline(dataset)[1:]}
    assert kinds == {
        ("updated", "name"): ("CRM customers", "CRM customers v2"),
        ("updated", "consumers"): (["stakeholder"], ["owner", "stakeholder"]),
        ("updated", "target_date"): (None, "2026-04-01"),
        ("updated", "description"): (None, None),
        ("status", ""): ("in_development", "validating"),
    }
    status = DeliverableEvent.objects.get(deliverable=dataset, kind="status")
    assert (status.actor, status.at) == (people["owner"], later)


def test_a_stale_version_changes_nothing(dataset, people):
    services.deliverable_update(deliverable=dataset, actor=people["member"], expected_version=1, description="x")
    with pytest.raises(StaleVersion):
        services.deliverable_update(deliverable=dataset, actor=people["member"], expected_version=1, name="Lost update")
    assert Deliverable.objects.get(pk=dataset.pk).name == "CRM customers"


def test_an_unchanged_value_writes_nothing(dataset, people):
    services.deliverable_update(
        deliverable=dataset, actor=people["member"], name="CRM customers", consumer_groups=["Finance", "Sales ops"]
    )
    assert dataset.version == 1 and len(timeline(dataset)) == 1


# --- Publish and retire --------------------------------------------------------------------------------------


def test_publishing_is_refused_naming_each_open_item_and_unfinished_story(dataset, project, people, states):
    story = story_services.story_create(
        project=project, actor=people["member"], title="Model dim_customer", deliverable=dataset
    )
    services.checklist_item_update(item=dataset.checklist.first(), actor=people["member"], done=True)
    with pytest.raises(services.PublishRefused) as refused:
        services.deliverable_publish(deliverable=dataset, actor=people["member"])
    errors = refused.value.errors()
    open_items = list(dataset.checklist.filter(done=False))
    assert [e["field"] for e in errors] == [f"checklist[{i.pk}]" for i in open_items] + [f"stories[{story.key}]"]
    assert all(i.text in e["message"] for i, e in zip(open_items, errors, strict=False))
    assert story.key in errors[-1]["message"] and "Backlog" in errors[-1]["message"]
    assert Deliverable.objects.get(pk=dataset.pk).status == "in_development"


def test_cancelled_and_deleted_stories_do_not_hold_publication_but_unfinished_ones_do(dataset, project, people, states):
    member = people["member"]
    done = story_services.story_create(
        project=project, actor=member, title="Done", deliverable=dataset, state=states["Done"]
    )
    story_services.story_create(
        project=project, actor=member, title="Dropped", deliverable=dataset, state=states["Won't do"]
    )
    gone = story_services.story_create(project=project, actor=member, title="Gone", deliverable=dataset)
    story_services.story_delete(story=gone, actor=member)
    waiting = story_services.story_create(
        project=project, actor=member, title="Waiting", deliverable=dataset, state=states["Waiting"]
    )
    tick_all(dataset, member, at=T0)
    assert [s.key for s in selectors.publish_blockers(dataset).unfinished_stories] == [waiting.key]
    story_services.story_change_state(story=waiting, state=states["Done"], actor=member)
    published = services.deliverable_publish(deliverable=dataset, actor=member, at=T0 + timedelta(days=3))
    assert (published.status, published.published_at) == ("published", T0 + timedelta(days=3))
    assert timeline(dataset)[-1] == ("status", "", "in_development", "published")
    assert done.key in [s.key for s in selectors.linked_stories(dataset)]


def test_publish_needs_development_started_and_happens_once(project, people):
    proposed = services.deliverable_create(project=project, actor=people["member"], name="Idea", kind="analysis")
    tick_all(proposed, people["member"])
    with pytest.raises(Conflict) as error:
        services.deliverable_publish(deliverable=proposed, actor=people["member"])
    assert error.value.code == "bad_transition"
    services.deliverable_change_status(deliverable=proposed, status="validating", actor=people["member"])
    services.deliverable_publish(deliverable=proposed, actor=people["member"])
    with pytest.raises(Conflict):
        services.deliverable_publish(deliverable=proposed, actor=people["member"])
    with pytest.raises(Conflict):
        services.deliverable_change_status(deliverable=proposed, status="in_development", actor=people["member"])


def test_retire_works_from_any_status_and_freezes_the_deliverable(dataset, people):
    retired = services.deliverable_retire(deliverable=dataset, actor=people["member"], at=T0 + timedelta(hours=2))
    assert (retired.status, retired.retired_at) == ("retired", T0 + timedelta(hours=2))
    for attempt in (
        lambda: services.deliverable_retire(deliverable=dataset, actor=people["member"]),
        lambda: services.deliverable_publish(deliverable=dataset, actor=people["member"]),
        lambda: services.deliverable_update(deliverable=dataset, actor=people["member"], name="Zombie"),
        lambda: services.checklist_item_update(item=dataset.checklist.first(), actor=people["member"], done=True),
        lambda: services.checklist_item_add(deliverable=dataset, actor=people["member"], text="More"),
        lambda: services.deliverable_delete(deliverable=dataset, actor=people["member"]),
    ):
        with pytest.raises(Conflict):
            attempt()


def test_a_deliverable_that_never_went_out_can_be_deleted_and_its_stories_stay(dataset, project, people):
    story = story_services.story_create(project=project, actor=people["member"], title="Keep me", deliverable=dataset)
    services.deliverable_delete(deliverable=dataset, actor=people["member"])
    story.refresh_from_db()
    assert story.deliverable_id is None and not Deliverable.objects.exists()


# --- Checklist items -------------------------------------------------------------------------------------------


def test_ticking_records_who_and_when_and_unticking_clears_it(dataset, people):
    item = dataset.checklist.first()
    services.checklist_item_update(
        item=item, actor=people["stakeholder"], done=True, evidence_url="https://ci.example.com/run/7", at=T0
    )
    item.refresh_from_db()
    assert (item.done, item.ticked_by, item.ticked_at, item.evidence_url) == (
        True,
        people["stakeholder"],
        T0,
        "https://ci.example.com/run/7",
    )
    services.checklist_item_update(item=item, actor=people["member"], done=True, at=T0 + timedelta(hours=1))
    item.refresh_from_db()
    assert (item.ticked_by, item.ticked_at) == (people["stakeholder"], T0)  # ticking again changes nothing
    services.checklist_item_update(item=item, actor=people["member"], done=False)
    item.refresh_from_db()
    assert (item.done, item.ticked_by, item.ticked_at) == (False, None, None)
    kinds = [kind for kind, *_ in timeline(dataset)]
    assert kinds == ["created", "item_ticked", "item_unticked"]  # the evidence came with the tick: one event


def test_items_are_added_assigned_and_removed_with_events(dataset, people):
    item = services.checklist_item_add(
        deliverable=dataset, actor=people["member"], text="PII reviewed", assignee=people["stakeholder"]
    )
    assert item.position == len(DEFAULT_CHECKLISTS["dataset"]) and item.assignee == people["stakeholder"]
    with pytest.raises(InvalidInput):
        services.checklist_item_update(item=item, actor=people["member"], assignee=people["outsider"])
    with pytest.raises(InvalidInput):
        services.checklist_item_update(item=item, actor=people["member"], evidence_url="not a url")
    with pytest.raises(InvalidInput):
        services.checklist_item_add(deliverable=dataset, actor=people["member"], text="")
    services.checklist_item_update(item=item, actor=people["member"], assignee=None)
    assert timeline(dataset)[-1] == (
        "item_updated",
        "assignee",
        {"item": "PII reviewed", "assignee": "stakeholder"},
        {"item": "PII reviewed", "assignee": None},
    )
    services.checklist_item_remove(item=item, actor=people["member"])
    assert [k for k, *_ in timeline(dataset)] == ["created", "item_added", "item_updated", "item_removed"]
    assert timeline(dataset)[-1][2] == "PII reviewed"


def test_a_published_deliverables_checklist_is_frozen(dataset, people):
    tick_all(dataset, people["member"])
    services.deliverable_publish(deliverable=dataset, actor=people["member"])
    with pytest.raises(Conflict):
        services.checklist_item_update(item=dataset.checklist.first(), actor=people["member"], done=False)


def test_only_members_or_the_assigned_stakeholder_may_change_an_item(dataset, project, people):
    from apps.projects.models import Membership

    item = dataset.checklist.first()
    stakeholder = Membership.objects.get(project=project, user=people["stakeholder"])
    member = Membership.objects.get(project=project, user=people["member"])
    assert selectors.may_change_item(member, item, {"text"})
    assert not selectors.may_change_item(stakeholder, item, {"done"})
    item.assignee = people["stakeholder"]
    assert selectors.may_change_item(stakeholder, item, {"done", "evidence_url"})
    assert not selectors.may_change_item(stakeholder, item, {"done", "text"})
    assert not selectors.may_change_item(None, item, {"done"})


# --- Progress, the story link and the engine's records ------------------------------------------------------------


def test_progress_counts_stories_and_points_done_without_cancelled_or_deleted(dataset, project, people, states):
    member = people["member"]
    story_services.story_create(
        project=project, actor=member, title="A", points=3, deliverable=dataset, state=states["Done"]
    )
    story_services.story_create(project=project, actor=member, title="B", points=5, deliverable=dataset)
    story_services.story_create(
        project=project, actor=member, title="C", points=8, deliverable=dataset, state=states["Won't do"]
    )
    gone = story_services.story_create(project=project, actor=member, title="D", points=13, deliverable=dataset)
    story_services.story_delete(story=gone, actor=member)
    services.checklist_item_update(item=dataset.checklist.first(), actor=member, done=True)
    progress = selectors.progress_by_deliverable([dataset.pk])[dataset.pk]
    assert (progress.stories_done, progress.stories_total, progress.points_done, progress.points_total) == (1, 2, 3, 8)
    assert (progress.items_done, progress.items_total, progress.percent) == (1, 4, 38)


def test_linking_a_story_is_an_updated_event_with_the_ids_and_stays_in_the_project(dataset, project, people):
    story = story_services.story_create(project=project, actor=people["member"], title="Link me")
    story_services.story_update(story=story, actor=people["member"], expected_version=1, deliverable=dataset)
    last = StoryEvent.objects.filter(story=story).order_by("-seq").first()
    assert (last.kind, last.field, last.from_value, last.to_value) == ("updated", "deliverable", None, dataset.pk)
    elsewhere = services.deliverable_create(
        project=project.other, actor=people["outsider"], name="Other", kind="report"
    )
    with pytest.raises(InvalidInput) as error:
        story_services.story_update(story=story, actor=people["member"], deliverable=elsewhere)
    assert error.value.field == "deliverable"
    assert selectors.story_links(project) == {story.pk: dataset.pk}


def test_the_engine_sees_status_history_and_publication(dataset, people):
    tick_all(dataset, people["member"])
    services.deliverable_change_status(
        deliverable=dataset, status="validating", actor=people["member"], at=T0 + timedelta(days=1)
    )
    services.deliverable_publish(deliverable=dataset, actor=people["member"], at=T0 + timedelta(days=2))
    (record,) = selectors.engine_deliverables(dataset.project)
    assert record == records.Deliverable(
        id=dataset.pk,
        name="CRM customers",
        kind="dataset",
        published_at=T0 + timedelta(days=2),
        retired_at=None,
        status_history=(
            records.DeliverableStatus(T0, "in development"),
            records.DeliverableStatus(T0 + timedelta(days=1), "validating"),
            records.DeliverableStatus(T0 + timedelta(days=2), "published"),
        ),
    )


def test_late_means_past_the_target_date_and_not_out_yet(dataset, people):
    dataset.target_date = date(2026, 3, 1)
    assert selectors.is_late(dataset, today=date(2026, 3, 2))
    assert not selectors.is_late(dataset, today=date(2026, 3, 1))
    dataset.status = "published"
    assert not selectors.is_late(dataset, today=date(2026, 3, 2))


def test_the_dataops_fingerprint_changes_when_a_deliverable_is_published(dataset, people):
    before = selectors.dataops_fingerprint(dataset.project)
    assert selectors.dataops_fingerprint(dataset.project) == before
    tick_all(dataset, people["member"])
    assert selectors.dataops_fingerprint(dataset.project) == before  # ticking does not change the metrics
    services.deliverable_publish(deliverable=dataset, actor=people["member"])
    assert selectors.dataops_fingerprint(dataset.project) != before
