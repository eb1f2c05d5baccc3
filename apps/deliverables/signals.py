"""Signals the apps below may listen to; deliverables never import their listeners.

``deliverable_deleting`` is sent inside ``deliverable_delete``'s transaction, with the project's row locked,
before the row goes: ``deliverable=`` the deliverable, ``actor=`` who deletes it. apps.stories unlinks its
stories through its services (one event each); a listener's error rolls the deletion back.

``deliverable_status_changed`` is sent once a publication or a retirement has been committed, with
``deliverable=`` the deliverable (its new ``status``) and ``actor=`` who changed it (apps.notifications
tells its consumers); robust: a listener's error never undoes the change.
"""

from django.dispatch import Signal

deliverable_deleting = Signal()
deliverable_status_changed = Signal()
