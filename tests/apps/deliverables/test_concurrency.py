"""Concurrent writers on the real PostgreSQL: no lost update, and no publication past a story reopened at the same moment."""

from __future__ import annotations

import pytest

from apps.core.errors import Conflict, StaleVersion
from apps.deliverables import services
from apps.deliverables.models import Deliverable, DeliverableEvent
from apps.stories import services as story_services
from apps.stories.models import Story
from tests.apps.stories.test_concurrency import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ready(project, people, states):
    deliverable = services.deliverable_create(
        project=project, actor=people["member"], name="Orders", kind="dataset", status="validating"
    )
    for item in deliverable.checklist.all():
        services.checklist_item_update(item=item, actor=people["member"], done=True)
    story = story_services.story_create(
        project=project, actor=people["member"], title="Orders model", deliverable=deliverable, state=states["Done"]
    )
    return deliverable, story


def test_concurrent_edits_of_one_version_let_exactly_one_win(ready, people):
    deliverable, _ = ready

    def edit(index: int):
        fresh = Deliverable.objects.get(pk=deliverable.pk)
        return services.deliverable_update(
            deliverable=fresh, actor=people["member"], expected_version=1, name=f"Edit {index}"
        ).name

    results = run_in_threads(6, edit)
    assert len([r for r in results if isinstance(r, str)]) == 1
    assert all(isinstance(r, StaleVersion) for r in results if not isinstance(r, str))


def test_publishing_twice_at_once_publishes_once(ready, people):
    deliverable, _ = ready
    results = run_in_threads(
        4,
        lambda i: (
            services.deliverable_publish(
                deliverable=Deliverable.objects.get(pk=deliverable.pk), actor=people["member"]
            ).status
        ),
    )
    assert results.count("published") == 1 and all(isinstance(r, Conflict) for r in results if r != "published")
    assert DeliverableEvent.objects.filter(deliverable=deliverable, kind="status", to_value="published").count() == 1


def test_a_story_reopened_while_publishing_either_blocks_it_or_comes_after_it(ready, people, states):
    deliverable, story = ready

    def work(index: int):
        if index == 0:
            return services.deliverable_publish(
                deliverable=Deliverable.objects.get(pk=deliverable.pk), actor=people["member"]
            ).published_at
        fresh = Story.objects.get(pk=story.pk)
        return story_services.story_change_state(
            story=fresh, state=states["In progress"], actor=people["member"]
        ).updated_at

    published_at, reopened_at = run_in_threads(2, work)
    if isinstance(published_at, services.PublishRefused):
        assert [s.key for s in published_at.blockers.unfinished_stories] == [story.key]
    else:  # published first: the reopen came after the publication, never before it
        assert published_at <= reopened_at
