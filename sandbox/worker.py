"""The sandbox worker's side of an execution, over HTTP only (no Django, no database).

A worker host holds a worker token and the API URL. For one execution it claims the spec
(``POST /sandbox/executions/{id}/claim``), renews its lease while the container runs
(``POST /sandbox/executions/{id}/heartbeat``), runs the container with :func:`sandbox.docker_runner.run_container`
(the agent reaches the API through the runner's Unix-socket proxy) and posts exactly one result
(``POST /sandbox/executions/{id}/result``). The API's conditional updates make a re-delivered task harmless:
the claim answers 409 and the task stops.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import logging
import os
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import requests

from sandbox.docker_runner import container_name, pool_key, reap_containers, run_container
from sandbox.image import ensure_runtime_image
from sandbox.pool import WarmPool

__all__ = [
    "ApiUnavailable",
    "WorkerConfig",
    "close_pools",
    "report_capacity",
    "run_execution",
    "start_pool",
    "start_worker",
    "warm_pool",
]

log = logging.getLogger(__name__)

CLAIMED_ELSEWHERE = "execution_not_queued"
ALREADY_RECORDED = "result_already_recorded"
RESULT_POST_ATTEMPTS = 5


class ApiUnavailable(Exception):
    """The API could not be reached or answered with a server error; the call may be retried."""


class ApiRefused(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.code = body.get("code") if isinstance(body, dict) else None


@dataclass(frozen=True)
class WorkerConfig:
    api_url: str
    token: str
    name: str
    cpu_millicores: int = 1000
    memory_mb: int = 2048
    staging_dir: str | None = None
    request_timeout: float = 30.0
    deployment: str = ""
    pool_size: int = 0  # warm containers kept ready by each worker process (0: every execution starts its own)

    @property
    def deployment_id(self) -> str:
        """Which economy this worker serves (labels and names its containers): ``BP_DEPLOYMENT``, else derived from
        the API URL, so that two economies sharing a Docker engine never touch each other's containers."""
        return self.deployment or hashlib.sha256(self.api_url.rstrip("/").encode()).hexdigest()[:10]

    def container_name(self, execution_id: int | str) -> str:
        return container_name(execution_id, worker_name=self.name, deployment=self.deployment_id)

    @property
    def api_target(self) -> tuple[str, int]:
        """host:port the per-execution socket proxy relays to (plain HTTP)."""
        parts = urllib.parse.urlsplit(self.api_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(
                f"BP_API_URL must be http://host:port (the sandbox proxy relays plain HTTP): {self.api_url!r}"
            )
        return parts.hostname, parts.port or 80


class WorkerAPI:
    def __init__(self, config: WorkerConfig) -> None:
        if not config.token:
            raise ValueError("BP_WORKER_TOKEN is not set (manage.py create_worker_token --name NAME prints one).")
        self.config = config
        self.base = config.api_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Worker {config.token}"

    def post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            response = self.session.post(self.base + path, json=body, timeout=self.config.request_timeout)
        except requests.RequestException as exc:
            raise ApiUnavailable(f"POST {path}: {exc}") from exc
        try:
            data = response.json()
        except ValueError:
            data = response.text[:500]
        if response.status_code >= 500:
            raise ApiUnavailable(f"POST {path}: {response.status_code} {data}")
        if response.status_code >= 400:
            raise ApiRefused(response.status_code, data)
        return data

    def close(self) -> None:
        self.session.close()


class LeaseKeeper(threading.Thread):
    """Renews the execution's lease every ``interval`` seconds; if the API says the claim is gone (the reaper or
    another worker took over), kills the container so that the run ends at once."""

    def __init__(
        self, api: WorkerAPI, client: Any, execution_id: int, attempt: int, interval: float, container: str
    ) -> None:
        super().__init__(name=f"bp-lease-{execution_id}", daemon=True)
        self.api = api
        self.client = client
        self.execution_id = execution_id
        self.attempt = attempt
        self.interval = interval
        self.container = container
        self.stopping = threading.Event()
        self.lost = False

    def run(self) -> None:
        path = f"/sandbox/executions/{self.execution_id}/heartbeat"
        while not self.stopping.wait(self.interval):
            try:
                self.api.post(path, {"attempt": self.attempt})
            except ApiUnavailable as exc:
                log.warning("lease renewal of execution %s failed: %s", self.execution_id, exc)
            except ApiRefused as exc:
                log.warning("execution %s: claim lost (%s); stopping its container", self.execution_id, exc)
                self.lost = True
                with contextlib.suppress(Exception):
                    self.client.api.kill(self.container)
                return

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)


_docker_client: Any = None
_runtime_image: str | None = None


def _docker() -> Any:
    global _docker_client
    if _docker_client is None:
        import docker

        _docker_client = docker.from_env(timeout=120)
    return _docker_client


def prepare_runtime_image(client: Any) -> str:
    """Build this host's runtime image when it has none; checked once per process. Returns its tag."""
    global _runtime_image
    if _runtime_image is None:
        _runtime_image = ensure_runtime_image(client)
    return _runtime_image


def workspace_cap_mb(workspace_max_bytes: int) -> int:
    """Size of the container's /workspace tmpfs for a workspace cap in bytes."""
    return max(1, -(-int(workspace_max_bytes) // (1024 * 1024)))


_pools: dict[tuple[int, str, str, str | None], WarmPool] = {}
_pools_lock = threading.Lock()


def warm_pool(config: WorkerConfig, client: Any) -> WarmPool | None:
    """This process's warm pool for ``config`` (None when ``pool_size`` is 0). One per process: a forked child
    gets its own."""
    if config.pool_size <= 0:
        return None
    key = (os.getpid(), config.deployment_id, config.name, config.staging_dir)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = WarmPool(
                client,
                size=config.pool_size,
                worker_name=config.name,
                deployment=config.deployment_id,
                staging_root=config.staging_dir,
            )
            _pools[key] = pool
        return pool


def start_pool(config: WorkerConfig, client: Any, *, workspace_max_bytes: int, log_cap: int) -> WarmPool | None:
    """Start filling this process's pool now with containers for the API's workspace and log caps (otherwise it
    learns them from the first execution, which then runs cold)."""
    pool = warm_pool(config, client)
    if pool is not None:
        image = prepare_runtime_image(client)
        pool.prewarm(pool_key(image=image, workspace_cap_mb=workspace_cap_mb(workspace_max_bytes), log_cap=log_cap))
    return pool


def close_pools() -> None:
    """Remove every waiting container of this process's pools (on worker shutdown; also at exit)."""
    with _pools_lock:
        pools = [pool for (pid, *_), pool in _pools.items() if pid == os.getpid()]
        _pools.clear()
    for pool in pools:
        try:
            pool.close()
        except Exception:
            log.exception("could not close a warm pool")


atexit.register(close_pools)


def _outcome(result: Any, workspace_max_bytes: int) -> dict[str, Any]:
    files = result.files
    too_large = bool(result.error and "larger than the workspace cap" in result.error)
    if files is not None and sum(len(v) for v in files.values()) > workspace_max_bytes:
        files, too_large = None, True
    return {
        "status": result.status,
        "exit_code": result.exit_code,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "stdout_truncated": result.stdout_truncated,
        "stderr_truncated": result.stderr_truncated,
        "image": result.image,
        "error": result.error or "",
        "workspace_too_large": too_large,
        "files": None if files is None else {k: base64.b64encode(v).decode("ascii") for k, v in files.items()},
    }


def _post_result(api: WorkerAPI, execution_id: int, body: dict[str, Any]) -> str:
    path = f"/sandbox/executions/{execution_id}/result"
    for attempt in range(RESULT_POST_ATTEMPTS):
        try:
            api.post(path, body)
            return body["status"]
        except ApiRefused as exc:
            if exc.code == ALREADY_RECORDED and attempt > 0:
                return body["status"]  # our earlier post got through before the connection broke
            log.warning("execution %s: result refused: %s", execution_id, exc)
            return f"refused:{exc.code}"
        except ApiUnavailable as exc:
            if attempt == RESULT_POST_ATTEMPTS - 1:
                raise
            log.warning("execution %s: result post failed (%s); retrying", execution_id, exc)
            time.sleep(min(2**attempt, 10))
    raise AssertionError("unreachable")


def run_execution(execution_id: int, *, config: WorkerConfig, client: Any = None) -> str:
    """Claim, run and report one execution. Returns the recorded status, ``skipped`` when it was not ours to run,
    or ``refused:<code>`` when the API refused the result (the claim was taken over meanwhile)."""
    api = WorkerAPI(config)
    client = client or _docker()
    # Build or check the runtime image before claiming: the claim's token and lease start ticking at once.
    prepare_runtime_image(client)
    try:
        try:
            spec = api.post(f"/sandbox/executions/{execution_id}/claim", {})
        except ApiRefused as exc:
            if exc.code == CLAIMED_ELSEWHERE or exc.status == 404:
                log.info("execution %s not claimable (%s); nothing to do", execution_id, exc.code)
                return "skipped"
            raise
        attempt = int(spec["attempt"])
        keeper = LeaseKeeper(
            api,
            client,
            execution_id,
            attempt,
            interval=max(0.5, spec["lease_seconds"] / 3),
            container=config.container_name(execution_id),
        )
        keeper.start()
        try:
            result = run_container(
                client=client,
                image=spec["image"],
                execution_id=execution_id,
                agent_id=spec["agent_id"],
                token=spec["token"],
                api_target=config.api_target,
                files={name: base64.b64decode(value) for name, value in spec["files"].items()},
                cpu_millicores=spec["cpu_millicores"],
                memory_mb=spec["memory_mb"],
                wall_seconds=spec["wall_seconds"],
                pids_limit=spec["pids_limit"],
                workspace_cap_mb=workspace_cap_mb(spec["workspace_max_bytes"]),
                log_cap=spec["log_cap"],
                worker_name=config.name,
                deployment=config.deployment_id,
                staging_root=config.staging_dir,
                extra_env={"BP_SEED": str(spec["seed"])},
                pool=warm_pool(config, client),
            )
            body = _outcome(result, spec["workspace_max_bytes"])
        except Exception as exc:  # the engine failed us, not the agent: still report once
            log.exception("execution %s: the sandbox failed", execution_id)
            body = {"status": "FAILED", "error": f"sandbox error: {type(exc).__name__}: {exc}"[:4000], "files": None}
        finally:
            keeper.stop()
        body["attempt"] = attempt
        return _post_result(api, execution_id, body)
    finally:
        api.close()


def report_capacity(config: WorkerConfig) -> None:
    """Tell the market what this host offers (``POST /sandbox/workers/heartbeat``)."""
    api = WorkerAPI(config)
    try:
        api.post(
            "/sandbox/workers/heartbeat",
            {"name": config.name, "cpu_millicores": config.cpu_millicores, "memory_mb": config.memory_mb},
        )
    finally:
        api.close()


def start_worker(config: WorkerConfig, *, heartbeat_seconds: float) -> threading.Thread | None:
    """On worker start: remove this worker's leftover containers, then report capacity now and periodically."""
    try:
        removed = reap_containers(_docker(), worker_name=config.name, deployment=config.deployment_id)
        if removed:
            log.warning("removed leftover containers of executions %s", removed)
    except Exception:
        log.exception("could not reap leftover containers (is dockerd running?)")
    if not config.token:
        log.warning("BP_WORKER_TOKEN is not set: this worker cannot claim executions")
        return None

    def loop() -> None:
        while True:
            try:
                report_capacity(config)
            except Exception as exc:
                log.warning("capacity heartbeat failed: %s", exc)
            time.sleep(heartbeat_seconds)

    thread = threading.Thread(target=loop, name=f"bp-capacity-{os.getpid()}", daemon=True)
    thread.start()
    return thread
