"""The only writers of stories and sprints.

Every change to a story locks the project row (which allocates story numbers
and event sequence numbers, and so serialises writers within a project),
then the story row, refuses a stale ``expected_version``, updates the row and
appends one ``StoryEvent`` per changed field, all in one transaction. The
row's flow projection (``sprintboard.projection``) is advanced in the same
row write.

A change's time is taken once the project's lock is held, so the log's time
never decreases with its sequence. Every function accepts an explicit ``at``
so the demo seed and importers can write true history; an ``at`` earlier
than the project's last event is refused (``Conflict``, code
``out_of_order``): history is written oldest first, never clamped silently.

A writer returns the row as it saved it (the instance it locked and read); the caller's instance is left
as it was, so callers use the returned one.

One module a concern: ``events`` (the lock, the time, the log), ``ranking`` (placements and rank
keys), ``stories``, ``taxonomy`` (epics and labels), ``sprints``, ``search`` (the stories' search
vectors, rewritten with their text) and ``links`` (links between stories). Import from this package.
"""

from apps.stories.selectors import BOTTOM, TOP, Placement
from apps.stories.services.events import (
    OWN_EVENT_KIND,
    UNLOGGED_VALUES,
    event_time,
    lock_project,
    value_name,
)
from apps.stories.services.links import link_add, link_remove, story_close_as_duplicate
from apps.stories.services.ranking import Spot
from apps.stories.services.search import SEARCHED_FIELDS, story_search_update
from apps.stories.services.sprints import (
    CARRY_OVER_DELAY,
    UNFINISHED_DESTINATIONS,
    next_sprint_dates,
    project_today,
    sprint_close,
    sprint_create,
    sprint_delete,
    sprint_start,
    sprint_update,
)
from apps.stories.services.stories import (
    EDITABLE_FIELDS,
    TEXT_FIELDS,
    UNSET,
    comment_add,
    comment_delete,
    comment_edit,
    flow_rebuild,
    stories_move,
    stories_move_state,
    stories_unassign_user,
    stories_unlink_deliverable,
    story_assign,
    story_block,
    story_change_state,
    story_create,
    story_delete,
    story_estimate,
    story_move,
    story_restore,
    story_unblock,
    story_update,
)
from apps.stories.services.taxonomy import (
    epic_delete,
    epic_save,
    label_delete,
    label_save,
)

__all__ = [
    "BOTTOM",
    "CARRY_OVER_DELAY",
    "EDITABLE_FIELDS",
    "OWN_EVENT_KIND",
    "Placement",
    "SEARCHED_FIELDS",
    "Spot",
    "TEXT_FIELDS",
    "TOP",
    "UNFINISHED_DESTINATIONS",
    "UNLOGGED_VALUES",
    "UNSET",
    "comment_add",
    "comment_delete",
    "comment_edit",
    "epic_delete",
    "epic_save",
    "event_time",
    "flow_rebuild",
    "label_delete",
    "label_save",
    "link_add",
    "link_remove",
    "lock_project",
    "value_name",
    "next_sprint_dates",
    "project_today",
    "sprint_close",
    "sprint_create",
    "sprint_delete",
    "sprint_start",
    "sprint_update",
    "stories_move",
    "stories_move_state",
    "stories_unassign_user",
    "stories_unlink_deliverable",
    "story_assign",
    "story_block",
    "story_change_state",
    "story_close_as_duplicate",
    "story_create",
    "story_delete",
    "story_estimate",
    "story_move",
    "story_restore",
    "story_search_update",
    "story_unblock",
    "story_update",
]
