"""A real gunicorn (config/gunicorn.conf.py, the production web server) serving this test's PostgreSQL database.

It listens on the first free port of ``BP_TEST_PORTS`` (default ``8110-8119``); tests that use it are transactional
(the server sees only committed rows) and PostgreSQL only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    low, _, high = os.environ.get("BP_TEST_PORTS", "8110-8119").partition("-")
    for port in range(int(low), int(high or low) + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free port in BP_TEST_PORTS={os.environ.get('BP_TEST_PORTS', '8110-8119')}")


def database_url() -> str:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.fail("these tests run gunicorn against PostgreSQL (DATABASE_URL=postgres://...)")
    s = connection.settings_dict
    auth = urllib.parse.quote(s["USER"] or "") + (f":{urllib.parse.quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen
    log: Path


def start_gunicorn(tmp_path: Path, *, workers: int = 2, threads: int = 4, extra_env: dict | None = None) -> Server:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "BP_THROTTLE_READS": "1000000/min",
        "BP_THROTTLE_WRITES": "1000000/min",
        "SANDBOX_DISPATCH": "embedded",  # ticks in these tests leave executions queued: nothing is published
        **(extra_env or {}),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("gunicorn did not start listening in 30 s")
    return Server(url=f"http://127.0.0.1:{port}", port=port, process=process, log=log)


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(5)


@pytest.fixture
def gunicorn_server(transactional_db, tmp_path) -> Iterator[Server]:
    server = start_gunicorn(tmp_path)
    yield server
    stop(server)
