"""Signals other apps may listen to; webhooks never import their listeners.

``webhook_disabled`` is sent when a webhook whose deliveries failed for ``WEBHOOK_DISABLE_AFTER_HOURS`` is
turned off, with ``webhook=`` the Webhook and ``reason=`` the sentence its settings show (apps.notifications
tells the project's admins).
"""

from django.dispatch import Signal

webhook_disabled = Signal()
