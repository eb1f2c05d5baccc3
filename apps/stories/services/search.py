"""The stories' search vectors: rewritten from the rows in the transaction of every change to their text.

Every writer of a story's title, description or acceptance criteria, or of its comments (the services,
the Jira/CSV importer, a backup's restore) calls ``story_search_update`` once, after its writes: one
``UPDATE`` for one story or a whole project. On SQLite (no full-text search) it does nothing.
"""

from __future__ import annotations

from collections.abc import Collection

from django.contrib.postgres.search import SearchVector
from django.db.models import Value
from django.db.models.functions import Coalesce, Left

from apps.core.search import CONFIG, is_postgres
from apps.stories.models import Story
from apps.stories.selectors import comments_text

# A story's comments count up to this many characters (the oldest first): a tsvector holds at most 1 MB.
COMMENTS_SEARCHED = 100_000
# The changes to a story that change what search finds in it.
SEARCHED_FIELDS = frozenset({"title", "description", "acceptance_criteria"})


def story_search_update(*, project_id: int, story_ids: Collection[int] | None = None) -> int:
    """Rewrite the search vector of ``story_ids`` (every story of the project when None); how many rows."""
    if not is_postgres():
        return 0
    stories = Story.objects.filter(project_id=project_id)
    if story_ids is not None:
        if not story_ids:
            return 0
        stories = stories.filter(pk__in=list(story_ids))
    comment_text = Left(Coalesce(comments_text(), Value("")), COMMENTS_SEARCHED)
    vector = (
        SearchVector("key", "title", weight="A", config=CONFIG)
        + SearchVector("description", "acceptance_criteria", weight="B", config=CONFIG)
        + SearchVector(comment_text, weight="C", config=CONFIG)
    )
    return stories.update(search_vector=vector)
