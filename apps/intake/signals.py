"""Signals the apps below may listen to; intake never imports its listeners.

``request_decided`` is sent inside the transaction of ``request_accept``, ``request_merge`` and
``request_decline``, with ``request=`` the decided Request (its ``status``, ``story``, ``merged_into`` and
``decline_reason`` set) and ``actor=`` who decided. A listener that acts outside the database defers its
work with ``transaction.on_commit``; one that writes rows must never fail the decision (apps.notifications
writes in a savepoint and logs its errors).
"""

from django.dispatch import Signal

request_decided = Signal()
