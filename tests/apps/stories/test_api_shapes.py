"""The story's JSON, written out in ``StorySerializer.to_representation``, is what DRF's own loop over the declared
fields gives: the same keys in the same order and the same values, for every kind of story."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from apps.stories import services
from apps.stories.api import stories_with_relations
from apps.stories.serializers import StorySerializer

pytestmark = pytest.mark.django_db


def drf_own(story) -> dict:
    return serializers.ModelSerializer.to_representation(StorySerializer(story), story)


def as_json(data) -> bytes:
    """What the API sends (equal dicts can differ there: Decimal("0.5") == 0.5)."""
    return JSONRenderer().render(data)


@pytest.fixture
def stories(project, people, states):
    owner = people["owner"]
    sprint = services.sprint_create(project=project, actor=owner, name="Sprint 1")
    epic = services.epic_save(project=project, name="Churn")
    labels = [services.label_save(project=project, name=name) for name in ("zeta", "dbt", "Alpha")]
    make = services.story_create
    plain = make(project=project, actor=owner, title="Plain")
    full = make(
        project=project,
        actor=owner,
        title="Everything <b>set</b> é",
        description="A description\nover two lines",
        acceptance_criteria="- it works",
        kind="bug",
        points=Decimal("0.5"),
        sprint=sprint,
        epic=epic,
        labels=labels,
        assignee=people["member"],
        state=states["In progress"],
    )
    whole = make(project=project, actor=owner, title="Whole points", points=Decimal("3"), state=states["Done"])
    blocked = services.story_block(
        story=make(project=project, actor=owner, title="Blocked"), reason="Access", actor=owner
    )
    deleted = services.story_delete(story=make(project=project, actor=owner, title="Deleted"), actor=owner)
    return [plain, full, whole, blocked, deleted]


def test_the_written_out_json_is_drf_s_for_every_kind_of_story(stories):
    for found in stories_with_relations().filter(pk__in=[story.pk for story in stories]):
        written, generic = StorySerializer(found).data, drf_own(found)
        assert list(written) == list(generic) == list(StorySerializer().fields)
        assert as_json(written) == as_json(generic)
    assert StorySerializer(stories[1]).data["labels"] == ["Alpha", "dbt", "zeta"]


def test_a_list_of_stories_is_written_the_same_way(stories):
    found = list(stories_with_relations().filter(pk__in=[story.pk for story in stories]).order_by("pk"))
    assert as_json(StorySerializer(found, many=True).data) == as_json([drf_own(story) for story in found])
