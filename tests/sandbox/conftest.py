"""Sandbox fixtures. Imports of Django code stay inside fixtures: test_docker_runner.py also runs without Django."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def docker_client() -> Any:
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        pytest.fail(
            f"Docker engine not reachable ({exc}). These tests need a real Docker engine: run "
            "scripts/ensure-docker.sh (as root it installs docker.io and starts dockerd), then re-run.",
            pytrace=False,
        )
    return client


@pytest.fixture(scope="session")
def runtime_image(docker_client: Any) -> str:
    from sandbox.image import ensure_runtime_image

    return ensure_runtime_image(docker_client)


@pytest.fixture
def enqueued(sandbox_enqueued: list[int]) -> list[int]:
    """Execution ids handed to Celery on commit (recorded by tests/conftest.py instead of published)."""
    return sandbox_enqueued


@pytest.fixture
def live_worker(live_server: Any, settings: Any, docker_client: Any, runtime_image: str) -> Iterator[str]:
    """This process acts as a sandbox worker of the live server: a real worker token, BP_API_URL, a unique name.
    Afterwards no container of this worker may be left."""
    from sandbox.docker_runner import LABEL_EXECUTION, LABEL_POOL, LABEL_WORKER
    from tests.factories import make_worker

    name = f"pytest-{uuid.uuid4().hex[:8]}"
    _token, raw = make_worker(name=name)
    settings.BP_API_URL = live_server.url
    settings.BP_WORKER_TOKEN = raw
    settings.BP_WORKER_NAME = name
    from sandbox import worker

    yield name
    worker.close_pools()  # this process's warm containers go with the worker; anything else left is a leak
    left = docker_client.containers.list(all=True, filters={"label": [LABEL_EXECUTION, f"{LABEL_WORKER}={name}"]})
    left += docker_client.containers.list(all=True, filters={"label": f"{LABEL_POOL}={name}"})
    for container in left:
        container.remove(force=True)
    assert not left, f"containers left behind: {[c.name for c in left]}"


@pytest.fixture
def warm_worker(live_worker: str, settings: Any, docker_client: Any) -> str:
    """``live_worker`` with this process's warm pool filled before the test (the pool is on by default,
    ``SANDBOX_POOL_SIZE``), so that the first execution is a pooled one too. Returns the pool's stats before."""
    from sandbox import worker, worker_tasks

    config = worker_tasks.worker_config()
    assert config.pool_size > 0, "SANDBOX_POOL_SIZE is 0: these tests run with the pool on"
    pool = worker.start_pool(
        config,
        docker_client,
        workspace_max_bytes=settings.SANDBOX_WORKSPACE_MAX_BYTES,
        log_cap=settings.SANDBOX_LOG_CAP,
    )
    assert pool is not None
    pool.prewarm(pool.key, wait=60)
    return live_worker
