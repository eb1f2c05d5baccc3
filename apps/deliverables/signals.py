"""Signals the apps below may listen to; deliverables never import their listeners.

``deliverable_deleting`` is sent inside ``deliverable_delete``'s transaction, with the project's row locked,
before the row goes: ``deliverable=`` the deliverable, ``actor=`` who deletes it. apps.stories unlinks its
stories through its services (one event each); a listener's error rolls the deletion back.

``deliverable_status_changed`` is sent inside the writing transaction each time a deliverable's status
changes (an edit, publish, retire), with ``deliverable=``, ``from_status=``, ``to_status=``, ``actor=`` and
``at=``. apps.webhooks and apps.notifications (its consumers, on publication and retirement) listen. A listener
that acts outside the database must defer that work with ``transaction.on_commit``; one that writes rows
must never fail the change (apps.notifications writes in a savepoint and logs its errors).
"""

from django.dispatch import Signal

deliverable_deleting = Signal()
deliverable_status_changed = Signal()
