from django.apps import AppConfig


class StoriesConfig(AppConfig):
    name = "apps.stories"
    label = "stories"

    def ready(self) -> None:
        from apps.stories import receivers  # noqa: F401  (connects the receivers)
