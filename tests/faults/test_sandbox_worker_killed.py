"""A real Celery sandbox worker (no database credentials) is SIGKILLed mid-execution; a second one finishes it.

The broker is a redis-server of this test alone (``redis_server``), never the shared one: parallel runs cannot take
each other's messages, and nothing shared is flushed. Ends with one outcome, both tokens revoked, the ledger sound,
no refund (the execution was not lost), no container left.
"""

from __future__ import annotations

import signal
import time

import pytest
from django.utils import timezone

from economy.models import Transfer
from economy.selectors import ledger_violations
from market.models import WorkerHost
from sandbox import services, worker_tasks
from sandbox.docker_runner import LABEL_WORKER, execution_containers
from sandbox.models import Execution
from tests.factories import make_execution, make_program_agent
from tests.faults.conftest import publish
from tests.faults.harness import wait_for

pytestmark = [
    pytest.mark.docker,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

LEASE_SECONDS = 3
VISIBILITY_TIMEOUT = 8

# The first attempt sleeps until killed; the re-delivered second attempt finishes at once.
SLEEPER = """
import bp, time
me = bp.request("GET", "/sandbox/executions/" + bp.execution_id())
if me["attempts"] == 1:
    print("sleeping", flush=True)
    time.sleep(120)
bp.submit_artifact("finished on attempt %d" % me["attempts"])
"""


def test_a_killed_worker_leaves_one_outcome_and_no_container(
    live_worker, live_server, docker_client, economy, redis_server, settings
) -> None:
    settings.SANDBOX_LEASE_SECONDS = LEASE_SECONDS
    started = time.monotonic()
    env = {
        "BP_API_URL": live_server.url,
        "BP_WORKER_TOKEN": settings.BP_WORKER_TOKEN,
        "BP_WORKER_NAME": live_worker,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",  # the worker must not need the database
    }
    agent, _ = make_program_agent(code=SLEEPER)
    execution = make_execution(agent=agent, wall_seconds=60)
    deployment = worker_tasks.worker_config().deployment_id

    def running_containers() -> list:  # warm-pool containers carry the execution in their name only
        containers = execution_containers(docker_client, execution.id, worker_name=live_worker, deployment=deployment)
        return [c for c in containers if c["State"] == "running"]

    publish(redis_server, execution.id)
    dispatched = time.monotonic()

    first = economy.worker(queues="sandbox", name=f"{live_worker}-1", env=env)
    wait_for(
        lambda: (
            Execution.objects.filter(id=execution.id, status=Execution.Status.RUNNING).exists() and running_containers()
        ),
        30,
        "the first worker to start the container",
    )
    first.kill(signal.SIGKILL)
    # The container outlives its worker; the lease stops being renewed.
    assert running_containers()
    wait_for(
        lambda: Execution.objects.get(id=execution.id).lease_expires_at < timezone.now(), 10, "the lease to expire"
    )
    # Redis hands the unacknowledged message out again once it is older than the visibility timeout; a
    # starting worker sweeps for such messages at once (later sweeps are minutes apart by default).
    time.sleep(max(0.0, dispatched + VISIBILITY_TIMEOUT + 1.5 - time.monotonic()))
    second = economy.worker(queues="sandbox", name=f"{live_worker}-2", env=env)
    finished = wait_for(
        lambda: Execution.objects.filter(id=execution.id).exclude(status=Execution.Status.RUNNING).first(),
        40,
        "the re-delivered task to finish the execution",
    )
    second.stop()
    assert finished.status == Execution.Status.SUCCEEDED, (finished.error, finished.stderr)
    assert finished.attempts == 2
    assert finished.artifact == "finished on attempt 2"
    assert finished.refunded == 0 and not Transfer.objects.filter(kind=Transfer.Kind.REFUND).exists()
    assert services.reap_lost_executions() == []
    assert execution.tokens.count() == 2 and not execution.tokens.filter(token__revoked_at__isnull=True).exists()
    assert Execution.objects.filter(bid=execution.bid).count() == 1
    assert ledger_violations() == []
    assert not docker_client.containers.list(all=True, filters={"label": f"{LABEL_WORKER}={live_worker}"})
    assert WorkerHost.objects.filter(name=live_worker).exists()  # the workers reported their capacity on start
    assert time.monotonic() - started < 90
