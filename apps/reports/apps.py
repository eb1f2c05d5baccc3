from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "apps.reports"
    label = "reports"

    def ready(self) -> None:
        from apps.reports import receivers
        from apps.stories.models import Sprint
        from apps.stories.signals import sprint_closed

        sprint_closed.connect(receivers.queue_sprint_report, sender=Sprint, dispatch_uid="reports-sprint-closed")
