"""Signals other apps may listen to; stories never import their listeners.

``sprint_closed`` is sent once a sprint's close has been committed, with ``sprint=`` the closed Sprint and
``actor=`` who closed it (apps.reports queues the sprint report as of the close).

``comment_added`` is sent once a comment has been saved, with ``comment=`` the Comment (its story and author
loaded); a listener's error is logged, never the commenter's (apps.notifications: watchers, mentions).

``sprint_started`` is sent once a sprint's start has been committed, with ``sprint=`` the started Sprint and
``actor=`` who started it (apps.webhooks tells the project's webhooks; apps.notifications its members).

``events_appended`` is sent inside the writing transaction each time story events are appended, with
``project_id=`` and ``first_seq=``/``last_seq=`` the range written, and (from the services) ``kinds=`` the
event kinds in it, so a listener can skip a write it has nothing to say about without reading the log (absent:
any kind) and ``project=`` the Project row read under its lock, so its flags (``webhooks_active``) are current
(absent: read them), ``stories=`` the Story rows as written, by primary key (with whatever relations the
service had read), and ``actor=`` who made the change (absent: read them from the log). A listener that acts
outside the database (a webhook, a notification) must defer its work with ``transaction.on_commit``.
"""

from django.dispatch import Signal

sprint_closed = Signal()
sprint_started = Signal()
comment_added = Signal()
events_appended = Signal()
