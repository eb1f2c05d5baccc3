"""The data migrations that mend existing logs: run on rows shaped as older versions wrote them."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps

from apps.projects.models import Project
from apps.stories import services
from apps.stories.models import Story, StoryEvent
from apps.stories.verification import verify_project

mend = importlib.import_module("apps.stories.migrations.0006_mend_event_order_and_backfill_flow")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.tampers_log  # rewinds times and clears the projection, as the code before the fix left them
def test_inverted_times_are_raised_to_their_predecessor_and_the_projection_is_backfilled(project, people, states):
    label = services.label_save(project=project, name="etl")
    story = services.story_create(project=project, actor=people["member"], title="Load", at=T0)
    services.story_update(story=story, actor=people["member"], labels=[label], at=T0 + timedelta(hours=1))
    services.story_change_state(
        story=story, state=states["In progress"], actor=people["member"], at=T0 + timedelta(hours=2)
    )
    services.story_block(story=story, reason="access", actor=people["member"], at=T0 + timedelta(hours=3))
    services.story_change_state(story=story, state=states["Done"], actor=people["member"], at=T0 + timedelta(hours=4))
    # What concurrent writers left before the fix: a later seq earlier in time; and no projection yet.
    StoryEvent.objects.filter(project=project, seq=4).update(at=T0 + timedelta(hours=1, minutes=30))
    Story.objects.filter(pk=story.pk).update(flow_state_since=None, flow_started_at=None, flow_finished_at=None)
    Project.objects.filter(pk=project.pk).update(last_event_at=None)
    assert any("at of seq 4" in str(m) for m in verify_project(project))

    mend._mend_project(apps, Project.objects.get(pk=project.pk))

    times = list(StoryEvent.objects.filter(project=project).order_by("seq").values_list("at", flat=True))
    assert times == sorted(times) and times[3] == T0 + timedelta(hours=2)
    story.refresh_from_db()
    assert (story.flow_started_at, story.flow_finished_at) == (T0 + timedelta(hours=2), T0 + timedelta(hours=4))
    assert story.flow_blocked_since == T0 + timedelta(hours=2)
    assert list(verify_project(project)) == []


ranks = importlib.import_module("apps.stories.migrations.0010_record_legacy_rank_rewrites")


@pytest.mark.tampers_log  # rewrites ranks without events, as rebalances did before the fix
def test_rank_keys_rewritten_without_events_are_recorded_in_one_appended_event(project, people):
    first = services.story_create(project=project, actor=people["member"], title="A", at=T0)
    second = services.story_create(project=project, actor=people["member"], title="B", at=T0)
    Story.objects.filter(pk=first.pk).update(rank="a0")
    Story.objects.filter(pk=second.pk).update(rank="a1")
    before = Project.objects.get(pk=project.pk).last_event_seq
    assert any(m.field == "rank" for m in verify_project(project))

    ranks._record_project(apps, Project.objects.get(pk=project.pk))

    added = StoryEvent.objects.filter(project=project, seq__gt=before)
    assert [(e.kind, e.to_value) for e in added] == [("rebalanced", {"DATA-1": "a0", "DATA-2": "a1"})]
    assert list(verify_project(project)) == []
