"""``verify_events``: clean after every kind of service call, and it catches any change that bypassed them.

Deleting (or merging) what stories point at — an epic, a label, a planned sprint, a deliverable, a
workflow state — is a change of each such story, deleted ones included: one event and a new version each.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.core.errors import Conflict
from apps.deliverables import services as deliverable_services
from apps.projects import services as project_services
from apps.projects.models import Project, WorkflowState
from apps.stories import services
from apps.stories.models import Epic, Label, Sprint, SprintStatus, Story, StoryEvent
from apps.stories.verification import verify_project

pytestmark = pytest.mark.django_db


def verify(*args: str) -> tuple[int, list[str]]:
    """Run ``verify_events``: its exit code and the lines it printed (stdout, then stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_events", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, (out.getvalue() + err.getvalue()).splitlines()


def assert_clean(*args: str) -> None:
    code, lines = verify(*args)
    assert code == 0 and lines[-1].endswith(": 0 mismatch(es)."), lines


def events_of(story: Story) -> list[tuple]:
    return list(
        StoryEvent.objects.filter(story=story).order_by("seq").values_list("kind", "field", "from_value", "to_value")
    )


def counts_and_versions(stories: list[Story]) -> dict[int, tuple[int, int]]:
    return {s.pk: (StoryEvent.objects.filter(story=s).count(), Story.objects.get(pk=s.pk).version) for s in stories}


def assert_one_event_and_version_each(
    before: dict[int, tuple[int, int]], changed: list[Story], unchanged: list[Story]
) -> None:
    after = counts_and_versions(changed + unchanged)
    for story in changed:
        assert after[story.pk] == (before[story.pk][0] + 1, before[story.pk][1] + 1), story.key
    for story in unchanged:
        assert after[story.pk] == before[story.pk], story.key


@pytest.fixture
def create(project, people):
    def make(title: str, **fields) -> Story:
        return services.story_create(project=project, actor=people["owner"], title=title, **fields)

    return make


@pytest.fixture
def deleted(people):
    def delete(story: Story) -> Story:
        return services.story_delete(story=story, actor=people["owner"])

    return delete


# --- Clean after the services ------------------------------------------------------------------


def test_it_is_clean_after_every_kind_of_service_call(project, people, states, create, deleted):
    owner = people["owner"]
    epic, other_epic = services.epic_save(project=project, name="CRM"), services.epic_save(project=project, name="ERP")
    dbt, etl, spare = (services.label_save(project=project, name=n) for n in ("dbt", "etl", "spare"))
    dataset = deliverable_services.deliverable_create(project=project, actor=owner, name="CRM dataset", kind="dataset")
    doomed = deliverable_services.deliverable_create(project=project, actor=owner, name="Scrapped", kind="dashboard")
    sprint = services.sprint_create(project=project, actor=owner)
    planned = services.sprint_create(project=project, actor=owner)
    a = create("A", points=3, epic=epic, labels=[dbt], assignee=people["member"], sprint=sprint, deliverable=dataset)
    b = create("B", state=states["In progress"], labels=[etl, dbt], epic=other_epic)
    c = create("C", placement=services.Placement(before=a), sprint=sprint)
    d = create("D", sprint=planned, deliverable=doomed, state=states["Validating"], labels=[spare])
    services.story_update(
        story=a,
        actor=owner,
        title="A, nightly",
        description="Longer",
        acceptance_criteria="Loads",
        kind="bug",
        points="2.5",
        state=states["In progress"],
        epic=other_epic,
        labels=[etl],
        assignee=people["owner"],
        sprint=None,
        deliverable=None,
    )
    services.story_update(story=a, actor=owner, sprint=sprint, deliverable=dataset, epic=epic, labels=[dbt, etl])
    services.story_block(story=b, reason="waiting for access", actor=owner)
    services.story_block(story=b, reason="upstream late", actor=owner)
    services.story_unblock(story=b, actor=owner)
    services.story_block(story=c, reason="needs review", actor=owner)
    services.story_change_state(story=b, state=states["Done"], actor=owner)
    services.story_change_state(story=b, state=states["In progress"], actor=owner)  # reopened
    services.story_move(story=b, actor=owner, placement=services.TOP)
    services.story_move(story=b, actor=owner, placement=services.Placement(after=a), sprint=sprint)
    deleted(c)
    services.story_restore(story=c, actor=owner)
    deleted(d)
    services.sprint_start(sprint=sprint, actor=owner)
    services.story_change_state(story=a, state=states["Done"], actor=owner)
    services.sprint_close(sprint=sprint, actor=owner, unfinished="backlog")
    services.epic_delete(epic=other_epic, actor=owner)
    services.epic_delete(epic=epic, actor=owner, into=services.epic_save(project=project, name="Merged"))
    services.label_save(project=project, label=dbt, name="dbt-core", actor=owner)
    services.label_delete(label=etl, actor=owner, into=dbt)
    services.label_delete(label=spare, actor=owner)
    services.sprint_delete(sprint=planned, actor=owner)
    deliverable_services.deliverable_delete(deliverable=doomed, actor=owner)
    project_services.state_delete(state=states["Validating"], move_to=states["Waiting"], actor=owner)
    create("E", state=states["Done"])

    assert_clean()
    assert_clean("--project", "DATA")
    assert list(verify_project(Project.objects.get(pk=project.pk))) == []


@pytest.mark.tampers_log
def test_it_checks_only_the_project_asked_for_and_names_an_unknown_one(project, create):
    create("A")
    Story.objects.filter(key="DATA-1").update(title="Changed behind the services")
    assert verify("--project", "OTHER")[0] == 0
    assert verify("--project", "DATA")[0] == 1
    with pytest.raises(CommandError, match="no project 'NOPE'"):
        call_command("verify_events", "--project", "NOPE", stdout=StringIO())


# --- Deleting or merging what stories point at: one event and one version per story ---------------


def test_deleting_an_epic_unlinks_its_stories_deleted_ones_too(project, people, create, deleted):
    epic, kept = services.epic_save(project=project, name="CRM"), services.epic_save(project=project, name="ERP")
    alive, gone, other = create("A", epic=epic), deleted(create("B", epic=epic)), create("C", epic=kept)
    before, epic_id = counts_and_versions([alive, gone, other]), epic.pk
    services.epic_delete(epic=epic, actor=people["owner"])
    assert_one_event_and_version_each(before, [alive, gone], [other])
    assert events_of(alive)[-1] == ("updated", "epic", epic_id, None) == events_of(gone)[-1]
    assert not Epic.objects.filter(pk=epic_id).exists()
    assert Story.objects.get(pk=gone.pk).epic_id is None
    assert_clean()


def test_merging_an_epic_moves_its_stories_to_the_other(project, people, create, deleted):
    epic, into = services.epic_save(project=project, name="CRM"), services.epic_save(project=project, name="ERP")
    alive, gone, already = create("A", epic=epic), deleted(create("B", epic=epic)), create("C", epic=into)
    before, epic_id = counts_and_versions([alive, gone, already]), epic.pk
    services.epic_delete(epic=epic, actor=people["owner"], into=into)
    assert_one_event_and_version_each(before, [alive, gone], [already])
    assert events_of(gone)[-1] == ("updated", "epic", epic_id, into.pk)
    assert set(Story.objects.filter(epic=into).values_list("key", flat=True)) == {"DATA-1", "DATA-2", "DATA-3"}
    assert_clean()


def test_deleting_a_label_removes_it_from_its_stories_deleted_ones_too(project, people, create, deleted):
    dbt, etl = services.label_save(project=project, name="dbt"), services.label_save(project=project, name="etl")
    both, gone, other = create("A", labels=[dbt, etl]), deleted(create("B", labels=[dbt])), create("C", labels=[etl])
    before, dbt_id = counts_and_versions([both, gone, other]), dbt.pk
    services.label_delete(label=dbt, actor=people["owner"])
    assert_one_event_and_version_each(before, [both, gone], [other])
    assert events_of(both)[-1] == ("updated", "labels", ["dbt", "etl"], ["etl"])
    assert events_of(gone)[-1] == ("updated", "labels", ["dbt"], [])
    assert not Label.objects.filter(pk=dbt_id).exists()
    assert_clean()


def test_merging_a_label_gives_its_stories_the_other_once(project, people, create, deleted):
    dbt, etl = services.label_save(project=project, name="dbt"), services.label_save(project=project, name="etl")
    both, gone, other = create("A", labels=[dbt, etl]), deleted(create("B", labels=[dbt])), create("C", labels=[etl])
    before = counts_and_versions([both, gone, other])
    services.label_delete(label=dbt, actor=people["owner"], into=etl)
    assert_one_event_and_version_each(before, [both, gone], [other])
    assert events_of(both)[-1] == ("updated", "labels", ["dbt", "etl"], ["etl"])
    assert events_of(gone)[-1] == ("updated", "labels", ["dbt"], ["etl"])
    assert set(Story.objects.filter(labels=etl).values_list("key", flat=True)) == {"DATA-1", "DATA-2", "DATA-3"}
    assert_clean()


def test_renaming_a_label_logs_the_new_name_on_its_stories(project, people, create, deleted):
    dbt, etl = services.label_save(project=project, name="dbt"), services.label_save(project=project, name="etl")
    both, gone, other = create("A", labels=[dbt, etl]), deleted(create("B", labels=[dbt])), create("C", labels=[etl])
    before = counts_and_versions([both, gone, other])
    services.label_save(project=project, label=dbt, name="dbt-core", actor=people["owner"])
    assert_one_event_and_version_each(before, [both, gone], [other])
    assert events_of(both)[-1] == ("updated", "labels", ["dbt", "etl"], ["dbt-core", "etl"])
    assert_clean()


def test_deleting_a_planned_sprint_sends_its_stories_to_the_backlog(project, people, create, deleted):
    planned, other_sprint = (
        services.sprint_create(project=project, actor=people["owner"]),
        services.sprint_create(project=project, actor=people["owner"]),
    )
    alive, gone, other = (
        create("A", sprint=planned),
        deleted(create("B", sprint=planned)),
        create("C", sprint=other_sprint),
    )
    before, sprint_id = counts_and_versions([alive, gone, other]), planned.pk
    services.sprint_delete(sprint=planned, actor=people["owner"])
    assert_one_event_and_version_each(before, [alive, gone], [other])
    assert events_of(alive)[-1] == ("sprint", "", sprint_id, None) == events_of(gone)[-1]
    assert not Sprint.objects.filter(pk=sprint_id).exists()
    assert_clean()


def test_a_started_sprint_cannot_be_deleted(project, people, create):
    sprint = services.sprint_create(project=project, actor=people["owner"])
    story = create("A", sprint=sprint)
    services.sprint_start(sprint=sprint, actor=people["owner"])
    with pytest.raises(Conflict, match="only a planned sprint"):
        services.sprint_delete(sprint=sprint, actor=people["owner"])
    assert Sprint.objects.get(pk=sprint.pk).status == SprintStatus.ACTIVE
    assert len(events_of(story)) == 1
    assert_clean()


def test_deleting_a_deliverable_unlinks_its_stories(project, people, create, deleted):
    owner = people["owner"]
    doomed = deliverable_services.deliverable_create(project=project, actor=owner, name="Scrapped", kind="dataset")
    kept = deliverable_services.deliverable_create(project=project, actor=owner, name="Kept", kind="dataset")
    alive, gone, other = (
        create("A", deliverable=doomed),
        deleted(create("B", deliverable=doomed)),
        create("C", deliverable=kept),
    )
    before, doomed_id = counts_and_versions([alive, gone, other]), doomed.pk
    deliverable_services.deliverable_delete(deliverable=doomed, actor=owner)
    assert_one_event_and_version_each(before, [alive, gone], [other])
    assert events_of(alive)[-1] == ("updated", "deliverable", doomed_id, None) == events_of(gone)[-1]
    assert_clean()


def test_deleting_a_state_moves_its_stories_first_deleted_ones_too(project, people, states, create, deleted):
    checking, waiting = states["Validating"], states["Waiting"]
    alive, gone, other = create("A", state=checking), deleted(create("B", state=checking)), create("C", state=waiting)
    before, checking_id = counts_and_versions([alive, gone, other]), checking.pk
    project_services.state_delete(state=checking, move_to=waiting, actor=people["owner"])
    assert_one_event_and_version_each(before, [alive, gone], [other])
    assert events_of(alive)[-1] == ("state", "", checking_id, waiting.pk) == events_of(gone)[-1]
    assert not WorkflowState.objects.filter(pk=checking_id).exists()
    moved = Story.objects.get(pk=gone.pk)
    assert moved.flow_state_since == StoryEvent.objects.filter(story=gone).latest("seq").at
    assert_clean()


def test_a_state_holding_only_deleted_stories_says_so_and_stays(project, people, states, create, deleted):
    deleted(create("A", state=states["Validating"]))
    with pytest.raises(Conflict, match=r"1 story \(1 of them deleted\)"):
        project_services.state_delete(state=states["Validating"], actor=people["owner"])
    assert WorkflowState.objects.filter(pk=states["Validating"].pk).exists()


# --- Changes behind the services are caught ---------------------------------------------------------


@pytest.fixture
def logged(project, people, states, create):
    """A story with a few events, and an epic and a sprint to point it at behind the services' back."""
    story = create("Ingest the CRM export", points=3)
    services.story_change_state(story=story, state=states["In progress"], actor=people["owner"])
    services.story_estimate(story=story, points=5, actor=people["owner"])
    services.story_update(story=story, actor=people["owner"], title="Ingest the CRM export nightly")
    create("Neighbour")
    assert_clean()
    return story


TAMPERING = {
    "epic": lambda project: {"epic": services.epic_save(project=project, name="Sneaky")},
    "sprint": lambda project: {"sprint": services.sprint_create(project=project, actor=None)},
    "points": lambda project: {"points": 8},
    "title": lambda project: {"title": "Renamed in psql"},
    "rank": lambda project: {"rank": "zz"},
    "flow_started_at": lambda project: {"flow_started_at": timezone.now() - timedelta(days=3)},
    "assignee": lambda project: {"assignee": project.memberships.get(user__username="member").user},
    "blocked": lambda project: {"blocked": True, "blocked_reason": "x"},
    "deleted": lambda project: {"deleted_at": timezone.now()},
}


@pytest.mark.tampers_log
@pytest.mark.parametrize("field", TAMPERING)
def test_a_row_changed_behind_the_services_is_reported(project, logged, field):
    Story.objects.filter(pk=logged.pk).update(**TAMPERING[field](project))
    code, lines = verify()
    assert code == 1
    assert any(line.startswith(f"DATA {logged.key} {field}: row ") for line in lines), lines
    assert lines[-1].endswith("mismatch(es).") and not lines[-1].endswith(": 0 mismatch(es).")


@pytest.mark.tampers_log
def test_a_label_changed_behind_the_services_is_reported(project, logged):
    logged.labels.add(services.label_save(project=project, name="sneaky"))
    code, lines = verify()
    assert code == 1
    assert f"DATA {logged.key} labels: row ['sneaky'], replayed []" in lines


@pytest.mark.tampers_log
def test_a_missing_event_is_a_gap_and_its_change_is_unexplained(project, logged):
    StoryEvent.objects.filter(story=logged, kind="points").delete()
    code, lines = verify()
    assert code == 1
    assert any(line.startswith("DATA - seq: ") for line in lines), lines
    assert f"DATA {logged.key} points: row 5, replayed 3" in lines


@pytest.mark.tampers_log
def test_a_last_event_seq_ahead_of_the_log_is_reported(project, logged):
    Project.objects.filter(pk=project.pk).update(last_event_seq=99)
    code, lines = verify()
    assert code == 1
    assert any(line.startswith("DATA - last_event_seq: row 99") for line in lines), lines


@pytest.mark.tampers_log
def test_an_event_earlier_than_the_one_before_is_reported(project, logged):
    events = list(StoryEvent.objects.filter(project=project).order_by("seq"))
    target = events[2]
    StoryEvent.objects.filter(pk=target.pk).update(at=events[1].at - timedelta(milliseconds=340))
    code, lines = verify()
    assert code == 1
    story = Story.objects.get(pk=target.story_id)
    assert any(line.startswith(f"DATA {story.key} at of seq {target.seq}: ") for line in lines), lines


@pytest.mark.tampers_log
def test_a_tampered_project_does_not_hide_a_clean_one(project, people, logged):
    other = Project.objects.get(key="OTHER")
    services.story_create(project=other, actor=people["outsider"], title="Elsewhere")
    StoryEvent.objects.filter(story=logged, kind="points").delete()
    assert verify("--project", "OTHER")[0] == 0
    code, lines = verify()
    assert code == 1 and not any(line.startswith("OTHER ") for line in lines[:-1]), lines
    assert lines[-1].startswith("2 project(s)")


# --- Rank: a rebalance is one event naming the keys it rewrote ----------------------------------------


def test_a_rebalance_writes_one_event_listing_the_keys_it_rewrote(project, people, create):
    stories = [create(f"S{i}") for i in range(6)]
    rebalances = 0
    for step in range(180):  # always into the same gap: keys would grow without a rebalance
        mover = stories[-1 - step % 2]
        ranks = dict(Story.objects.filter(project=project).values_list("key", "rank"))
        last_seq = Project.objects.get(pk=project.pk).last_event_seq
        services.story_move(story=mover, actor=people["owner"], placement=services.Placement(after=stories[0]))
        now = dict(Story.objects.filter(project=project).values_list("key", "rank"))
        changed = {key for key, rank in now.items() if rank != ranks[key] and key != mover.key}
        new = list(
            StoryEvent.objects.filter(project=project, seq__gt=last_seq)
            .order_by("seq")
            .values_list("story__key", "kind", "to_value")
        )
        assert new[0] == (mover.key, "rank", now[mover.key])
        if changed:
            rebalances += 1
            assert [kind for _, kind, _ in new] == ["rank", "rebalanced"] and new[1][0] == mover.key
            # The whole window it rewrote (a fresh key may equal the old one), with each key's new rank.
            listed = new[1][2]
            assert changed <= set(listed) and mover.key not in listed
            assert all(now[key] == rank for key, rank in listed.items())
        else:
            assert len(new) == 1
    assert rebalances >= 1
    assert_clean()


def test_a_rebalance_on_creation_is_logged_on_the_new_story(project, people, create):
    first = create("A")
    create("B")
    rebalanced = StoryEvent.objects.filter(project=project, kind="rebalanced")
    for _ in range(300):  # squeeze the gap just below A until it is exhausted
        create("filler", placement=services.Placement(after=first))
        if rebalanced.exists():
            break
    assert rebalanced.count() == 1
    for event in rebalanced:
        assert StoryEvent.objects.filter(story=event.story_id, seq=event.seq - 1, kind__in=("created", "rank")).exists()
    assert_clean()


# --- Time never goes back -------------------------------------------------------------------------------


def test_a_backdated_change_before_the_last_event_is_refused_and_changes_nothing(project, people, create):
    story = create("A")
    last = Project.objects.get(pk=project.pk)
    row = Story.objects.get(pk=story.pk)
    with pytest.raises(Conflict) as refused:
        services.story_update(
            story=story, actor=people["owner"], title="Backdated", at=last.last_event_at - timedelta(seconds=1)
        )
    assert refused.value.code == "out_of_order" and refused.value.field == "at"
    with pytest.raises(Conflict, match="write history oldest first"):
        services.story_create(
            project=project, actor=people["owner"], title="B", at=last.last_event_at - timedelta(microseconds=1)
        )
    after = Project.objects.get(pk=project.pk)
    assert (after.last_event_seq, after.last_event_at, after.last_story_number) == (
        last.last_event_seq,
        last.last_event_at,
        last.last_story_number,
    )
    assert Story.objects.get(pk=story.pk).title == "A" and Story.objects.get(pk=story.pk).version == row.version
    assert StoryEvent.objects.filter(project=project).count() == last.last_event_seq
    assert_clean()


def test_a_change_at_the_time_of_the_last_event_is_accepted(project, people, create):
    story = create("A")
    last = Project.objects.get(pk=project.pk).last_event_at
    services.story_update(story=story, actor=people["owner"], title="Same instant", at=last)
    assert StoryEvent.objects.filter(project=project).order_by("seq").last().at == last
    assert_clean()


def test_the_log_time_never_decreases_when_the_clock_goes_back(project, people, create, monkeypatch):
    story = create("A")
    last = Project.objects.get(pk=project.pk).last_event_at
    behind = last - timedelta(milliseconds=500)
    monkeypatch.setattr(timezone, "now", lambda: behind)  # another pod's clock, half a second behind
    services.story_update(story=story, actor=people["owner"], title="From a slow clock")
    assert StoryEvent.objects.filter(project=project).order_by("seq").last().at == last
    monkeypatch.undo()
    assert_clean()
