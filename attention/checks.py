from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def scripted_judge_importable(app_configs, **kwargs) -> list[Error]:
    """A misspelt ATTENTION_JUDGE would otherwise only show up in the beat task's log."""
    if not settings.ATTENTION_JUDGE:
        return []
    from attention.services import load_scorer

    try:
        load_scorer(settings.ATTENTION_JUDGE)
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="attention.E001")]
    return []
