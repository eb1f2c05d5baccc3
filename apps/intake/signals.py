"""Signals the apps below may listen to; intake never imports its listeners.

Both are sent inside the writing transaction; a listener that acts outside the database (a webhook) must
defer that work with ``transaction.on_commit``.

``request_submitted``: a request was submitted, with ``request=`` the new Request.
``request_triaged``: an open request was accepted, merged or declined, with ``request=`` (its ``status`` says
which) and ``actor=`` who decided.
"""

from django.dispatch import Signal

request_submitted = Signal()
request_triaged = Signal()
