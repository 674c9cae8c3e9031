"""Fault-injection fixtures: an own redis-server per test, real Celery processes against it and the test database.

Every process a test starts is stopped before the test database is flushed. The shared Redis (6379) and other
databases are never touched: Redis restarts happen to the test's own server, backend terminations to the test
database's own connections.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.harness import CeleryProcess, RedisServer, beat, worker
from tests.sandbox.conftest import docker_client, live_worker, runtime_image  # noqa: F401 - shared fixtures


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    try:
        server = RedisServer(tmp_path / "redis").start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def test_database_url(transactional_db: None) -> str:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.fail("the fault suite runs on PostgreSQL (DATABASE_URL=postgres://...)", pytrace=False)
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Economy:
    """Starts Celery processes with one environment; stops them all at the end of the test."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: list[CeleryProcess] = []

    def worker(self, *, queues: str, name: str | None = None, env: dict[str, str] | None = None) -> CeleryProcess:
        name = name or f"{queues.split(',')[0]}-{uuid.uuid4().hex[:6]}"
        process = worker({**self.env, **(env or {})}, self.logs / f"{name}.log", queues=queues, name=name)
        self.processes.append(process)
        return process

    def beat(self, *, index: int = 0) -> CeleryProcess:
        process = beat(self.env, self.logs / f"beat-{index}.log", schedule=self.logs / f"beat-{index}-schedule")
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()

    def logs_text(self) -> str:
        return "\n".join(f"--- {p.log.name}\n{p.output(3000)}" for p in self.processes)


@pytest.fixture
def economy(test_database_url: str, redis_server: RedisServer, tmp_path: Path, settings: Any) -> Iterator[Economy]:
    """Celery processes on the test database and the test's own Redis: ticks every 2 s, reaper every 2 s, a short
    visibility timeout and lease so that re-deliveries and losses happen within the test."""
    settings.SANDBOX_LEASE_SECONDS = 3
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url,
        "CELERY_BROKER_URL": redis_server.url(0),
        "BP_REDIS_URL": redis_server.url(1),
        "CELERY_VISIBILITY_TIMEOUT": "8",
        "MARKET_TICK_SECONDS": "2",
        "SANDBOX_REAP_SECONDS": "2",
        "SANDBOX_LEASE_SECONDS": "3",
        "SANDBOX_REDISPATCH_SECONDS": "4",
        "SANDBOX_DISPATCH": "celery",
        "ATTENTION_TICK_SECONDS": "4",
        "BP_INSECURE_DEV_KEY": "1",
        "LOG_LEVEL": "INFO",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    running = Economy(env, logs)
    try:
        yield running
    finally:
        running.stop_all()
        print(running.logs_text())


def publish(redis_server: RedisServer, execution_id: int) -> None:
    """Send one execution to the sandbox queue of the test's own Redis."""
    from config.celery import app
    from core.queues import Queue
    from sandbox.tasks import RUN_EXECUTION

    with app.connection_for_write(redis_server.url(0)) as connection:
        app.send_task(RUN_EXECUTION, args=[execution_id], queue=Queue.SANDBOX, connection=connection)
