"""A small project with one of everything, for API tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from apps.deliverables import services as deliverable_services
from apps.stories import services
from apps.stories.models import Epic, Label, Sprint, Story


@dataclass
class World:
    project: object
    story: Story
    other_story: Story
    epic: Epic
    label: Label
    sprint: Sprint
    empty_state: object
    doing_state: object
    deliverable: object = None  # a dataset in development, with its default checklist
    item: object = None  # its first checklist item


@pytest.fixture
def world(project, people, states, make_user):
    make_user("newbie")
    owner = people["owner"]
    epic = services.epic_save(project=project, name="CRM ingestion")
    label = services.label_save(project=project, name="dbt")
    story = services.story_create(project=project, actor=owner, title="Ingest CRM", points=3, epic=epic, labels=[label])
    other = services.story_create(project=project, actor=owner, title="Revenue dashboard")
    sprint = services.sprint_create(project=project, actor=owner)
    services.comment_add(story=story, author=people["member"], body="First!")
    deliverable = deliverable_services.deliverable_create(
        project=project, actor=owner, name="CRM dataset", kind="dataset", status="in_development"
    )
    item = deliverable.checklist.order_by("position").first()
    return World(
        project, story, other, epic, label, sprint, states["Won't do"], states["In progress"], deliverable, item
    )


@pytest.fixture
def client_for(people):
    def make(role: str | None) -> APIClient:
        client = APIClient()
        if role is not None:
            client.force_authenticate(people[role])
        return client

    return make
