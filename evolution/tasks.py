from celery import shared_task
from django.conf import settings

from core.queues import Queue, beat_slot
from evolution import services


@shared_task(name="evolution.life_tick", queue=Queue.TICKS, time_limit=300, soft_time_limit=240)
def life_tick(scheduled_at: float | None = None) -> int | None:
    """Upkeep, deaths and statistics for the beat slot the message was scheduled for; a duplicate message for the
    slot is a no-op."""
    stats = services.run_life_tick(tick=beat_slot(scheduled_at, settings.MARKET_TICK_SECONDS))
    return stats.alive if stats else None
