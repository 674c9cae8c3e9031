"""Run one agent execution in a locked-down Docker container (no Django imports).

The container (runtime image, command /opt/bp/run.py) has no network (``network_mode="none"``); the API is reached
only through a per-execution Unix socket served by :class:`sandbox.proxy.UnixSocketProxy` and bind-mounted
read-only at /run/bp. The workspace files are staged in a temporary directory mounted read-only at /seed; the
wrapper copies them into a size-capped tmpfs /workspace, runs the agent, and prints one ``bp_result`` JSON line with
capped logs and the workspace as base64 tar.gz.

docker-py traps handled here: ``wait(timeout=)`` does not stop the container (we SIGTERM, then kill); no
``auto_remove`` (it races with reading the logs): create, start, wait, read, remove in ``finally``; deterministic
names ``bp-<deployment>-<worker>-<execution_id>`` (a leftover from an earlier attempt of the same worker is removed
first), and labels carrying the deployment, the worker and the execution: two economies (or a test run beside a
running one) on one Docker engine never touch each other's containers.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import itertools
import json
import math
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig, Ulimit

from .proxy import UnixSocketProxy

__all__ = [
    "DEFAULT_DEPLOYMENT",
    "FAILED",
    "LABEL_AGENT",
    "LABEL_DEPLOYMENT",
    "LABEL_EXECUTION",
    "LABEL_POOL",
    "LABEL_WORKER",
    "OOM_KILLED",
    "STATUSES",
    "SUCCEEDED",
    "TIMED_OUT",
    "PoolKey",
    "RunResult",
    "Stopwatch",
    "container_name",
    "execution_containers",
    "pool_key",
    "reap_containers",
    "run_container",
]

LABEL_EXECUTION = "bp.execution"
LABEL_AGENT = "bp.agent"
LABEL_WORKER = "bp.worker"
LABEL_DEPLOYMENT = "bp.deployment"
# A warm-pool container is labelled bp.pool=<worker> and bp.deployment, not bp.execution/bp.worker (labels are fixed
# at creation, before any execution): it carries its execution in its name once claimed.
LABEL_POOL = "bp.pool"
POOL_EXECUTION = "pool"
DEFAULT_DEPLOYMENT = "default"

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
OOM_KILLED = "OOM_KILLED"
STATUSES = (SUCCEEDED, FAILED, TIMED_OUT, OOM_KILLED)

SOCKET_DIR = "/run/bp"
SOCKET_NAME = "api.sock"
SEED_DIR = "/seed"
CONTAINER_TMP = "/tmp"  # noqa: S108 - the container's own /tmp: a size-capped tmpfs
TMP_SIZE_MB = 8
TERM_GRACE_SECONDS = 2.0
RESULT_PREFIX = b'{"bp_result"'


@dataclass
class RunResult:
    """The outcome of one execution. ``files`` is the workspace after the run (None when not saved)."""

    status: str
    exit_code: int | None
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    started_at: dt.datetime
    finished_at: dt.datetime
    image: str
    files: dict[str, bytes] | None = None
    oom_killed: bool = False
    timed_out: bool = False
    container_id: str | None = None
    error: str | None = None  # set when the wrapper's report is missing or unreadable
    details: dict[str, Any] = field(default_factory=dict)
    workspace_error: str | None = None  # why the workspace was not returned (over the caps, unreadable)

    @property
    def duration(self) -> float:
        """Seconds from container start to exit."""
        return (self.finished_at - self.started_at).total_seconds()


def container_name(execution_id: str | int, *, worker_name: str, deployment: str = DEFAULT_DEPLOYMENT) -> str:
    """The container's name: unique per deployment, worker and execution (Docker allows ``[a-zA-Z0-9_.-]``)."""
    return re.sub(r"[^a-zA-Z0-9_.-]", "_", f"bp-{deployment}-{worker_name}-{execution_id}")


class Stopwatch:
    """Seconds spent in each named phase, in order (``lap(name)`` closes the phase that ends now; a name used again
    adds up). ``ms()``: the same in milliseconds."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + (now - self._last)
        self._last = now

    def ms(self) -> dict[str, float]:
        return {name: seconds * 1000 for name, seconds in self.laps.items()}


@dataclass(frozen=True)
class PoolKey:
    """What a warm container must have been created with to serve a run: set at creation, not changeable later."""

    image: str
    workspace_cap_mb: int
    log_cap: int


def pool_key(*, image: str, workspace_cap_mb: int, log_cap: int) -> PoolKey:
    return PoolKey(image=image, workspace_cap_mb=int(workspace_cap_mb), log_cap=int(log_cap))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _safe_relpath(name: str) -> str:
    norm = posixpath.normpath(name.replace("\\", "/"))
    if not name or norm.startswith(("/", "../")) or norm in {".", ".."} or "\0" in name:
        raise ValueError(f"bad workspace file name: {name!r}")
    return norm


def _stage_files(seed_dir: str, files: Mapping[str, bytes]) -> None:
    for name, content in files.items():
        rel = _safe_relpath(name)
        path = os.path.join(seed_dir, *rel.split("/"))
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(content)
        os.chmod(path, 0o644)


def _remove_container(client: docker.DockerClient, name_or_id: str) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_container(name_or_id, force=True, v=True)


def _wait(container: Any, timeout: float) -> int | None:
    """Exit code, or None when the container is still running after ``timeout`` seconds."""
    try:
        answer = container.wait(timeout=max(timeout, 0.1))
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        return None
    return int(answer.get("StatusCode", -1))


class _ReportReader(threading.Thread):
    """Reads the container's stdout (the wrapper's, which carries nothing but its one report line) as it is written,
    so that the report is in hand as soon as the wrapper prints it, before dockerd has finished the container's exit.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(name="bp-report", daemon=True)
        self.stream = stream
        self.data = bytearray()
        self.done = threading.Event()

    def run(self) -> None:
        try:
            for chunk in self.stream:
                self.data += chunk
                if b"\n" in chunk and self.data.startswith(RESULT_PREFIX):
                    break
        except Exception:  # noqa: S110 - a broken stream only means the slow path (wait, then read the logs)
            pass
        finally:
            self.done.set()

    def report_line(self) -> bytes | None:
        """The complete report line, if the wrapper has printed one."""
        if not self.done.is_set() or not self.data.startswith(RESULT_PREFIX) or b"\n" not in self.data:
            return None
        return bytes(self.data[: self.data.index(b"\n") + 1])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stream.close()


def _attach_report(client: docker.DockerClient, container_id: str) -> _ReportReader | None:
    try:
        stream = client.api.attach(container_id, stdout=True, stderr=False, stream=True, logs=False)
    except docker.errors.APIError:
        return None
    reader = _ReportReader(stream)
    reader.start()
    return reader


def _parse_report(logs: bytes) -> dict[str, Any] | None:
    for line in reversed(logs.splitlines()):
        if line.startswith(RESULT_PREFIX):
            try:
                report = json.loads(line)
            except ValueError:
                return None
            return report if isinstance(report, dict) and report.get("bp_result") == 1 else None
    return None


class WorkspaceOverCap(ValueError):
    """The returned workspace holds more files or bytes (names included) than the caps allow."""


def _decode_workspace(encoded: str, limit: int, max_files: int = 256) -> dict[str, bytes]:
    """The regular files of a base64 tar.gz. At most ``max_files`` files and as many other entries, and at most
    ``limit`` bytes of contents and names together; reading stops at the first entry over a cap."""
    raw = base64.b64decode(encoded, validate=True)
    out: dict[str, bytes] = {}
    total = others = 0
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        for member in tar:
            total += len(member.name.encode()) + (member.size if member.isreg() else 0)
            if total > limit:
                raise WorkspaceOverCap(f"workspace over the cap of {limit} bytes (names included)")
            if not member.isreg():
                others += 1
                if others > max_files:
                    raise WorkspaceOverCap(f"workspace over the cap of {max_files} directories and other entries")
                continue
            if len(out) >= max_files:
                raise WorkspaceOverCap(f"workspace over the cap of {max_files} files")
            fh = tar.extractfile(member)
            if fh is not None:
                out[_safe_relpath(member.name)] = fh.read()
    return out


def _log_max_size_mb(workspace_cap_mb: int, log_cap: int) -> int:
    # The report line holds base64(tar.gz(workspace)) (~4/3 of the workspace at worst, plus tar headers) and both
    # capped logs JSON-escaped (up to 6 chars per byte, then docker's own escaping); keep room for all of it.
    logs_mb = math.ceil(2 * log_cap * 7 / (1024 * 1024))
    return math.ceil(workspace_cap_mb * 1.5) + logs_mb + 2


def _container_options(
    *,
    image: str,
    name: str,
    labels: Mapping[str, str],
    environment: Mapping[str, str],
    cpu_millicores: int,
    memory_mb: int,
    pids_limit: int,
    workspace_cap_mb: int,
    log_cap: int,
    seed_dir: str,
    run_dir: str,
) -> dict[str, Any]:
    """``containers.create`` arguments of every agent container, cold or pooled: no network, the API only through
    the socket in the read-only run dir, read-only root, capped tmpfs, all capabilities dropped, no-new-privileges,
    uid 1000, the bundle's limits, a bounded log."""
    memory = f"{int(memory_mb)}m"
    return {
        "image": image,
        "name": name,
        "labels": dict(labels),
        "environment": dict(environment),
        "network_mode": "none",
        "mem_limit": memory,
        "memswap_limit": memory,
        "nano_cpus": int(cpu_millicores) * 1_000_000,
        "pids_limit": int(pids_limit),
        "read_only": True,
        "tmpfs": {
            CONTAINER_TMP: f"rw,nosuid,nodev,noexec,size={TMP_SIZE_MB}m,mode=1777",
            "/workspace": f"rw,nosuid,nodev,size={int(workspace_cap_mb)}m,uid=1000,gid=1000,mode=0700",
        },
        "volumes": {
            seed_dir: {"bind": SEED_DIR, "mode": "ro"},
            run_dir: {"bind": SOCKET_DIR, "mode": "ro"},
        },
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "user": "1000:1000",
        "working_dir": "/workspace",
        "ulimits": [Ulimit(name="nofile", soft=1024, hard=1024)],
        "log_config": LogConfig(
            type=LogConfig.types.JSON,
            config={"max-size": f"{_log_max_size_mb(workspace_cap_mb, log_cap)}m", "max-file": "1"},
        ),
        "stdin_open": False,
        "tty": False,
    }


def make_stage(staging_root: str | None, prefix: str = "bp-") -> tuple[str, str, str]:
    """A staging directory with ``seed`` (mounted at /seed) and ``run`` (mounted at /run/bp) in it; uid 1000 in the
    container must traverse them and read the seed files. Returns (stage, seed_dir, run_dir)."""
    stage = tempfile.mkdtemp(prefix=prefix, dir=staging_root)
    seed_dir = os.path.join(stage, "seed")
    run_dir = os.path.join(stage, "run")
    os.mkdir(seed_dir)
    os.mkdir(run_dir)
    for path in (stage, seed_dir, run_dir):
        os.chmod(path, 0o755)  # noqa: S103 - read-only for others on purpose
    return stage, seed_dir, run_dir


_engine_pools: dict[int, ThreadPoolExecutor] = {}
_engine_pool_lock = threading.Lock()


def _engine_calls() -> ThreadPoolExecutor:
    """Threads for Engine API calls a run makes side by side (one set per process: a forked child gets its own)."""
    with _engine_pool_lock:
        executor = _engine_pools.get(os.getpid())
        if executor is None:
            executor = _engine_pools[os.getpid()] = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bp-engine")
        return executor


def _rename_over_leftover(client: docker.DockerClient, container_id: str, name: str) -> None:
    """Rename a claimed pooled container to its execution's name; a leftover of an earlier attempt of the same
    execution on this worker (at-least-once delivery) holding the name is removed first."""
    try:
        client.api.rename(container_id, name)
    except docker.errors.APIError as exc:
        if exc.status_code != 409:
            raise
        _remove_container(client, name)
        client.api.rename(container_id, name)


def update_limits(
    client: docker.DockerClient, container_id: str, *, cpu_millicores: int, memory_mb: int, pids_limit: int
) -> None:
    """Set a running container's memory (and swap), CPU and pids limits in one ``POST /containers/{id}/update``.

    docker-py's ``update_container`` has no NanoCpus or PidsLimit; the Engine API has both (PidsLimit since 1.40)."""
    memory = int(memory_mb) * 1024 * 1024
    api = client.api
    response = api._post_json(
        api._url("/containers/{0}/update", container_id),
        data={
            "Memory": memory,
            "MemorySwap": memory,
            "NanoCpus": int(cpu_millicores) * 1_000_000,
            "PidsLimit": int(pids_limit),
        },
    )
    api._result(response, True)


def run_container(
    *,
    client: docker.DockerClient,
    image: str,
    execution_id: str | int,
    agent_id: str | int,
    token: str,
    api_target: tuple[str, int],
    files: Mapping[str, bytes],
    cpu_millicores: int,
    memory_mb: int,
    wall_seconds: float,
    pids_limit: int = 64,
    workspace_cap_mb: int = 16,
    workspace_max_bytes: int | None = None,
    workspace_max_files: int = 256,
    log_cap: int = 65536,
    worker_name: str = "worker",
    deployment: str = DEFAULT_DEPLOYMENT,
    staging_root: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    pool: Any = None,
    cleanup: list[Callable[[], None]] | None = None,
) -> RunResult:
    """Run ``/workspace/agent.py`` (from ``files``) in a fresh container and return what happened.

    With a ``pool`` (:class:`sandbox.pool.WarmPool`) holding a ready container of this image, workspace cap and log
    cap, that container serves the run (renamed to this execution, its limits set to the bundle, then told to go);
    otherwise a new container is created and started. Either way the container runs this one execution and is then
    removed. ``staging_root`` (default: the system temp dir) must be a path dockerd can bind-mount, i.e. on the docker
    host itself. The container and the staging directory are always removed: before returning, or, when ``cleanup``
    is a list, by the callable appended to it, which the caller must call (the worker posts the result first; by then
    the wrapper has killed every process of the agent's and printed its report).
    """
    execution_id = str(execution_id)
    workspace_limit = int(workspace_max_bytes) if workspace_max_bytes else int(workspace_cap_mb) * 1024 * 1024
    name = container_name(execution_id, worker_name=worker_name, deployment=deployment)
    phases = Stopwatch()

    env = {
        **(extra_env or {}),
        "BP_API_URL": f"unix://{SOCKET_DIR}/{SOCKET_NAME}",
        "BP_AGENT_ID": str(agent_id),
        "BP_TOKEN": token,
        "BP_EXECUTION_ID": execution_id,
        "BP_LOG_CAP": str(int(log_cap)),
        "BP_WORKSPACE_MAX_BYTES": str(int(workspace_limit)),
        "BP_WORKSPACE_MAX_FILES": str(int(workspace_max_files)),
    }
    limits = {"cpu_millicores": int(cpu_millicores), "memory_mb": int(memory_mb), "pids_limit": int(pids_limit)}
    warm = None
    if pool is not None:
        warm = pool.take(pool_key(image=image, workspace_cap_mb=workspace_cap_mb, log_cap=log_cap))
        phases.lap("pool_take")
    stage = warm.stage if warm is not None else None
    container: Any = None
    proxy: UnixSocketProxy | None = None
    reader: _ReportReader | None = None
    started_at = finished_at = _now()
    try:
        if warm is not None:
            try:
                _stage_files(warm.seed_dir, files)
                phases.lap("stage_files")
                proxy = UnixSocketProxy(os.path.join(warm.run_dir, SOCKET_NAME), api_target[0], api_target[1]).start()
                phases.lap("proxy_start")
                container = client.containers.prepare_model({"Id": warm.container_id})
                # Three independent Engine API calls at once; all done before the go.
                calls = [
                    _engine_calls().submit(_rename_over_leftover, client, warm.container_id, name),
                    _engine_calls().submit(update_limits, client, warm.container_id, **limits),
                ]
                try:
                    reader = _attach_report(client, warm.container_id)
                finally:
                    futures_wait(calls)
                for call in calls:
                    call.result()
                phases.lap("rename+update_limits+attach")
                started_at = _now()
                t0 = time.monotonic()
                warm.go(env)
                phases.lap("go")
            except Exception:  # the warm container failed us before the agent started: run cold instead
                pool.release(warm)
                _remove_container(client, warm.container_id)
                if proxy is not None:
                    proxy.stop()
                    proxy = None
                if reader is not None:
                    reader.close()
                    reader = None
                shutil.rmtree(warm.stage, ignore_errors=True)
                warm.close()
                warm = container = None
        if warm is None:
            _remove_container(client, name)  # leftover of an earlier attempt (at-least-once delivery)
            phases.lap("remove_leftover")
            stage, seed_dir, run_dir = make_stage(staging_root)
            _stage_files(seed_dir, files)
            proxy = UnixSocketProxy(os.path.join(run_dir, SOCKET_NAME), api_target[0], api_target[1]).start()
            container = client.containers.create(
                **_container_options(
                    image=image,
                    name=name,
                    labels={
                        LABEL_EXECUTION: execution_id,
                        LABEL_AGENT: str(agent_id),
                        LABEL_WORKER: worker_name,
                        LABEL_DEPLOYMENT: deployment,
                    },
                    environment=env,
                    workspace_cap_mb=workspace_cap_mb,
                    log_cap=log_cap,
                    seed_dir=seed_dir,
                    run_dir=run_dir,
                    **limits,
                )
            )
            phases.lap("create")
            reader = _attach_report(client, container.id)
            phases.lap("attach")
            started_at = _now()
            t0 = time.monotonic()
            container.start()
            phases.lap("start")

        # Fast path: the wrapper's report, read as it is printed. The wrapper prints it last, after every process of
        # the agent's is dead; the container's exit is then dockerd's business (and the cleanup's).
        line = None
        if reader is not None:
            reader.done.wait(wall_seconds)
            line = reader.report_line()
            reported = time.monotonic()
            phases.lap("run_to_report")
            reader.close()
            phases.lap("detach")
        if line is not None:
            finished_at = started_at + dt.timedelta(seconds=time.monotonic() - t0)
            result = _result(
                image=image,
                container_id=container.id,
                state={},
                exit_code=None,
                timed_out=False,
                logs_out=line,
                logs_err=b"",
                started_at=started_at,
                finished_at=finished_at,
                workspace_limit=int(workspace_cap_mb) * 1024 * 1024,
            )
            result.details["pooled"] = warm is not None
            phases.lap("parse_report")
            result.details["phases"] = phases.ms()
            result.details["wrapper_phases"] = _wrapper_phases(result.details.get("wrapper_marks"), t0, reported)
            return result

        timed_out = False
        exit_code = _wait(container, wall_seconds - (time.monotonic() - t0))
        if exit_code is None:
            timed_out = True
            with contextlib.suppress(docker.errors.APIError):
                container.kill(signal="SIGTERM")  # the wrapper kills the agent and still reports
            exit_code = _wait(container, TERM_GRACE_SECONDS)
            if exit_code is None:
                with contextlib.suppress(docker.errors.APIError):
                    container.kill()
                exit_code = _wait(container, 30)
        finished_at = started_at + dt.timedelta(seconds=time.monotonic() - t0)

        container.reload()
        state = container.attrs.get("State", {})
        if exit_code is None:
            exit_code = state.get("ExitCode")
        logs_out = container.logs(stdout=True, stderr=False)
        logs_err = container.logs(stdout=False, stderr=True)
        result = _result(
            image=image,
            container_id=container.id,
            state=state,
            exit_code=exit_code,
            timed_out=timed_out,
            logs_out=logs_out,
            logs_err=logs_err,
            started_at=started_at,
            finished_at=finished_at,
            workspace_limit=workspace_limit,
            workspace_max_files=int(workspace_max_files),
        )
        result.details["pooled"] = warm is not None
        return result
    finally:

        def remove() -> None:
            if warm is not None:
                pool.release(warm)  # its replacement may start: the run is over
            if reader is not None:
                reader.close()
            if container is not None:
                _remove_container(client, container.id)
            else:
                _remove_container(client, name)
            if proxy is not None:
                proxy.stop()
            if warm is not None:
                warm.close()
            if stage is not None:
                shutil.rmtree(stage, ignore_errors=True)

        if cleanup is None:
            remove()
        else:
            cleanup.append(remove)


def _wrapper_phases(marks: Any, sent: float, reported: float) -> dict[str, float]:
    """Milliseconds between the wrapper's steps (CLOCK_MONOTONIC is the host's too), from the go (or the start)
    the worker sent at ``sent`` to the report line it had at ``reported``."""
    if not isinstance(marks, dict):
        return {}
    steps = [("sent", sent)]
    steps += [(k, float(marks[k])) for k in ("go", "start", "seeded", "spawned", "exited", "reaped") if k in marks]
    steps.append(("reported", reported))
    return {f"{a}->{b}": (tb - ta) * 1000 for (a, ta), (b, tb) in itertools.pairwise(steps)}


def _result(
    *,
    image: str,
    container_id: str,
    state: Mapping[str, Any],
    exit_code: int | None,
    timed_out: bool,
    logs_out: bytes,
    logs_err: bytes,
    started_at: dt.datetime,
    finished_at: dt.datetime,
    workspace_limit: int,
    workspace_max_files: int = 256,
) -> RunResult:
    report = _parse_report(logs_out)
    error: str | None = None
    workspace_error: str | None = None
    files: dict[str, bytes] | None = None
    if report is None:
        error = "no bp_result report from the runtime wrapper"
        stdout, stderr = "", logs_err[-4096:].decode("utf-8", "replace")
        stdout_truncated = stderr_truncated = False
        oom_kills = None
    else:
        stdout, stderr = str(report.get("stdout", "")), str(report.get("stderr", ""))
        stdout_truncated = bool(report.get("stdout_truncated"))
        stderr_truncated = bool(report.get("stderr_truncated"))
        exit_code = int(report.get("exit_code", exit_code if exit_code is not None else -1))
        oom_kills = report.get("oom_kills")
        encoded = report.get("workspace")
        if report.get("workspace_error"):
            workspace_error = str(report["workspace_error"])[:500]
        elif isinstance(encoded, str):
            try:
                files = _decode_workspace(encoded, workspace_limit, workspace_max_files)
            except WorkspaceOverCap as exc:
                workspace_error = str(exc)
            except (ValueError, tarfile.TarError, EOFError, OSError) as exc:
                error = f"unreadable workspace archive: {exc}"
    oom_killed = bool(state.get("OOMKilled")) or (isinstance(oom_kills, int) and oom_kills > 0)
    if timed_out:
        status = TIMED_OUT
    elif exit_code == 0:
        status = SUCCEEDED
    elif oom_killed:
        status = OOM_KILLED
    else:
        status = FAILED
    return RunResult(
        status=status,
        exit_code=exit_code,
        stdout=stdout,
        stderr=stderr,
        stdout_truncated=stdout_truncated,
        stderr_truncated=stderr_truncated,
        started_at=started_at,
        finished_at=finished_at,
        image=image,
        files=files,
        oom_killed=oom_killed,
        timed_out=timed_out,
        container_id=container_id,
        error=error,
        workspace_error=workspace_error,
        details={
            "state_oom_killed": bool(state.get("OOMKilled")),
            "state_exit_code": state.get("ExitCode"),
            "oom_kills": oom_kills,
            "terminated": bool(report.get("terminated")) if report else None,
            "wrapper_stderr": logs_err[-4096:].decode("utf-8", "replace"),
            "wrapper_marks": report.get("marks") if report else None,
        },
    )


def _names(info: Mapping[str, Any]) -> list[str]:
    return [n.lstrip("/") for n in info.get("Names") or []]


def _mine(client: docker.DockerClient, *, worker_name: str | None, deployment: str) -> list[dict[str, Any]]:
    """This deployment's execution and warm-pool containers (only ``worker_name``'s if given)."""
    executions = [LABEL_EXECUTION, f"{LABEL_DEPLOYMENT}={deployment}"]
    pooled = [LABEL_POOL if worker_name is None else f"{LABEL_POOL}={worker_name}", f"{LABEL_DEPLOYMENT}={deployment}"]
    if worker_name is not None:
        executions.append(f"{LABEL_WORKER}={worker_name}")
    found: dict[str, dict[str, Any]] = {}
    for labels in (executions, pooled):
        for info in client.api.containers(all=True, filters={"label": labels}):
            found[info["Id"]] = info
    return list(found.values())


def _execution_of(info: Mapping[str, Any], deployment: str) -> str:
    labels = info.get("Labels") or {}
    if LABEL_POOL not in labels:
        return labels.get(LABEL_EXECUTION, "")
    # A claimed pooled container carries its execution in its name only.
    prefix = container_name("", worker_name=labels[LABEL_POOL], deployment=deployment)
    names = [n for n in _names(info) if n.startswith(prefix) and not n.startswith(prefix + "pool-")]
    return names[0][len(prefix) :] if names else POOL_EXECUTION


def execution_containers(
    client: docker.DockerClient, execution_id: str | int, *, worker_name: str, deployment: str = DEFAULT_DEPLOYMENT
) -> list[dict[str, Any]]:
    """The containers (``docker ps -a`` entries) serving ``execution_id`` for this worker: a cold container carries
    the execution in its label, a warm-pool one only in its name (it is renamed when it is claimed)."""
    return [
        info
        for info in _mine(client, worker_name=worker_name, deployment=deployment)
        if _execution_of(info, deployment) == str(execution_id)
    ]


def reap_containers(
    client: docker.DockerClient,
    *,
    worker_name: str | None = None,
    deployment: str = DEFAULT_DEPLOYMENT,
    keep: Iterable[str] = (),
) -> list[str]:
    """Force-remove this deployment's containers labelled ``bp.execution`` and its warm-pool containers (only
    ``worker_name``'s if given), except the execution ids in ``keep``; return the execution ids removed (``pool`` for
    a pooled container that never served one). Other deployments' containers are never touched."""
    keep_ids = {str(k) for k in keep}
    removed: list[str] = []
    for info in _mine(client, worker_name=worker_name, deployment=deployment):
        execution = _execution_of(info, deployment)
        if execution in keep_ids:
            continue
        _remove_container(client, info["Id"])
        removed.append(execution)
    return removed
