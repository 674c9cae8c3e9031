"""Celery entry points of the sandbox on the database side (web and ticks processes).

``sandbox.reap`` runs beside the ticks, where the database is. Executions are handed to the Docker hosts by task
*name* (:func:`send_execution`): the task itself, ``sandbox.run_execution``, lives in :mod:`sandbox.worker_tasks`,
which imports the Docker SDK and is loaded only by Celery workers (``CELERY_IMPORTS``), never by a web process.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app, shared_task

from core.queues import Queue

log = logging.getLogger(__name__)

RUN_EXECUTION = "sandbox.run_execution"


def send_execution(execution_id: int, **options: Any) -> None:
    """Publish one execution to the ``sandbox`` queue (a duplicate is harmless: claims are conditional)."""
    current_app.send_task(RUN_EXECUTION, args=[execution_id], queue=Queue.SANDBOX, **options)


@shared_task(name="sandbox.reap", queue=Queue.TICKS, time_limit=120, soft_time_limit=100)
def reap_executions() -> int:
    """Mark running executions whose lease expired as LOST (refunding undelivered compute), send stale queued ones
    again (each at most once per a growing interval), and forget worker hosts that stopped reporting."""
    from sandbox import services  # services send executions through this module: import here, not at module level

    lost = services.reap_lost_executions()
    services.redispatch_stale_executions()
    services.forget_stale_worker_hosts()
    return len(lost)
