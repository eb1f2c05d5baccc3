"""What several test modules need to make intake data."""

from __future__ import annotations

from uuid import uuid4

from apps.intake import services
from apps.intake.models import Request
from apps.projects.models import Project


def email_request(project: Project, subject: str, *, sender: str = "client@elsewhere.org") -> Request:
    """A request that came by e-mail (from ``sender``, with no body), not answered."""
    return services.request_submit_email(
        project=project, sender=sender, message_id=f"<{uuid4().hex}@x>", subject=subject, body="", answer=False
    )
