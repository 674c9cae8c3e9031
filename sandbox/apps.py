from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Sandbox (executions, workspaces, workers)"

    def ready(self) -> None:
        from market.signals import bids_won
        from sandbox import checks, receivers  # noqa: F401 - checks register themselves

        bids_won.connect(receivers.create_executions_on_bids_won, dispatch_uid="sandbox.create_executions")
