import time

from celery import shared_task
from django.conf import settings

from evolution import services


@shared_task(name="evolution.life_tick", queue="ticks", time_limit=300, soft_time_limit=240)
def life_tick() -> int | None:
    """Upkeep, deaths and statistics for the current beat slot; a duplicate message for the slot is a no-op."""
    slot = int(time.time() // settings.MARKET_TICK_SECONDS)
    stats = services.run_life_tick(tick=slot)
    return stats.alive if stats else None
