"""Signals the apps below may listen to; deliverables never import their listeners.

``deliverable_deleting`` is sent inside ``deliverable_delete``'s transaction, with the project's row locked,
before the row goes: ``deliverable=`` the deliverable, ``actor=`` who deletes it. apps.stories unlinks its
stories through its services (one event each); a listener's error rolls the deletion back.
"""

from django.dispatch import Signal

deliverable_deleting = Signal()
