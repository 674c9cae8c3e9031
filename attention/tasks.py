from celery import shared_task
from django.conf import settings

from attention import services
from core.queues import Queue, beat_slot


@shared_task(name="attention.run_tick", queue=Queue.TICKS, time_limit=120, soft_time_limit=100)
def run_attention_tick_task(scheduled_at: float | None = None) -> int | None:
    """Run the attention tick of the beat slot the message was scheduled for; a duplicate or re-delivered message is
    a no-op."""
    tick = services.run_attention_tick(slot=beat_slot(scheduled_at, settings.ATTENTION_TICK_SECONDS))
    return tick.number if tick else None


@shared_task(name="attention.judge_queue", queue=Queue.TICKS, time_limit=300, soft_time_limit=240)
def judge_queue_task() -> int:
    """Let the scripted judge (ATTENTION_JUDGE) score queued items; safe to run twice (each item is scored once)."""
    return len(services.run_scripted_judge())
