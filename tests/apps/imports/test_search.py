"""An import's stories are found by search as soon as it commits (their vectors are written with them)."""

from __future__ import annotations

import pytest

from apps.imports import services
from apps.stories.models import Story
from apps.web import selectors
from tests.apps.imports.conftest import history_issues
from tests.sprintboard import jira_builders as jb

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_imported_stories_are_found_by_their_title_and_description(project, people, jira_people):
    services.import_files_now(
        project=project, actor=people["owner"], source="jira", files=jb.server_pages(history_issues())
    )
    one = Story.objects.get(project=project, external_key="JRA-1")
    hits = selectors.search_all(project_ids=[project.pk], text="orders nightly", kinds=["story"]).hits
    assert [hit.key for hit in hits] == [one.key]
    assert "<mark>orders</mark>" in hits[0].highlight.lower()
