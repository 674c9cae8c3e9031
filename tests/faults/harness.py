"""Processes for fault injection: an own redis-server (restartable, never the shared one), real Celery worker and beat
processes against it and the test database, and waiting helpers. No Django imports at module level."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A free loopback port: from BP_TEST_PORTS (``8120-8129``) when set, else one the kernel picks."""
    spec = os.environ.get("BP_TEST_PORTS", "")
    if spec:
        low, _, high = spec.partition("-")
        for port in range(int(low), int(high or low) + 1):
            if _port_free(port):
                return port
        raise RuntimeError(f"no free port in BP_TEST_PORTS={spec}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of this test alone, on its own port, with an append-only file so that queued messages survive
    a restart (as a production broker's would)."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "yes",
                "--daemonize", "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_for(self.ping, 10, f"redis-server on port {self.port}")
        return self

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def freeze_then_restart(self, frozen_seconds: float = 3.0, down_seconds: float = 1.0) -> None:
        """The broker hangs (SIGSTOP: connections stay open, nothing answers), then dies and comes back."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        time.sleep(frozen_seconds)
        self.process.kill()  # SIGKILL works on a stopped process
        self.process.wait(10)
        self.process = None
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1

    def restart(self, down_seconds: float = 1.0, sig: int = signal.SIGKILL) -> None:
        self.stop(sig)
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1


class CeleryProcess:
    """``celery -A config worker|beat ...`` in its own session (so a SIGKILL takes its pool children too)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.env = env
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (the main process and its pool children)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(8)
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        # A SIGKILLed pool leaves no orphans behind in the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def output(self, tail: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-tail:]


def worker(env: dict[str, str], log: Path, *, queues: str, name: str, concurrency: int = 1) -> CeleryProcess:
    return CeleryProcess(
        [
            "worker", "-Q", queues, "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-mingle",
            "--without-gossip", "-n", f"{name}@%h",
        ],
        env,
        log,
    )  # fmt: skip


def beat(env: dict[str, str], log: Path, *, schedule: Path) -> CeleryProcess:
    return CeleryProcess(["beat", "--loglevel", "INFO", "--schedule", str(schedule)], env, log)
