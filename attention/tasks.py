import time

from celery import shared_task
from django.conf import settings

from attention import services


@shared_task(name="attention.run_tick", queue="ticks", time_limit=120, soft_time_limit=100)
def run_attention_tick_task() -> int | None:
    """Run the attention tick of the current beat slot; a duplicate or re-delivered message is a no-op."""
    slot = int(time.time() // settings.ATTENTION_TICK_SECONDS)
    tick = services.run_attention_tick(slot=slot)
    return tick.number if tick else None


@shared_task(name="attention.judge_queue", queue="ticks", time_limit=300, soft_time_limit=240)
def judge_queue_task() -> int:
    """Let the scripted judge (ATTENTION_JUDGE) score queued items; safe to run twice (each item is scored once)."""
    return len(services.run_scripted_judge())
