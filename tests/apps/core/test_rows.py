"""``RowQuery``: one row by a unique column, read by a SELECT built once, equal to what the ORM reads."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from apps.core.rows import RowQuery
from apps.projects.models import Project
from apps.projects.selectors import ROLE_IN_PROJECT_SQL
from apps.stories import services
from apps.stories.models import Story

pytestmark = pytest.mark.django_db

WITH_RELATED = RowQuery(Story, related=("state", "sprint", "assignee"))


def values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_a_row_and_its_related_rows_equal_the_orms(project, people, states):
    owner = people["owner"]
    sprint = services.sprint_create(project=project, actor=owner)
    story = services.story_create(project=project, actor=owner, title="Load the orders", points=Decimal("2.5"))
    story = services.story_update(story=story, actor=owner, sprint=sprint, assignee=people["member"])
    story = services.story_block(story=story, actor=owner, reason="Waiting for access")
    orm = Story.objects.select_related("state", "sprint", "assignee").get(pk=story.pk)

    with CaptureQueriesContext(transaction.get_connection()) as queries:
        found = WITH_RELATED.get(story.pk)
        related = (found.state, found.sprint, found.assignee)  # cached with the row: no query
    assert len(queries) == 1
    assert found.get_deferred_fields() == orm.get_deferred_fields() == {"search_vector"}  # the manager's deferral
    assert values(found) == values(orm)
    assert found.points == Decimal("2.5") and found.flow_blocked_since is not None
    for mine, theirs in zip(related, (orm.state, orm.sprint, orm.assignee), strict=True):
        assert type(mine) is type(theirs) and values(mine) == values(theirs)
    assert not found._state.adding and found._state.db == "default"  # saved rows, as the ORM's are


def test_a_null_foreign_key_is_cached_as_none(project, people):
    story = services.story_create(project=project, actor=people["owner"], title="Unplanned")
    with CaptureQueriesContext(transaction.get_connection()) as queries:
        found = WITH_RELATED.get(story.pk)
        assert found.sprint is None and found.assignee is None
    assert len(queries) == 1


def test_by_another_unique_column_with_an_extra_column(project, people):
    story = services.story_create(project=project, actor=people["owner"], title="Keyed")
    by_key = RowQuery(Story, by="key", related=("project",), extra={"caller_role": ROLE_IN_PROJECT_SQL})
    found = by_key.get(story.key, people["member"].pk)
    assert found.pk == story.pk and found.project == project and found.caller_role == "member"
    assert by_key.get(story.key, people["outsider"].pk).caller_role is None
    assert by_key.get(story.key, None).caller_role is None
    assert by_key.first("NOPE-1", people["member"].pk) is None
    with pytest.raises(Story.DoesNotExist):
        by_key.get("NOPE-1", people["member"].pk)


@pytest.mark.django_db(transaction=True)  # outside the test's own transaction
def test_a_locking_query_needs_a_transaction(project):
    lock = RowQuery(Project, lock=True)
    with pytest.raises(TransactionManagementError):
        lock.get(project.pk)
    with transaction.atomic(), CaptureQueriesContext(transaction.get_connection()) as queries:
        assert values(lock.get(project.pk)) == values(Project.objects.get(pk=project.pk))
    assert queries[0]["sql"].endswith("FOR UPDATE OF t0")


def test_only_foreign_keys_can_be_related():
    with pytest.raises(TypeError, match="labels is not a foreign key"):
        RowQuery(Story, related=("labels",)).first(1)


def test_only_related_rows_that_are_always_there_are_locked_first():
    with pytest.raises(TypeError, match="not in related"):
        RowQuery(Story, related=("state",), lock_first=("project",))
    with pytest.raises(TypeError, match="sprint can be null"):
        RowQuery(Story, related=("sprint",), lock_first=("sprint",)).first(1)
