from celery import shared_task

from core.queues import Queue
from evolution import services
from market.models import Tick


@shared_task(name="evolution.life_tick", queue=Queue.TICKS, time_limit=300, soft_time_limit=240)
def life_tick() -> int | None:
    """Upkeep, deaths and statistics after the latest market tick, numbered like it (one tick numbering everywhere,
    as in the embedded economy). A life tick for a market tick that already has one is a no-op, and so is one before
    the first market tick."""
    latest = Tick.objects.order_by("-number").values_list("number", flat=True).first()
    if latest is None:
        return None
    stats = services.run_life_tick(tick=latest)
    return stats.alive if stats else None
