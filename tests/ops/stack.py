"""Start and stop ``make stack`` for tests: a real stack on its own ports, database and Redis database."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[2]


def _url_with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}", query=""))


def http(url: str, *, auth: str | None = None, timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url)  # noqa: S310 - loopback URLs of the stack under test
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class Stack:
    """``make stack`` in its own session (so a SIGINT to its process group is Ctrl-C in a terminal)."""

    def __init__(self, *, port: int, flower_port: int, name: str, extra_env: dict[str, str] | None = None) -> None:
        base = (
            os.environ.get("TEST_DATABASE_URL")
            or os.environ.get("DATABASE_URL")
            or "postgres://postgres@127.0.0.1:5432/bp"
        )
        if not base.startswith(("postgres://", "postgresql://")):
            base = "postgres://postgres@127.0.0.1:5432/bp"
        self.database = f"{(urlsplit(base).path.lstrip('/') or 'bp')}_{name}"
        self.database_url = _url_with_database(base, self.database)
        self.admin_url = _url_with_database(base, "postgres")
        self.port, self.flower_port = port, flower_port
        self.flower_auth = "ops:stack-test-flower"
        self.state_dir = ROOT / "var" / f"test-stack-{name}"
        self.log_path = ROOT / "var" / f"test-stack-{name}.log"
        self.env = {
            **os.environ,
            "PORT": str(port),
            "FLOWER_PORT": str(flower_port),
            "FLOWER_BASIC_AUTH": self.flower_auth,
            "STACK_ID": f"test{port}",
            "STACK_DIR": str(self.state_dir),
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": os.environ.get("BP_TEST_STACK_BROKER", "redis://127.0.0.1:6379/6"),
            "MARKET_TICK_SECONDS": "2",
            "ATTENTION_TICK_SECONDS": "4",
            "SANDBOX_REAP_SECONDS": "5",
            "BP_OPERATOR_PASSWORD": "stack-operator-password",
            "GUNICORN_WORKERS": "2",
            "SANDBOX_CONCURRENCY": "1",
            **(extra_env or {}),
        }
        self.env["BP_REDIS_URL"] = self.env["CELERY_BROKER_URL"]
        for leaked in ("BP_API_URL", "BP_WORKER_TOKEN", "BP_WORKER_NAME", "BP_PUBLIC_URL", "PROMETHEUS_MULTIPROC_DIR"):
            self.env.pop(leaked, None)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop_database(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            # Only this stack's own database's backends.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.database],
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}"')

    def start(self) -> None:
        self.drop_database()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.state_dir.iterdir():
            leftover.unlink()
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "stack"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_healthy(self, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"make stack exited ({self.process.returncode}):\n{self.log()[-4000:]}")
            with suppress(OSError):
                status, _, body = http(f"{self.url}/healthz")
                last = body
                if status == 200:
                    return json.loads(body)
            time.sleep(1)
        raise AssertionError(f"/healthz never answered 200 (last: {last!r}):\n{self.log()[-4000:]}")

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql, params or []).fetchall()

    def tree(self) -> dict[int, str]:
        """Every live process ``make stack`` started, however deep (honcho puts each in a session of its own, so
        sessions and process groups do not find them): pid -> start time, to tell a reused pid apart."""
        assert self.process is not None
        parents: dict[int, int] = {}
        started: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z":
                    parents[int(entry.name)] = int(fields[1])
                    started[int(entry.name)] = fields[19]
        found: dict[int, str] = {}
        frontier = [self.process.pid]
        while frontier:
            pid = frontier.pop()
            if pid in started:
                found[pid] = started[pid]
            frontier.extend(child for child, parent in parents.items() if parent == pid and child not in found)
        return found

    @staticmethod
    def still_running(processes: dict[int, str]) -> list[int]:
        alive = []
        for pid, start in processes.items():
            with suppress(OSError, IndexError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z" and fields[19] == start:
                    alive.append(pid)
        return alive

    def interrupt(self, timeout: float = 90) -> int:
        """Ctrl-C: SIGINT to the stack's foreground process group; returns make's exit status."""
        assert self.process is not None
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        """Last resort after a failed test: everything in the stack's session, by pid."""
        for pid in self.tree() if self.process else []:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
