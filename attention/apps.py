from django.apps import AppConfig


class AttentionConfig(AppConfig):
    name = "attention"
    verbose_name = "Attention (judges, review queue, human rewards)"

    def ready(self) -> None:
        from attention import checks  # noqa: F401 - checks register themselves
