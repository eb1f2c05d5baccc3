"""Signals other apps may listen to; stories never import their listeners.

``sprint_closed`` is sent once a sprint's close has been committed, with ``sprint=`` the closed Sprint
(apps.reports queues the sprint report as of the close).
"""

from django.dispatch import Signal

sprint_closed = Signal()
