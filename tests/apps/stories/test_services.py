from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from apps.core.errors import Conflict, InvalidInput, NotFound, StaleVersion
from apps.projects.models import WipPolicy
from apps.stories import selectors, services
from apps.stories.models import Sprint, SprintStatus, Story, StoryEvent

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def events_of(story):
    return list(
        StoryEvent.objects.filter(story=story).order_by("seq").values_list("kind", "field", "from_value", "to_value")
    )


@pytest.fixture
def story(project, people):
    return services.story_create(project=project, actor=people["member"], title="Ingest the CRM export", at=T0)


def test_create_allocates_keys_and_logs_a_snapshot(project, people, states):
    first = services.story_create(project=project, actor=people["member"], title="One", points=3, at=T0)
    second = services.story_create(
        project=project, actor=people["member"], title="Two", state=states["Ready"], assignee=people["member"], at=T0
    )
    assert (first.key, second.key) == ("DATA-1", "DATA-2")
    assert events_of(second) == [
        (
            "created",
            "",
            None,
            {
                "state": states["Ready"].pk,
                "sprint": None,
                "points": None,
                "assignee": "member",
                "title": "Two",
                "kind": "story",
                "epic": None,
                "labels": [],
                "deliverable": None,
                "rank": second.rank,
            },
        )
    ]
    assert list(StoryEvent.objects.filter(project=project).values_list("seq", flat=True)) == [1, 2]
    assert first.rank < second.rank


def test_changing_several_fields_writes_one_event_per_field(story, people, states):
    services.story_update(
        story=story,
        actor=people["member"],
        expected_version=1,
        at=T0,
        title="Ingest the CRM export nightly",
        state=states["In progress"],
        points="2.5",
        assignee=people["member"],
    )
    assert events_of(story)[1:] == [
        ("updated", "title", "Ingest the CRM export", "Ingest the CRM export nightly"),
        ("state", "", states["Backlog"].pk, states["In progress"].pk),
        ("points", "", None, 2.5),
        ("assignee", "", None, "member"),
    ]
    story.refresh_from_db()
    assert story.version == 2 and story.points == Decimal("2.5")


def test_an_unchanged_value_writes_nothing(story, people):
    services.story_update(story=story, actor=people["member"], expected_version=1, title=story.title)
    story.refresh_from_db()
    assert story.version == 1 and len(events_of(story)) == 1


def test_a_stale_version_changes_nothing(story, people, states):
    services.story_change_state(story=story, state=states["Ready"], actor=people["member"], expected_version=1)
    stale = Story.objects.get(pk=story.pk)
    stale.version = 1
    with pytest.raises(StaleVersion) as error:
        services.story_update(story=stale, actor=people["owner"], expected_version=1, title="Overwritten")
    assert error.value.extra == {"current_version": 2}
    story.refresh_from_db()
    assert story.title == "Ingest the CRM export" and story.version == 2
    assert len(events_of(story)) == 2


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"points": -1}, "points"),
        ({"points": "lots"}, "points"),
        ({"points": 1.25}, "points"),
        ({"title": "  "}, "title"),
        ({"kind": "epic"}, "kind"),
        ({"rank": "a"}, "rank"),
    ],
)
def test_bad_values_are_refused_and_change_nothing(story, people, fields, field):
    with pytest.raises(InvalidInput) as error:
        services.story_update(story=story, actor=people["member"], expected_version=1, **fields)
    assert error.value.field == field
    story.refresh_from_db()
    assert story.version == 1 and len(events_of(story)) == 1


def test_values_from_another_project_are_refused(story, project, people):
    other_state = project.other.states.first()
    with pytest.raises(InvalidInput, match="another project"):
        services.story_change_state(story=story, state=other_state, actor=people["member"])
    with pytest.raises(InvalidInput, match="not a member"):
        services.story_assign(story=story, assignee=people["outsider"], actor=people["member"])


def test_block_unblock_and_a_new_reason_start_new_intervals(story, people):
    services.story_block(story=story, reason="Waiting for warehouse access", actor=people["member"])
    services.story_block(story=story, reason="Waiting for warehouse access", actor=people["member"])
    services.story_block(story=story, reason="Schema changed upstream", actor=people["member"])
    services.story_unblock(story=story, actor=people["member"])
    assert [e[:4] for e in events_of(story)[1:]] == [
        ("blocked", "", None, "Waiting for warehouse access"),
        ("blocked", "", None, "Schema changed upstream"),
        ("unblocked", "", None, None),
    ]
    with pytest.raises(InvalidInput):
        services.story_block(story=story, reason=" ", actor=people["member"])


def test_delete_and_restore(story, people):
    services.story_delete(story=story, actor=people["member"], expected_version=1)
    with pytest.raises(NotFound):
        services.story_update(story=story, actor=people["member"], title="x")
    services.story_restore(story=story, actor=people["member"])
    assert [e[0] for e in events_of(story)] == ["created", "deleted", "restored"]
    assert Story.objects.alive().filter(pk=story.pk).exists()


def test_wip_limit_blocks_moves_into_a_full_column_under_the_block_policy(project, people, states):
    project.wip_policy = WipPolicy.BLOCK
    project.save()
    doing = states["In progress"]
    doing.wip_limit = 1
    doing.save()
    services.story_create(project=project, actor=people["member"], title="A", state=doing)
    waiting = services.story_create(project=project, actor=people["member"], title="B")
    with pytest.raises(Conflict, match="WIP limit of 1") as error:
        services.story_change_state(story=waiting, state=doing, actor=people["member"])
    assert error.value.code == "wip_limit"
    waiting.refresh_from_db()
    assert waiting.state == states["Backlog"] and waiting.version == 1


def backlog_keys(project):
    return list(
        Story.objects.filter(project=project)
        .filter(selectors.backlog_filter())
        .order_by("rank")
        .values_list("key", flat=True)
    )


def test_moves_write_one_rank_event_and_repeat_moves_write_nothing(project, people):
    a, b, c = (services.story_create(project=project, actor=people["owner"], title=t) for t in "ABC")
    services.story_move(story=c, actor=people["owner"], placement=services.TOP)
    services.story_move(story=c, actor=people["owner"], placement=services.TOP)
    services.story_move(story=a, actor=people["owner"], placement=services.Placement(before=b))
    assert backlog_keys(project) == ["DATA-3", "DATA-1", "DATA-2"]
    assert [e[0] for e in events_of(c)] == ["created", "rank"]
    with pytest.raises(InvalidInput, match="relative to itself"):
        services.story_move(story=a, actor=people["owner"], placement=services.Placement(after=a))


def test_exhausted_gaps_are_rebalanced_without_changing_the_order(project, people):
    stories = [services.story_create(project=project, actor=people["owner"], title=f"S{i}") for i in range(6)]
    for _ in range(90):  # always into the same gap: keys would grow without a rebalance
        services.story_move(story=stories[-1], actor=people["owner"], placement=services.Placement(after=stories[0]))
        services.story_move(story=stories[-2], actor=people["owner"], placement=services.Placement(after=stories[0]))
    ranks = list(Story.objects.filter(project=project).order_by("rank").values_list("rank", flat=True))
    assert len(set(ranks)) == len(ranks) and max(map(len, ranks)) <= 12


def replay(events):
    """An independent fold of a story's events back into its current facts."""
    facts = {}
    for kind, _field, _from, to in events:
        if kind == "created":
            facts = dict(to)
        elif kind in ("state", "sprint", "assignee", "points"):
            facts[kind] = to
    return facts


def test_replaying_the_events_reproduces_the_story(project, people, states):
    rng = random.Random(7)
    sprint = services.sprint_create(project=project, actor=people["owner"])
    stories = [services.story_create(project=project, actor=people["member"], title=f"S{i}", at=T0) for i in range(8)]
    for step in range(120):
        story = rng.choice(stories)
        choice = rng.randrange(5)
        at = T0 + timedelta(hours=step)
        if choice == 0:
            services.story_change_state(
                story=story, state=rng.choice(list(states.values())), actor=people["member"], at=at
            )
        elif choice == 1:
            services.story_assign(
                story=story,
                assignee=rng.choice([None, people["member"], people["owner"]]),
                actor=people["member"],
                at=at,
            )
        elif choice == 2:
            services.story_estimate(
                story=story, points=rng.choice([None, 1, 2, 3, 5, 0.5]), actor=people["member"], at=at
            )
        elif choice == 3:
            services.story_move(
                story=story, actor=people["owner"], placement=services.TOP, sprint=rng.choice([None, sprint]), at=at
            )
        else:
            services.story_block(story=story, reason=rng.choice(["data", "access"]), actor=people["member"], at=at)
    for story in Story.objects.filter(project=project).select_related("assignee"):
        expected = {
            "state": story.state_id,
            "sprint": story.sprint_id,
            "assignee": story.assignee.username if story.assignee else None,
            "points": selectors.points_value(story.points),
        }
        assert {field: replay(events_of(story))[field] for field in expected} == expected
    seqs = list(StoryEvent.objects.filter(project=project).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


# --- Sprints ---------------------------------------------------------------------


def test_sprints_follow_the_cadence(project, people):
    first = services.sprint_create(project=project, actor=people["owner"], start=date(2026, 3, 2))
    second = services.sprint_create(project=project, actor=people["owner"])
    assert (first.end, second.start, second.end) == (date(2026, 3, 15), date(2026, 3, 16), date(2026, 3, 29))
    assert second.name == "Sprint 2"
    with pytest.raises(InvalidInput, match="end before it starts"):
        services.sprint_create(project=project, actor=people["owner"], start=date(2026, 3, 2), end=date(2026, 3, 1))


def test_start_records_the_commitment_and_only_one_sprint_is_active(project, people):
    sprint = services.sprint_create(project=project, actor=people["owner"])
    story = services.story_create(project=project, actor=people["owner"], title="A", points=5, sprint=sprint, at=T0)
    started = services.sprint_start(sprint=sprint, actor=people["owner"], at=T0)
    assert started.status == SprintStatus.ACTIVE and started.started_at == T0
    assert started.commitment == [{"story": story.pk, "key": "DATA-1", "points": 5}]
    other = services.sprint_create(project=project, actor=people["owner"])
    with pytest.raises(Conflict, match="still active"):
        services.sprint_start(sprint=other, actor=people["owner"])
    with pytest.raises(Conflict, match="only the active sprint"):
        services.sprint_close(sprint=other, actor=people["owner"])
    with pytest.raises(Conflict, match="only a planned sprint"):
        services.sprint_start(sprint=sprint, actor=people["owner"])


def test_close_carries_unfinished_work_to_a_new_next_sprint(project, people, states):
    sprint = services.sprint_create(project=project, actor=people["owner"], start=date(2026, 3, 2))
    before = T0 - timedelta(hours=1)
    done = services.story_create(
        project=project, actor=people["owner"], title="Done", sprint=sprint, state=states["Done"], at=before
    )
    open_a = services.story_create(project=project, actor=people["owner"], title="A", sprint=sprint, at=before)
    open_b = services.story_create(
        project=project, actor=people["owner"], title="B", sprint=sprint, state=states["In progress"], at=before
    )
    services.sprint_start(sprint=sprint, actor=people["owner"], at=T0)
    services.sprint_close(sprint=sprint, actor=people["owner"], unfinished="next_sprint", at=T0 + timedelta(days=14))
    following = Sprint.objects.get(project=project, status=SprintStatus.PLANNED)
    assert following.start == date(2026, 3, 16)
    assert list(following.stories.order_by("rank").values_list("key", flat=True)) == [open_a.key, open_b.key]
    assert events_of(open_a)[1] == ("sprint", "", sprint.pk, following.pk)
    done.refresh_from_db()
    assert done.sprint == sprint
    with pytest.raises(Conflict, match="closed"):
        services.story_move(story=done, actor=people["owner"], placement=services.TOP, sprint=None)
    with pytest.raises(Conflict, match="closed"):
        services.story_move(story=open_a, actor=people["owner"], placement=services.TOP, sprint=sprint)


def test_close_to_the_backlog_puts_unfinished_work_on_top_in_order(project, people):
    backlog_story = services.story_create(project=project, actor=people["owner"], title="Old")
    sprint = services.sprint_create(project=project, actor=people["owner"])
    a = services.story_create(project=project, actor=people["owner"], title="A", sprint=sprint)
    b = services.story_create(project=project, actor=people["owner"], title="B", sprint=sprint)
    services.sprint_start(sprint=sprint, actor=people["owner"])
    services.sprint_close(sprint=sprint, actor=people["owner"], unfinished="backlog")
    assert backlog_keys(project) == [a.key, b.key, backlog_story.key]
    assert not Sprint.objects.filter(status=SprintStatus.PLANNED).exists()


def test_recategorising_a_state_rebuilds_the_flow_projection_from_the_log(project, people, states):
    from apps.projects import services as project_services

    story = services.story_create(project=project, actor=people["member"], title="A", state=states["Ready"], at=T0)
    services.story_change_state(
        story=story, state=states["In progress"], actor=people["member"], at=T0 + timedelta(days=2)
    )
    story = services.story_change_state(
        story=story, state=states["Done"], actor=people["member"], at=T0 + timedelta(days=3)
    )
    assert Story.objects.get(pk=story.pk).flow_cycle_days == 2
    project_services.state_update(state=states["Ready"], category="active")  # "Ready" now counts as started
    rebuilt = Story.objects.get(pk=story.pk)
    assert rebuilt.flow_started_at == T0 and rebuilt.flow_cycle_days == 4 and rebuilt.version == story.version


def test_a_new_time_zone_recounts_the_cycle_days_the_board_reads(project, people, states):
    from apps.projects import services as project_services

    story = services.story_create(
        project=project, actor=people["member"], title="A", state=states["In progress"], at=T0
    )
    services.story_change_state(
        story=story, state=states["Done"], actor=people["member"], at=T0 + timedelta(days=2, hours=14, minutes=30)
    )
    assert Story.objects.get(pk=story.pk).flow_cycle_days == 3  # Mon 09:00 to Wed 23:30, UTC
    project_services.project_update(project=project, timezone="Asia/Tokyo")
    assert Story.objects.get(pk=story.pk).flow_cycle_days == 4  # Mon 18:00 to Thu 08:30 in Tokyo
