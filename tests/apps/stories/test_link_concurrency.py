"""Links across two projects written at once from both sides on the real PostgreSQL: the project locks are taken
in one order (ascending id), so no writer deadlocks, the same link is never made twice, and both logs stay gapless."""

from __future__ import annotations

import pytest

from apps.core.errors import InvalidInput
from apps.projects import services as project_services
from apps.stories import services
from apps.stories.models import StoryEvent, StoryLink
from tests.apps.stories.test_concurrency import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_links_written_from_both_projects_at_once_never_deadlock_nor_duplicate(project, people):
    other = project_services.project_create(creator=people["member"], key="OPS", name="Platform")
    mine = [services.story_create(project=project, actor=people["member"], title=f"D{i}") for i in range(4)]
    theirs = [services.story_create(project=other, actor=people["member"], title=f"O{i}") for i in range(4)]

    def link(index: int):
        # Two threads per pair of stories: one links from DATA to OPS, the other from OPS to DATA (opposite lock
        # orders, if they were taken naively).
        pair = (mine[index // 2], theirs[index // 2])
        source, target = pair if index % 2 == 0 else pair[::-1]
        return services.link_add(source=source, target=target, kind="relates", actor=people["member"]).pk

    results = run_in_threads(8, link)
    made = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if not isinstance(r, int)]
    assert all(isinstance(r, InvalidInput) and r.field == "target" for r in refused), refused
    assert StoryLink.objects.count() == len(made) == 4  # one per pair of stories, whichever side won
    for each in (project, other):
        seqs = list(StoryEvent.objects.filter(project=each).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1))
        assert StoryEvent.objects.filter(project=each, kind="link").count() == 4
