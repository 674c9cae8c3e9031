"""Finding 6: a Redis restart must not kill a sandbox worker. A real Celery worker consumes from a redis-server this
test starts on its own port; the test restarts that server several times (SIGKILL, SIGTERM, and a hang followed by
SIGKILL) while executions are queued, running and finished; the worker process survives, logs no unrecoverable
error, and every execution ends exactly once."""

from __future__ import annotations

import signal
import time

import pytest

from economy.selectors import ledger_violations
from sandbox.docker_runner import LABEL_EXECUTION, LABEL_WORKER
from sandbox.models import Execution
from tests.factories import make_execution, make_program_agent
from tests.faults.conftest import publish
from tests.faults.harness import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NAPPER = """
import bp, time
time.sleep(3)
bp.submit_artifact("done")
"""


def test_a_sandbox_worker_survives_redis_restarts_and_later_executions_complete(
    live_worker, live_server, docker_client, economy, redis_server, settings
) -> None:
    # (live_worker first: its teardown, which checks for leftover containers, runs after the economy's processes
    # have stopped and removed their warm containers)
    settings.SANDBOX_LEASE_SECONDS = 15
    sandbox = economy.worker(
        queues="sandbox",
        name=live_worker,
        env={
            "BP_API_URL": live_server.url,
            "BP_WORKER_TOKEN": settings.BP_WORKER_TOKEN,
            "BP_WORKER_NAME": live_worker,
            "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",  # a sandbox worker needs no database
        },
    )
    agent, _ = make_program_agent(code=NAPPER, credits=10_000)
    executions = [make_execution(agent=agent, wall_seconds=30) for _ in range(4)]
    for execution in executions:
        publish(redis_server, execution.id)

    def running() -> Execution | None:
        return Execution.objects.filter(id__in=[e.id for e in executions], status=Execution.Status.RUNNING).first()

    # 1. While the first execution runs (its message unacknowledged), the broker goes away and comes back.
    wait_for(running, 60, "an execution to start")
    redis_server.restart(down_seconds=2)
    # 2. Again while the worker is busy or polling: twice in a row, then a broker that hangs before it dies (the
    # worker's own heartbeat notices first, with a blocking pop outstanding).
    time.sleep(2)
    redis_server.restart(down_seconds=1)
    redis_server.restart(down_seconds=3, sig=signal.SIGTERM)
    wait_for(running, 60, "an execution to run again")
    redis_server.freeze_then_restart(frozen_seconds=4)
    assert sandbox.alive(), sandbox.output()

    finished = wait_for(
        lambda: (
            not Execution.objects.filter(
                id__in=[e.id for e in executions], status__in=[Execution.Status.QUEUED, Execution.Status.RUNNING]
            ).exists()
        ),
        150,
        "the executions queued before the restarts to finish",
        interval=0.5,
    )
    assert finished
    # 3. After the restarts the worker still takes new work.
    later = make_execution(agent=agent, wall_seconds=30)
    publish(redis_server, later.id)
    wait_for(lambda: Execution.objects.get(id=later.id).status == Execution.Status.SUCCEEDED, 60, "a later execution")
    redis_server.restart(down_seconds=1)
    assert sandbox.alive(), sandbox.output()
    assert "Unrecoverable error" not in sandbox.output(10**6)

    outcomes = {e.id: e for e in Execution.objects.filter(agent=agent)}
    assert {e.status for e in outcomes.values()} == {Execution.Status.SUCCEEDED}, [
        (e.id, e.status, e.error) for e in outcomes.values()
    ]
    assert all(e.artifact == "done" for e in outcomes.values())
    assert ledger_violations() == []
    assert not docker_client.containers.list(
        all=True, filters={"label": [LABEL_EXECUTION, f"{LABEL_WORKER}={live_worker}"]}
    )
