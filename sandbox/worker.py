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
import functools
import hashlib
import json
import logging
import os
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from typing import Any

import requests

from sandbox.docker_runner import Stopwatch, container_name, pool_key, reap_containers, run_container
from sandbox.image import ensure_runtime_image
from sandbox.pool import WarmPool

__all__ = [
    "ApiUnavailable",
    "WorkerConfig",
    "WorkerTokenRefused",
    "close_pools",
    "identify_worker",
    "remove_later",
    "report_capacity",
    "run_execution",
    "start_pool",
    "start_worker",
    "wait_removals",
    "warm_pool",
]

log = logging.getLogger(__name__)

CLAIMED_ELSEWHERE = "execution_not_queued"
ALREADY_RECORDED = "result_already_recorded"
RESULT_POST_ATTEMPTS = 5
# Used when the API's spec does not say: the API's default request body limit (BP_MAX_REQUEST_BYTES).
DEFAULT_MAX_RESULT_BYTES = 2 * 1024 * 1024
RESULT_MARGIN_BYTES = 16 * 1024  # headroom under the API's limit
REDUCED_LOG_CHARS = 4096  # what a reduced result keeps of each log
DEFAULT_WORKSPACE_MAX_FILES = 256


class ApiUnavailable(Exception):
    """The API could not be reached or answered with a server error; the call may be retried."""


class ApiRefused(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.code = body.get("code") if isinstance(body, dict) else None


class WorkerTokenRefused(Exception):
    """The worker token is missing, or the API refuses it: this worker cannot do anything."""


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
        return self.request("POST", path, body)

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self.session.request(method, self.base + path, json=body, timeout=self.config.request_timeout)
        except requests.RequestException as exc:
            raise ApiUnavailable(f"{method} {path}: {exc}") from exc
        try:
            data = response.json()
        except ValueError:
            data = response.text[:500]
        if response.status_code >= 500:
            raise ApiUnavailable(f"{method} {path}: {response.status_code} {data}")
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


# Milliseconds per phase of this process's last run_execution (instrumentation: bench/execution.py prints them).
last_phases: dict[str, float] = {}

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
    """Finish this process's pending removals and remove every waiting container of its pools (on worker shutdown;
    also at exit)."""
    wait_removals()
    with _pools_lock:
        pools = [pool for (pid, *_), pool in _pools.items() if pid == os.getpid()]
        _pools.clear()
    for pool in pools:
        try:
            pool.close()
        except Exception:
            log.exception("could not close a warm pool")


atexit.register(close_pools)


def _outcome(result: Any, workspace_max_bytes: int, workspace_max_files: int) -> dict[str, Any]:
    """The result body of a run. A workspace over the caps (file count, or bytes with the names included) is
    dropped here whatever the wrapper and the runner did: the API keeps the agent's previous workspace."""
    files = result.files
    workspace_error = getattr(result, "workspace_error", None)
    too_large = bool(workspace_error)
    error = result.error or ""
    if files is not None and (
        len(files) > workspace_max_files
        or sum(len(name.encode()) + len(content) for name, content in files.items()) > workspace_max_bytes
    ):
        files, too_large = None, True
        workspace_error = workspace_error or (
            f"workspace over the cap ({workspace_max_files} files, {workspace_max_bytes} bytes with names)"
        )
    if workspace_error and workspace_error not in error:
        error = f"{error}; {workspace_error}" if error else workspace_error
    return {
        "status": result.status,
        "exit_code": result.exit_code,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "stdout_truncated": result.stdout_truncated,
        "stderr_truncated": result.stderr_truncated,
        "image": result.image,
        "error": error,
        "workspace_too_large": too_large,
        "files": None if files is None else {k: base64.b64encode(v).decode("ascii") for k, v in files.items()},
    }


def _body_size(body: dict[str, Any]) -> int:
    return len(json.dumps(body).encode())  # what requests sends for json=


def _reduced(body: dict[str, Any], reason: str, *, log_chars: int | None = None) -> dict[str, Any]:
    """The same result without the workspace (the API keeps the previous one), logs cut to ``log_chars`` if given,
    and ``reason`` appended to the error."""
    reduced = dict(body, files=None, workspace_too_large=bool(body.get("files")) or body.get("workspace_too_large"))
    if log_chars is not None:
        for stream in ("stdout", "stderr"):
            text = reduced.get(stream) or ""
            if len(text) > log_chars:
                reduced[stream] = text[:log_chars]
                reduced[f"{stream}_truncated"] = True
    error = reduced.get("error") or ""
    reduced["error"] = (f"{error}; {reason}" if error else reason)[:4000]
    return reduced


def fit_result(body: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """A result body that fits in ``max_bytes``: the workspace goes first, then most of the logs. The exit code,
    the status and the reason always stay, so that the run is recorded whatever the agent left behind."""
    size = _body_size(body)
    if size <= max_bytes:
        return body
    reason = f"the result was {size} bytes, over the API's limit of {max_bytes}: the workspace was not saved"
    reduced = _reduced(body, reason)
    if _body_size(reduced) > max_bytes:
        reduced = _reduced(body, reason + " and the logs were cut", log_chars=REDUCED_LOG_CHARS)
    return reduced


def _post_result(
    api: WorkerAPI, execution_id: int, body: dict[str, Any], *, run_ended: Callable[[], None] | None = None
) -> str:
    """Post the result; if the API refuses it as too large or invalid (413/400), post it once more reduced (no
    workspace, short logs) so that the run is still recorded. Refusals about the claim (409) end here.

    A recorded result says the run is over; when the first post fails, ``run_ended`` is called before anything else
    is tried (it tells the API so on its own, in case no result ever gets through)."""
    path = f"/sandbox/executions/{execution_id}/result"
    reduced = False
    attempt = 0
    while True:
        try:
            api.post(path, body)
            return body["status"]
        except ApiRefused as exc:
            if exc.code == ALREADY_RECORDED and attempt > 0:
                return body["status"]  # our earlier post got through before the connection broke
            if run_ended is not None and exc.code != ALREADY_RECORDED:
                run_ended()
                run_ended = None
            if exc.status in (400, 413) and not reduced:
                log.warning("execution %s: result refused (%s); posting it reduced", execution_id, exc)
                reason = f"the API refused the full result ({exc.status} {exc.code}): the workspace was not saved"
                body, reduced = _reduced(body, reason, log_chars=REDUCED_LOG_CHARS), True
                continue
            log.warning("execution %s: result refused: %s", execution_id, exc)
            return f"refused:{exc.code}"
        except ApiUnavailable as exc:
            if run_ended is not None:
                run_ended()
                run_ended = None
            if attempt == RESULT_POST_ATTEMPTS - 1:
                raise
            log.warning("execution %s: result post failed (%s); retrying", execution_id, exc)
            time.sleep(min(2**attempt, 10))
        attempt += 1


def _report_run_ended(api: WorkerAPI, execution_id: int, attempt: int) -> None:
    """Tell the API the agent's run is over (its compute was delivered) when its result did not get through at the
    first try: an execution whose result then never arrives is not refunded (see ``services.mark_execution_lost``).
    ``result_already_recorded`` means the result got there after all: nothing left to say."""
    try:
        api.post(f"/sandbox/executions/{execution_id}/heartbeat", {"attempt": attempt, "run_ended": True})
    except ApiRefused as exc:
        if exc.code != ALREADY_RECORDED:
            log.warning("execution %s: could not report the end of the run: %s", execution_id, exc)
    except ApiUnavailable as exc:
        log.warning("execution %s: could not report the end of the run: %s", execution_id, exc)


_removals: dict[int, tuple[ThreadPoolExecutor, set[Future]]] = {}
_removals_lock = threading.Lock()


def remove_later(remove: Callable[[], None]) -> None:
    """Run ``remove`` (a finished run's container and staging removal) on this process's removal thread, off the
    dispatch -> result path; :func:`wait_removals` (called by :func:`close_pools`, at exit) waits for them."""
    with _removals_lock:
        executor, pending = _removals.get(os.getpid(), (None, set()))
        if executor is None:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bp-remove")
            _removals[os.getpid()] = (executor, pending)
        future = executor.submit(remove)
        pending.add(future)

    def done(finished: Future) -> None:
        with _removals_lock:
            pending.discard(finished)
        if finished.exception() is not None:
            log.warning("could not remove a finished run's container: %s", finished.exception())

    future.add_done_callback(done)


def wait_removals(timeout: float | None = 60.0) -> bool:
    """Wait until this process's pending container removals are done; False if some are still pending."""
    with _removals_lock:
        _executor, pending = _removals.get(os.getpid(), (None, set()))
        waiting = set(pending)
    if not waiting:
        return True
    _done, not_done = futures_wait(waiting, timeout=timeout)
    return not not_done


def run_execution(execution_id: int, *, config: WorkerConfig, client: Any = None) -> str:
    """Claim, run and report one execution. Returns the recorded status, ``skipped`` when it was not ours to run,
    or ``refused:<code>`` when the API refused the result (the claim was taken over meanwhile)."""
    api = WorkerAPI(config)
    client = client or _docker()
    # Build or check the runtime image before claiming: the claim's token and lease start ticking at once.
    prepare_runtime_image(client)
    phases = Stopwatch()
    try:
        try:
            spec = api.post(f"/sandbox/executions/{execution_id}/claim", {})
            phases.lap("claim")
        except ApiRefused as exc:
            if exc.code == CLAIMED_ELSEWHERE or exc.status == 404:
                log.info("execution %s not claimable (%s); nothing to do", execution_id, exc.code)
                return "skipped"
            raise
        attempt = int(spec["attempt"])
        max_files = int(spec.get("workspace_max_files") or DEFAULT_WORKSPACE_MAX_FILES)
        keeper = LeaseKeeper(
            api,
            client,
            execution_id,
            attempt,
            interval=max(0.5, spec["lease_seconds"] / 3),
            container=config.container_name(execution_id),
        )
        keeper.start()
        phases.lap("lease_keeper")
        cleanup: list = []  # the container is removed after the result is posted (the agent is dead by then)
        details: dict[str, float] = {}  # milliseconds of the run's own phases
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
                workspace_max_bytes=spec["workspace_max_bytes"],
                workspace_max_files=max_files,
                log_cap=spec["log_cap"],
                worker_name=config.name,
                deployment=config.deployment_id,
                staging_root=config.staging_dir,
                extra_env={"BP_SEED": str(spec["seed"])},
                pool=warm_pool(config, client),
                cleanup=cleanup,
            )
            phases.lap("run_container")
            details.update({f"run.{k}": v for k, v in result.details.get("phases", {}).items()})
            details.update({f"wrapper.{k}": v for k, v in result.details.get("wrapper_phases", {}).items()})
            body = _outcome(result, spec["workspace_max_bytes"], max_files)
            ran = True
        except Exception as exc:  # the engine failed us, not the agent: still report once
            log.exception("execution %s: the sandbox failed", execution_id)
            body = {"status": "FAILED", "error": f"sandbox error: {type(exc).__name__}: {exc}"[:4000], "files": None}
            ran = False
        finally:
            keeper.stop()
        phases.lap("lease_keeper_stop")
        body["attempt"] = attempt
        # The result says the run is over (the API records run_ended_at with it); only if it does not get through at
        # once does the worker say so on its own first, so that the delivered compute is not refunded.
        run_ended = (
            functools.partial(_report_run_ended, api, execution_id, attempt) if ran and not keeper.lost else None
        )
        max_bytes = int(spec.get("max_result_bytes") or DEFAULT_MAX_RESULT_BYTES)
        body = fit_result(body, max(4096, max_bytes - RESULT_MARGIN_BYTES))
        try:
            return _post_result(api, execution_id, body, run_ended=run_ended)
        finally:
            phases.lap("result_post")
            for remove in cleanup:  # the agent is dead and its result posted: remove the container off this path
                remove_later(remove)
            phases.lap("cleanup")
            last_phases.clear()
            last_phases.update(phases.ms())
            last_phases.update(details)
    finally:
        api.close()


def identify_worker(config: WorkerConfig, *, wait_seconds: float = 60.0) -> str:
    """The name of this worker's token (``GET /sandbox/workers/me``): the host the worker reports for.

    Raises :class:`WorkerTokenRefused` when the token is missing or refused, :class:`ApiUnavailable` when the API
    could not be reached within ``wait_seconds``."""
    if not config.token:
        raise WorkerTokenRefused("BP_WORKER_TOKEN is not set (manage.py create_worker_token --name NAME prints one).")
    api = WorkerAPI(config)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                return str(api.get("/sandbox/workers/me")["name"])
            except ApiRefused as exc:
                raise WorkerTokenRefused(
                    f"the API at {config.api_url} refused BP_WORKER_TOKEN ({exc.status} {exc.code}): "
                    "create one with manage.py create_worker_token --name NAME"
                ) from exc
            except ApiUnavailable as exc:
                if time.monotonic() >= deadline:
                    raise
                log.warning("the API is not reachable yet (%s); retrying", exc)
                time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))
    finally:
        api.close()


def report_capacity(config: WorkerConfig) -> dict[str, Any]:
    """Tell the market what this host offers (``POST /sandbox/workers/heartbeat``; the API takes the host's name
    from the token)."""
    api = WorkerAPI(config)
    try:
        return api.post(
            "/sandbox/workers/heartbeat", {"cpu_millicores": config.cpu_millicores, "memory_mb": config.memory_mb}
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
