from django.conf import settings
from django.core.checks import Warning, register


@register()
def visibility_timeout_covers_executions(app_configs, **kwargs) -> list[Warning]:
    """Redis re-delivers an unacknowledged task after the visibility timeout, even to a live worker."""
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    if timeout <= settings.SANDBOX_TASK_TIME_LIMIT:
        return [
            Warning(
                f"CELERY_VISIBILITY_TIMEOUT ({timeout}s) should exceed SANDBOX_TASK_TIME_LIMIT "
                f"({settings.SANDBOX_TASK_TIME_LIMIT}s): a long execution's task would be delivered twice.",
                id="sandbox.W001",
            )
        ]
    return []
