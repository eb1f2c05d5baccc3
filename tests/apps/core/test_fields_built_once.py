"""``FieldsBuiltOnce``: a ModelSerializer's fields built once per class, each instance with its own bound copy."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from apps.stories import services
from apps.stories.models import Story
from apps.stories.serializers import StorySerializer

pytestmark = pytest.mark.django_db


class BuiltEachTime(serializers.ModelSerializer):
    """StorySerializer's shape, built as DRF does, for every instance."""

    class Meta(StorySerializer.Meta):
        pass


BuiltEachTime._declared_fields = StorySerializer._declared_fields
for name in ("get_points", "get_labels", "get_assignee"):
    setattr(BuiltEachTime, name, getattr(StorySerializer, name))


def test_the_json_is_the_same_and_each_instance_binds_its_own_fields(project, people):
    story = services.story_create(project=project, actor=people["owner"], title="Orders")
    story = Story.objects.select_related("project", "state", "assignee").get(pk=story.pk)
    first, second = StorySerializer(story), StorySerializer(story)
    assert first.data == second.data == BuiltEachTime(story).data
    assert first.fields["title"] is not second.fields["title"]
    assert first.fields["title"].parent is first and second.fields["title"].parent is second
    assert "_built_fields" in StorySerializer.__dict__  # built once, kept on the class
