from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "apps.integrations"
    label = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from apps.integrations import selectors, services
        from apps.transfer.sections import Section, section_register

        # The project backup carries the integrations' settings (not their secrets): see apps.transfer.sections.
        section_register(
            Section(
                name="integration",
                export=selectors.integration_backup,
                restore=services.integration_restore,
                people=services.integration_backup_people,
            )
        )
