"""Signal receivers: what other apps' events mean for reports (connected in ``ReportsConfig.ready``)."""

from __future__ import annotations

from apps.reports import services
from apps.stories.models import Sprint


def queue_sprint_report(sender: type, *, sprint: Sprint, **kwargs: object) -> None:
    """A sprint closed: compute its report as of the close (once; it is never rewritten after)."""
    services.report_sprint_closed(sprint=sprint)
