from celery import shared_task
from django.conf import settings

from core.queues import Queue, beat_slot
from market import services


@shared_task(name="market.run_tick", queue=Queue.TICKS, time_limit=300, soft_time_limit=240)
def run_market_tick_task(scheduled_at: float | None = None) -> int | None:
    """Run the tick of the beat slot the message was scheduled for; a duplicate or re-delivered message for the same
    slot is a no-op."""
    tick = services.run_market_tick(slot=beat_slot(scheduled_at, settings.MARKET_TICK_SECONDS))
    return tick.number if tick else None
