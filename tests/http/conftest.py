"""A real gunicorn (config/gunicorn.conf.py, the production web server) serving this test's PostgreSQL database.

It serves a socket this process bound (see ``listening_socket``); tests that use it are transactional
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
import requests

ROOT = Path(__file__).resolve().parents[2]


def listening_socket() -> socket.socket:
    """A listening socket on 127.0.0.1, bound here and handed to gunicorn (``fd://``): no other process can take
    the port between choosing it and serving on it. ``BP_TEST_PORTS`` (e.g. ``8110-8119``) confines the port to a
    range; unset, the system picks a free one."""
    ports = os.environ.get("BP_TEST_PORTS", "")
    candidates = [0]
    if ports:
        low, _, high = ports.partition("-")
        candidates = list(range(int(low), int(high or low) + 1))
    for port in candidates:
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        sock.listen(2048)
        sock.set_inheritable(True)
        return sock
    pytest.fail(f"no free port in BP_TEST_PORTS={ports}")


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
    sock = listening_socket()
    port = sock.getsockname()[1]
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "GUNICORN_BIND": f"fd://{sock.fileno()}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "BP_THROTTLE_READS": "1000000/min",
        "BP_THROTTLE_WRITES": "1000000/min",
        "GUNICORN_ACCESSLOG": "",  # no access log: the load test would write one line per request
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
            pass_fds=[sock.fileno()],
        )
    sock.close()  # gunicorn has its own copy
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the socket accepts at once; wait until a worker answers
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            requests.get(f"{url}/market/prices", timeout=2)
            break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("gunicorn did not answer in 60 s")
    return Server(url=url, port=port, process=process, log=log)


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
