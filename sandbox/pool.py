"""A warm pool of agent containers (no Django imports).

Starting a container is most of an execution's cost (about 0.2-0.3 s). The pool keeps ``size`` containers started
ahead of demand, each already locked down exactly as a cold one (``docker_runner._container_options``: no network,
read-only root, capabilities dropped, no-new-privileges, uid 1000, capped tmpfs and log), with its own staging
directory (seed and run dirs bind-mounted at creation). Its wrapper (PID 1) waits on a control socket in the run dir
(``/run/bp/ctl.sock``), holding no execution's data and using no CPU.

A run takes one (:meth:`WarmPool.take`), writes the workspace into its seed dir, starts the API proxy on its run
dir's socket, renames it ``bp-<deployment>-<worker>-<execution>``, sets the bundle's memory, swap, CPU and pids
limits with ``docker update`` and sends the execution's environment over the control connection: the go. Wall time
counts from the go. The container serves that one execution and is then removed, never reused.

Background threads refill the pool. Pooled containers are named ``bp-<deployment>-<worker>-pool-<random>`` and
labelled ``bp.pool=<worker>`` and ``bp.deployment`` (not ``bp.execution``: labels are fixed at creation, before any
execution), so a worker's start-up reaper and ``reap_containers`` remove them. :meth:`WarmPool.close` removes every
container it holds; if the worker process dies instead, its control connections close and the waiting wrappers exit
at once (nothing runs), until the reaper removes them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import docker
import docker.errors

from .docker_runner import (
    DEFAULT_DEPLOYMENT,
    LABEL_DEPLOYMENT,
    LABEL_POOL,
    PoolKey,
    _container_options,
    _remove_container,
    container_name,
    make_stage,
)

__all__ = ["CONTROL_SOCKET_NAME", "WarmContainer", "WarmPool"]

log = logging.getLogger(__name__)

CONTROL_SOCKET_NAME = "ctl.sock"
# Limits of a waiting container (the run sets the bundle's before the go): enough for the idle wrapper.
IDLE_CPU_MILLICORES = 250
IDLE_MEMORY_MB = 64
IDLE_PIDS = 16


@dataclass(kw_only=True, eq=False)
class WarmContainer:
    """A started pooled container whose wrapper waits for its go on ``control`` (a connected Unix socket)."""

    key: PoolKey
    container_id: str
    name: str
    stage: str
    seed_dir: str
    run_dir: str
    control: socket.socket | None

    def alive(self) -> bool:
        """The wrapper is still waiting (it never writes after its ``ready``: a readable socket means it hung up)."""
        if self.control is None:
            return False
        with selectors.DefaultSelector() as sel:
            sel.register(self.control, selectors.EVENT_READ)
            return not sel.select(0)

    def go(self, env: Mapping[str, str]) -> None:
        """Send the execution's environment and hang up: the wrapper seeds /workspace and starts the agent."""
        if self.control is None:
            raise RuntimeError("this warm container has already been used")
        control, self.control = self.control, None
        with control:
            control.settimeout(5)
            control.sendall(json.dumps({"env": dict(env)}).encode())
            control.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        if self.control is not None:
            with contextlib.suppress(OSError):
                self.control.close()
            self.control = None


class WarmPool:
    """Keep ``size`` started, waiting containers of the current key (the first :meth:`take` or :meth:`prewarm`
    sets it; a different key replaces the pool's containers). Thread-safe; one per worker process."""

    def __init__(
        self,
        client: docker.DockerClient,
        *,
        size: int,
        worker_name: str,
        deployment: str = DEFAULT_DEPLOYMENT,
        staging_root: str | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        self.client = client
        self.size = max(0, int(size))
        self.worker_name = worker_name
        self.deployment = deployment
        self.staging_root = staging_root
        self.ready_timeout = ready_timeout
        self.key: PoolKey | None = None
        self._ready: list[WarmContainer] = []
        self._cond = threading.Condition()
        self._closed = False
        self._starting = 0  # containers being started by the refill threads
        self._threads: list[threading.Thread] = []
        self.created = 0
        self.taken = 0
        self.missed = 0  # takes that found no ready container of their key
        self.failures = 0

    # --- use ----------------------------------------------------------------------------------------------------

    def take(self, key: PoolKey) -> WarmContainer | None:
        """A ready container of ``key``, or None (the caller runs cold). Makes ``key`` the pool's key."""
        discard: list[WarmContainer] = []
        found = None
        with self._cond:
            if self._closed:
                return None
            if key != self.key:
                discard, self._ready = self._ready, []
                self.key = key
            while self._ready:
                warm = self._ready.pop(0)
                if warm.alive():
                    found = warm
                    break
                discard.append(warm)
            if found is not None:
                self.taken += 1
            else:
                self.missed += 1
            self._cond.notify_all()
        for warm in discard:
            self._destroy(warm)
        self._ensure_thread()
        return found

    def prewarm(self, key: PoolKey, *, wait: float = 0.0) -> int:
        """Make ``key`` the pool's key and start refilling; with ``wait``, block up to that many seconds until
        ``size`` containers are ready. Returns how many are ready."""
        discard: list[WarmContainer] = []
        with self._cond:
            if key != self.key:
                discard, self._ready = self._ready, []
                self.key = key
            self._cond.notify_all()
        for warm in discard:
            self._destroy(warm)
        self._ensure_thread()
        deadline = time.monotonic() + wait
        with self._cond:
            while len(self._ready) < self.size and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return len(self._ready)

    @property
    def ready(self) -> int:
        with self._cond:
            return len(self._ready)

    def start(self) -> WarmPool:
        self._ensure_thread()
        return self

    def close(self) -> None:
        """Stop refilling and remove every container the pool holds (a run in progress keeps its own)."""
        with self._cond:
            self._closed = True
            held, self._ready = self._ready, []
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(self.ready_timeout + 10)
        for warm in held:
            self._destroy(warm)

    # --- refill -------------------------------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        """Start the refill threads (as many as the pool holds, at most 2: container starts overlap well in dockerd,
        and every claim leaves a gap to fill)."""
        with self._cond:
            if self._threads or self._closed or self.size <= 0:
                return
            for index in range(min(self.size, 2)):
                thread = threading.Thread(target=self._refill, name=f"bp-pool-{self.worker_name}-{index}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def _refill(self) -> None:
        backoff = 0.5
        while True:
            with self._cond:
                while not self._closed and (self.key is None or len(self._ready) + self._starting >= self.size):
                    self._cond.wait()
                if self._closed:
                    return
                key = self.key
                self._starting += 1
            assert key is not None
            try:
                warm = self._make(key)
            except Exception as exc:
                with self._cond:
                    self._starting -= 1
                    self.failures += 1
                log.warning("warm pool: could not start a container (%s); retrying in %.1fs", exc, backoff)
                with self._cond:
                    self._cond.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 0.5
            with self._cond:
                self._starting -= 1
                if self._closed or key != self.key:
                    stale = True
                else:
                    stale = False
                    self._ready.append(warm)
                    self.created += 1
                    self._cond.notify_all()
            if stale:
                self._destroy(warm)

    def _make(self, key: PoolKey) -> WarmContainer:
        stage, seed_dir, run_dir = make_stage(self.staging_root, prefix="bp-pool-")
        name = container_name(f"pool-{uuid.uuid4().hex[:12]}", worker_name=self.worker_name, deployment=self.deployment)
        control_path = os.path.join(run_dir, CONTROL_SOCKET_NAME)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        container_id = None
        try:
            listener.bind(control_path)
            os.chmod(control_path, 0o666)  # noqa: S103 - uid 1000 in the container connects
            listener.listen(1)
            listener.settimeout(self.ready_timeout)
            container = self.client.containers.create(
                **_container_options(
                    image=key.image,
                    name=name,
                    labels={LABEL_POOL: self.worker_name, LABEL_DEPLOYMENT: self.deployment},
                    environment={"BP_POOL": "1"},
                    cpu_millicores=IDLE_CPU_MILLICORES,
                    memory_mb=IDLE_MEMORY_MB,
                    pids_limit=IDLE_PIDS,
                    workspace_cap_mb=key.workspace_cap_mb,
                    log_cap=key.log_cap,
                    seed_dir=seed_dir,
                    run_dir=run_dir,
                )
            )
            container_id = container.id
            container.start()
            control, _ = listener.accept()
            control.settimeout(self.ready_timeout)
            hello = control.recv(16)
            if hello != b"ready\n":
                control.close()
                raise RuntimeError(f"unexpected hello from the pooled wrapper: {hello!r}")
            control.settimeout(None)
            return WarmContainer(
                key=key,
                container_id=container_id,
                name=name,
                stage=stage,
                seed_dir=seed_dir,
                run_dir=run_dir,
                control=control,
            )
        except BaseException:
            if container_id is not None:
                _remove_container(self.client, container_id)
            shutil.rmtree(stage, ignore_errors=True)
            raise
        finally:
            # Nobody else may ever reach the control socket: the agent runs in this container later.
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(control_path)

    def _destroy(self, warm: WarmContainer) -> None:
        warm.close()
        with contextlib.suppress(docker.errors.APIError):
            _remove_container(self.client, warm.container_id)
        shutil.rmtree(warm.stage, ignore_errors=True)

    def stats(self) -> Mapping[str, int]:
        return {
            "size": self.size,
            "ready": self.ready,
            "created": self.created,
            "taken": self.taken,
            "missed": self.missed,
            "failures": self.failures,
        }
