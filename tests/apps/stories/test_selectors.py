"""The engine reads the database's log through engine_input; the demo history must make sense to it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.stories.models import Sprint, SprintStatus, Story, StoryEvent
from apps.stories.selectors import engine_input
from apps.web.demo import seed_demo
from sprintboard import flow, history, sprints

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    return seed_demo()


def test_the_engine_replays_the_demo_and_every_closed_sprint_reconciles(demo):
    data = engine_input(demo)
    assert data.watermark == demo.last_event_seq == len(data.events) == StoryEvent.objects.filter(project=demo).count()
    assert [e.seq for e in data.events] == list(range(1, data.watermark + 1))
    assert len(data.stories) == Story.objects.filter(project=demo).count()
    assert [s.category for s in data.workflow][0] == "backlog"
    now = timezone.now()
    replayed = history.replay(data.events, stories=data.stories, workflow=data.workflow, tz=data.timezone, as_of=now)
    report = flow.flow_report(replayed)
    assert report.percentiles["n"] > 0
    closed = [s for s in data.sprints if s.closed_at is not None]
    assert len(closed) == Sprint.objects.filter(project=demo, status=SprintStatus.CLOSED).count() == 6
    for sprint in closed:
        result = sprints.sprint_report(replayed, sprint=sprint, as_of=sprint.closed_at)
        assert result.identity.holds, (sprint.name, result.identity)
        assert result.completed_points > 0


def test_the_fast_event_read_equals_the_orm_read(demo):
    from apps.stories.models import StoryEvent
    from apps.stories.selectors import engine_events

    fast = [(e.seq, e.story_id, e.kind, e.at, e.to_value) for e in engine_events(demo)]
    orm = list(
        StoryEvent.objects.filter(project=demo).order_by("seq").values_list("seq", "story_id", "kind", "at", "to_value")
    )
    assert fast == orm
    assert {type(value) for *_, value in fast} >= {int, dict, str, type(None)}
