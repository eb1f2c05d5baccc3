"""Every pair of deliverable writes at once, over the API on the real PostgreSQL: no deadlock, no 500.

Each writer locks the project's row before the deliverable's (the story services' order too); before
that, publishing (project, then deliverable) deadlocked against checklist edits, retire and PATCH
(deliverable, then the project through the event's insert).
"""

from __future__ import annotations

import uuid
from itertools import combinations_with_replacement

import pytest
from rest_framework.test import APIClient

from apps.deliverables import services
from apps.deliverables.models import Deliverable
from apps.stories import services as story_services
from tests.apps.stories.test_concurrency import run_in_threads
from tests.sprintboard.pipeline_builders import dbt_passing

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _publish(client, d, item, story, states):
    return client.post(f"/api/v1/deliverables/{d.pk}/publish/")


def _retire(client, d, item, story, states):
    return client.post(f"/api/v1/deliverables/{d.pk}/retire/")


def _add_item(client, d, item, story, states):
    return client.post(f"/api/v1/deliverables/{d.pk}/checklist/", {"text": "Lineage documented"}, format="json")


def _tick(client, d, item, story, states):
    return client.patch(f"/api/v1/deliverables/{d.pk}/checklist/{item.pk}/", {"done": True}, format="json")


def _remove_item(client, d, item, story, states):
    return client.delete(f"/api/v1/deliverables/{d.pk}/checklist/{item.pk}/")


def _patch(client, d, item, story, states):
    return client.patch(f"/api/v1/deliverables/{d.pk}/", {"version": d.version, "description": "v2"}, format="json")


def _reopen_story(client, d, item, story, states):
    return client.patch(
        f"/api/v1/stories/{story.key}/", {"version": story.version, "state": states["In progress"].pk}, format="json"
    )


def _pipeline_run(client, d, item, story, states):
    """A passing dbt run: it ticks the open item, bound to dbt (a new run each call)."""
    body = dbt_passing()
    body["metadata"]["invocation_id"] = str(uuid.uuid4())
    return client.post(f"/api/v1/deliverables/{d.pk}/runs/", body, format="json")


WRITES = {
    "publish": _publish,
    "retire": _retire,
    "checklist add": _add_item,
    "checklist tick": _tick,
    "checklist remove": _remove_item,
    "patch": _patch,
    "linked story reopened": _reopen_story,
    "pipeline run": _pipeline_run,
}


@pytest.fixture
def almost_ready(project, people, states):
    """A validating deliverable with one open checklist item and a finished linked story (fresh each call)."""
    made = iter(range(1000))

    def make():
        n = next(made)
        deliverable = services.deliverable_create(
            project=project, actor=people["member"], name=f"Orders {n}", kind="dataset", status="validating"
        )
        *ticked, open_item = deliverable.checklist.order_by("position")
        for item in ticked:
            services.checklist_item_update(item=item, actor=people["member"], done=True)
        open_item = services.checklist_item_update(item=open_item, actor=people["member"], bound_source="dbt")
        story = story_services.story_create(
            project=project, actor=people["member"], title=f"Orders model {n}", deliverable=deliverable
        )
        story = story_services.story_change_state(story=story, state=states["Done"], actor=people["member"])
        return Deliverable.objects.get(pk=deliverable.pk), open_item, story

    return make


@pytest.mark.parametrize(("first", "second"), list(combinations_with_replacement(WRITES, 2)))
def test_two_deliverable_writes_at_once_end_in_success_or_a_conflict(first, second, almost_ready, people, states):
    deliverable, item, story = almost_ready()

    def write(index: int):
        client = APIClient()
        client.force_authenticate(people["member"])
        response = WRITES[(first, second)[index]](client, deliverable, item, story, states)
        return response.status_code

    codes = run_in_threads(2, write)
    assert all(isinstance(code, int) for code in codes), codes  # no exception escaped a view (a deadlock did)
    assert set(codes) <= {200, 201, 204, 404, 409}, codes  # 404: the item was removed by the other write
