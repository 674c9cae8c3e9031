import time

from celery import shared_task
from django.conf import settings

from market import services


@shared_task(name="market.run_tick", queue="ticks", time_limit=300, soft_time_limit=240)
def run_market_tick_task() -> int | None:
    """Run the tick of the current beat slot; a duplicate or re-delivered message for the same slot is a no-op."""
    slot = int(time.time() // settings.MARKET_TICK_SECONDS)
    tick = services.run_market_tick(slot=slot)
    return tick.number if tick else None
