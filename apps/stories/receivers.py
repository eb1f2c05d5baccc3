"""What stories do when an app above them deletes something their stories point at.

Those apps cannot import ours (dependencies point down), so they send a signal inside their transaction
and these receivers change the stories through the services, with their events.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from apps.deliverables.signals import deliverable_deleting
from apps.projects.signals import flow_definitions_changed, state_deleting
from apps.stories import services


@receiver(deliverable_deleting, dispatch_uid="stories-unlink-deliverable")
def unlink_deliverable(sender: Any, *, deliverable: Any, actor: Any, **kwargs: Any) -> None:
    services.stories_unlink_deliverable(deliverable=deliverable, actor=actor)


@receiver(state_deleting, dispatch_uid="stories-move-out-of-state")
def move_out_of_state(sender: Any, *, state: Any, move_to: Any, actor: Any, **kwargs: Any) -> None:
    services.stories_move_state(state=state, to=move_to, actor=actor)


@receiver(flow_definitions_changed, dispatch_uid="stories-rebuild-flow")
def rebuild_flow(sender: Any, *, project: Any, **kwargs: Any) -> None:
    services.flow_rebuild(project=project)


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="stories-unassign-deleted-user")
def unassign_deleted_user(sender: Any, *, instance: Any, **kwargs: Any) -> None:
    """A deleted user's stories would lose their assignee through SET_NULL, with no event: log it first."""
    services.stories_unassign_user(user=instance)
