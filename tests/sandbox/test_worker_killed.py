"""A real Celery worker (Redis broker, no database credentials) is SIGKILLed mid-execution; a second one finishes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.utils import timezone

from config.celery import app
from market.models import WorkerHost
from sandbox import services, tasks
from sandbox.docker_runner import LABEL_WORKER, execution_containers
from sandbox.models import Execution
from tests.factories import make_execution, make_program_agent

pytestmark = [
    pytest.mark.docker,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/5"
VISIBILITY_TIMEOUT = 5
LEASE_SECONDS = 3

# The first attempt sleeps until killed; the re-delivered second attempt finishes at once.
SLEEPER = """
import bp, time
me = bp.request("GET", "/sandbox/executions/" + bp.execution_id())
if me["attempts"] == 1:
    print("sleeping", flush=True)
    time.sleep(120)
bp.submit_artifact("finished on attempt %d" % me["attempts"])
"""


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def start_worker(env: dict[str, str], log: Path, index: int) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "sandbox", "--concurrency", "1",
        "--loglevel", "INFO", "--without-mingle", "--without-gossip", "-n", f"{env['BP_WORKER_NAME']}-{index}@%h",
    ]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def test_a_killed_worker_leaves_one_outcome_and_no_container(
    live_worker, live_server, enqueued, settings, docker_client, tmp_path
) -> None:
    try:
        broker = redis.Redis.from_url(BROKER)
        broker.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis not reachable at {BROKER} ({exc}): run scripts/ensure-services.sh", pytrace=False)
    broker.flushdb()
    settings.SANDBOX_LEASE_SECONDS = LEASE_SECONDS
    started = time.monotonic()
    env = {
        **os.environ,
        "CELERY_BROKER_URL": BROKER,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "BP_API_URL": live_server.url,
        "BP_WORKER_TOKEN": settings.BP_WORKER_TOKEN,
        "BP_WORKER_NAME": live_worker,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",  # the worker must not need the database
        "BP_INSECURE_DEV_KEY": "1",
    }
    deployment = tasks.worker_config().deployment_id

    def containers_of_execution() -> list:  # warm-pool containers carry the execution in their name only
        return execution_containers(docker_client, execution.id, worker_name=live_worker, deployment=deployment)

    agent, _ = make_program_agent(code=SLEEPER)
    execution = make_execution(agent=agent, wall_seconds=60)
    with app.connection_for_write(BROKER) as connection:
        tasks.run_execution.apply_async(args=[execution.id], connection=connection)
    dispatched = time.monotonic()

    log = tmp_path / "workers.log"
    first = start_worker(env, log, 1)
    second = None
    try:
        wait_for(
            lambda: (
                Execution.objects.filter(id=execution.id, status=Execution.Status.RUNNING).exists()
                and [c for c in containers_of_execution() if c["State"] == "running"]
            ),
            30,
            "the first worker to start the container",
        )
        stop(first, signal.SIGKILL)
        # The container outlives its worker; the lease stops being renewed.
        assert [c for c in containers_of_execution() if c["State"] == "running"]
        wait_for(
            lambda: Execution.objects.get(id=execution.id).lease_expires_at < timezone.now(), 10, "the lease to expire"
        )
        # Redis hands the unacknowledged message out again once it is older than the visibility timeout; a
        # starting worker sweeps for such messages at once (later sweeps are minutes apart by default).
        time.sleep(max(0.0, dispatched + VISIBILITY_TIMEOUT + 1.5 - time.monotonic()))
        second = start_worker(env, log, 2)
        finished = wait_for(
            lambda: Execution.objects.filter(id=execution.id).exclude(status=Execution.Status.RUNNING).first(),
            40,
            "the re-delivered task to finish the execution",
        )
    finally:
        stop(first, signal.SIGKILL)
        if second is not None:
            stop(second)
        print(log.read_text(errors="replace")[-4000:])
    assert finished.status == Execution.Status.SUCCEEDED, (finished.error, finished.stderr)
    assert finished.attempts == 2
    assert finished.artifact == "finished on attempt 2"
    assert services.reap_lost_executions() == []
    assert execution.tokens.count() == 2 and not execution.tokens.filter(token__revoked_at__isnull=True).exists()
    assert not docker_client.containers.list(all=True, filters={"label": f"{LABEL_WORKER}={live_worker}"})
    assert WorkerHost.objects.filter(name=live_worker).exists()  # the workers reported their capacity on start
    assert time.monotonic() - started < 60
