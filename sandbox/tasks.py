"""Celery entry points of the sandbox.

``sandbox.run_execution`` runs on Docker hosts (queue ``sandbox``) and never touches the database: it talks to the
API with the worker token (see ``sandbox.worker``). ``sandbox.reap`` runs beside the ticks, where the database is.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from core.queues import Queue
from sandbox import worker

log = logging.getLogger(__name__)


def worker_config() -> worker.WorkerConfig:
    return worker.WorkerConfig(
        api_url=settings.BP_API_URL,
        token=settings.BP_WORKER_TOKEN,
        name=settings.BP_WORKER_NAME,
        cpu_millicores=settings.BP_WORKER_CPU_MILLICORES,
        memory_mb=settings.BP_WORKER_MEMORY_MB,
        staging_dir=settings.SANDBOX_STAGING_DIR,
        deployment=settings.BP_DEPLOYMENT,
    )


@shared_task(
    name="sandbox.run_execution",
    queue=Queue.SANDBOX,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=settings.SANDBOX_TASK_TIME_LIMIT,
    soft_time_limit=max(1, settings.SANDBOX_TASK_TIME_LIMIT - 15),
    autoretry_for=(worker.ApiUnavailable,),
    retry_backoff=2,
    max_retries=5,
)
def run_execution(execution_id: int) -> str:
    """Claim, run and report one execution; a re-delivered or duplicate message finds it claimed and stops."""
    return worker.run_execution(execution_id, config=worker_config())


@shared_task(name="sandbox.reap", queue=Queue.TICKS, time_limit=120, soft_time_limit=100)
def reap_executions() -> int:
    """Mark running executions whose lease expired as LOST (and refund them); send stale queued ones again."""
    from sandbox import services  # services enqueue run_execution: import here, not at module level

    lost = services.reap_lost_executions()
    services.redispatch_stale_executions()
    return len(lost)


@worker_ready.connect
def _on_worker_ready(sender=None, **kwargs) -> None:
    """A worker consuming the sandbox queue removes its own leftover containers and starts reporting capacity."""
    try:
        queues = {queue.name for queue in sender.task_consumer.queues}
    except AttributeError:
        queues = set()
    if Queue.SANDBOX in queues:
        worker.start_worker(worker_config(), heartbeat_seconds=settings.SANDBOX_CAPACITY_HEARTBEAT_SECONDS)
