"""Celery entry points of a Docker host: ``sandbox.run_execution`` and the worker's start-up.

Loaded by Celery workers only (``CELERY_IMPORTS``); it imports the Docker SDK. ``run_execution`` never touches the
database: it talks to the API with the worker token (see :mod:`sandbox.worker`).

Start-up of a worker consuming the ``sandbox`` queue: at ``worker_init`` (before it consumes anything) it asks the
API who its token is (``GET /sandbox/workers/me``); a missing or refused token stops the worker with a clear message
rather than letting it take tasks and fail them. At ``worker_ready`` it removes its own leftover containers and
starts reporting its capacity.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_init, worker_process_shutdown, worker_ready
from django.conf import settings

from core.queues import Queue
from sandbox import worker
from sandbox.tasks import RUN_EXECUTION

log = logging.getLogger(__name__)

EX_UNAVAILABLE = 69  # sysexits.h: the API could not be reached (a supervisor may start the worker again later)
EX_CONFIG = 78  # sysexits.h: configuration error (the token is missing or refused: restarting will not help)

# The token's name as the API reported it at start-up: BP_WORKER_NAME's default.
_token_name: str | None = None


def worker_config() -> worker.WorkerConfig:
    return worker.WorkerConfig(
        api_url=settings.BP_API_URL,
        token=settings.BP_WORKER_TOKEN,
        name=settings.BP_WORKER_NAME or _token_name or "",
        cpu_millicores=settings.BP_WORKER_CPU_MILLICORES,
        memory_mb=settings.BP_WORKER_MEMORY_MB,
        staging_dir=settings.SANDBOX_STAGING_DIR,
        deployment=settings.BP_DEPLOYMENT,
        pool_size=settings.SANDBOX_POOL_SIZE,
    )


@shared_task(
    name=RUN_EXECUTION,
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


def _consumes_sandbox_queue(controller) -> bool:
    try:
        return Queue.SANDBOX in set(controller.app.amqp.queues.consume_from)
    except AttributeError:
        return False


@worker_init.connect
def _on_worker_init(sender=None, **kwargs) -> None:
    """A sandbox worker whose token is missing or refused does not start (exit status 78, EX_CONFIG); one that cannot
    reach the API within ``SANDBOX_WORKER_STARTUP_WAIT_SECONDS`` does not either (69, EX_UNAVAILABLE)."""
    global _token_name
    if sender is None or not _consumes_sandbox_queue(sender):
        return
    try:
        _token_name = worker.identify_worker(worker_config(), wait_seconds=settings.SANDBOX_WORKER_STARTUP_WAIT_SECONDS)
    except worker.WorkerTokenRefused as exc:
        log.critical("This sandbox worker cannot start: %s", exc)
        raise SystemExit(EX_CONFIG) from exc
    except worker.ApiUnavailable as exc:
        log.critical("This sandbox worker cannot start: the API at %s is unreachable: %s", settings.BP_API_URL, exc)
        raise SystemExit(EX_UNAVAILABLE) from exc


@worker_ready.connect
def _on_worker_ready(sender=None, **kwargs) -> None:
    """A worker consuming the sandbox queue removes its own leftover containers and starts reporting capacity."""
    try:
        queues = {queue.name for queue in sender.task_consumer.queues}
    except AttributeError:
        queues = set()
    if Queue.SANDBOX in queues:
        worker.start_worker(worker_config(), heartbeat_seconds=settings.SANDBOX_CAPACITY_HEARTBEAT_SECONDS)


@worker_process_shutdown.connect
def _on_worker_process_shutdown(**kwargs) -> None:
    """A pool process ending removes its warm containers (a killed one leaves them stopped for the reaper)."""
    worker.close_pools()
