"""The warm pool against a real Docker engine (no database): limits set at the go, one execution per container,
nothing left behind on close or when the worker's process dies."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.docker_runner import (
    LABEL_EXECUTION,
    LABEL_POOL,
    LABEL_WORKER,
    SUCCEEDED,
    container_name,
    execution_containers,
    pool_key,
    reap_containers,
    run_container,
)
from sandbox.pool import WarmPool
from tests.sandbox.test_docker_runner import AGENT_ID, TOKEN, StubAPI, run_kwargs

pytestmark = pytest.mark.docker

WORKER = f"pytest-pool-{uuid.uuid4().hex[:8]}"

LIMITS = """
import json, os
def first(*paths):
    for path in paths:
        try:
            return open(path).read().strip()
        except OSError:
            pass
    return None
print(json.dumps({
    "memory": first("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"),
    "swap": first("/sys/fs/cgroup/memory.swap.max", "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"),
    "cpu": first("/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
    "pids": first("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"),
    "env": {k: v for k, v in os.environ.items() if k.startswith("BP_")},
    "hostname": open("/etc/hostname").read().strip(),
    "seed": sorted(os.listdir("/seed")),
    "run": sorted(os.listdir("/run/bp")),
}))
"""


def mine(client: Any) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"{LABEL_POOL}={WORKER}"}) + client.containers.list(
        all=True, filters={"label": [LABEL_EXECUTION, f"{LABEL_WORKER}={WORKER}"]}
    )


@pytest.fixture
def api() -> Iterator[StubAPI]:
    stub = StubAPI()
    yield stub
    stub.close()


@pytest.fixture
def pool(docker_client: Any, runtime_image: str) -> Iterator[WarmPool]:
    warm = WarmPool(docker_client, size=2, worker_name=WORKER)
    yield warm
    warm.close()
    left = mine(docker_client)
    for container in left:
        container.remove(force=True)
    assert not left, f"containers left behind: {[c.name for c in left]}"


def key(image: str) -> Any:
    return pool_key(image=image, workspace_cap_mb=16, log_cap=65536)


def run(client: Any, image: str, api: StubAPI, pool: WarmPool | None, code: str, **overrides: Any) -> Any:
    return run_container(**run_kwargs(client, image, api, code, worker_name=WORKER, pool=pool, **overrides))


def test_a_pooled_run_gets_its_bundle_and_its_own_environment(docker_client, runtime_image, api, pool) -> None:
    assert pool.prewarm(key(runtime_image), wait=60) == 2
    waiting = {c.id for c in mine(docker_client)}
    assert len(waiting) == 2
    for container in mine(docker_client):  # locked down like a cold one while it waits
        host = container.attrs["HostConfig"]
        assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"]
        assert host["SecurityOpt"] == ["no-new-privileges"] and container.attrs["Config"]["User"] == "1000:1000"
        assert container.labels[LABEL_POOL] == WORKER and LABEL_EXECUTION not in container.labels
    runs = []
    for memory_mb, cpu, pids in ((96, 300, 20), (200, 1500, 40)):
        execution_id = "lim-" + uuid.uuid4().hex[:8]
        result = run(
            docker_client,
            runtime_image,
            api,
            pool,
            LIMITS,
            execution_id=execution_id,
            memory_mb=memory_mb,
            cpu_millicores=cpu,
            pids_limit=pids,
            files={"agent.py": LIMITS.encode(), "data.txt": b"x"},
        )
        assert result.status == SUCCEEDED, result
        assert result.details["pooled"] is True
        out = json.loads(result.stdout)
        assert int(out["memory"]) == memory_mb * 1024 * 1024
        assert out["swap"] in (str(memory_mb * 1024 * 1024), "0")  # v1: memory+swap total; v2: swap alone
        assert out["cpu"] in (str(cpu * 100), f"{cpu * 100} 100000")  # quota per 100 ms period
        assert out["pids"] == str(pids)
        expected = {
            "BP_API_URL": "unix:///run/bp/api.sock",
            "BP_AGENT_ID": AGENT_ID,
            "BP_TOKEN": TOKEN,
            "BP_EXECUTION_ID": execution_id,
            "BP_LOG_CAP": "65536",
            "BP_WORKSPACE_MAX_BYTES": "16777216",
            "BP_WORKSPACE_MAX_FILES": "256",
        }
        assert expected.items() <= out["env"].items(), out["env"]  # this execution's, given at the go
        assert "BP_POOL" not in out["env"]
        assert out["seed"] == ["agent.py", "data.txt"]
        assert out["run"] == ["api.sock"]  # the control socket is gone before the agent starts
        runs.append(out["hostname"])
        # The container served this one execution and is gone.
        assert not execution_containers(docker_client, execution_id, worker_name=WORKER)
    served = {h for h in runs}
    assert len(served) == 2 and all(any(c.startswith(h) for c in waiting) for h in served)
    assert pool.stats()["taken"] == 2


def test_a_run_with_another_key_or_no_ready_container_runs_cold(docker_client, runtime_image, api, pool) -> None:
    result = run(docker_client, runtime_image, api, pool, "print('cold')", workspace_cap_mb=3)
    assert result.status == SUCCEEDED and result.stdout == "cold\n"
    assert result.details["pooled"] is False
    # The pool learned the key and warms containers of it for the next run.
    assert pool.prewarm(pool_key(image=runtime_image, workspace_cap_mb=3, log_cap=65536), wait=60) == 2
    result = run(docker_client, runtime_image, api, pool, "print('warm')", workspace_cap_mb=3)
    assert result.details["pooled"] is True and result.stdout == "warm\n"


def test_a_dead_waiting_container_is_skipped(docker_client, runtime_image, api, pool) -> None:
    assert pool.prewarm(key(runtime_image), wait=60) == 2
    victim = mine(docker_client)[0]
    victim.kill()
    time.sleep(0.3)
    for _ in range(2):
        result = run(docker_client, runtime_image, api, pool, "print('ok')")
        assert result.status == SUCCEEDED and result.stdout == "ok\n"
    assert pool.stats()["taken"] + pool.stats()["missed"] >= 2


def test_an_abandoned_pool_stops_by_itself_and_the_reaper_removes_it(docker_client, runtime_image) -> None:
    """The worker process dies (its control connections close) without closing the pool: the waiting wrappers exit
    at once, nothing of theirs runs, and the worker's start-up reaper removes the containers."""
    pool = WarmPool(docker_client, size=2, worker_name=WORKER)
    try:
        assert pool.prewarm(key(runtime_image), wait=60) == 2
        with pool._cond:  # what the death of the process does: the pool's sockets close, nothing is removed
            held, pool._ready = pool._ready, []
            pool._closed = True
            pool._cond.notify_all()
        for warm in held:
            warm.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(c.status == "running" for c in mine(docker_client)):
            time.sleep(0.2)
        assert [c.status for c in mine(docker_client)] == ["exited", "exited"]
        assert all(c.logs() == b"" for c in mine(docker_client))  # no report, no agent
        assert reap_containers(docker_client, worker_name=WORKER) == ["pool", "pool"]
        assert not mine(docker_client)
    finally:
        pool.close()
        for container in mine(docker_client):
            container.remove(force=True)


def test_the_reaper_knows_a_claimed_pooled_container_by_its_name(docker_client, runtime_image, api, pool) -> None:
    assert pool.prewarm(key(runtime_image), wait=60) == 2
    warm = pool.take(key(runtime_image))
    assert warm is not None
    pool.close()  # the others are removed; the taken one is the caller's
    try:
        assert [c.id for c in mine(docker_client)] == [warm.container_id]
        name = container_name("777", worker_name=WORKER)
        docker_client.api.rename(warm.container_id, name)
        assert [c["Id"] for c in execution_containers(docker_client, "777", worker_name=WORKER)] == [warm.container_id]
        assert reap_containers(docker_client, worker_name=WORKER, keep={"777"}) == []
        assert reap_containers(docker_client, worker_name=WORKER) == ["777"]
    finally:
        warm.close()
