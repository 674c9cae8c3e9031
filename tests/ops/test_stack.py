"""``make stack`` for real: web, ticks worker, sandbox worker, beat and Flower under honcho, stopped by Ctrl-C.

Runs on its own ports (BP_TEST_STACK_PORT, default 8161, and +5 for Flower), its own PostgreSQL database
(``<test database>_stack``, dropped afterwards) and its own Redis database (BP_TEST_STACK_BROKER, default db 6).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.ops.stack import ROOT, Stack, http

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.redis, pytest.mark.postgres]

PORT = int(os.environ.get("BP_TEST_STACK_PORT", "8161"))


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def stack():
    stack = Stack(port=PORT, flower_port=PORT + 5, name="stack")
    assert not port_open(stack.port) and not port_open(stack.flower_port), "the test stack's ports are taken"
    stack.start()
    try:
        yield stack
    finally:
        if stack.process is not None and stack.process.poll() is None:
            stack.kill()
        stack.drop_database()


def backup_and_restore(stack: Stack, tmp_path: Path) -> None:
    """The README's backup commands as written: pg_dump while the stack runs, pg_restore into a fresh database,
    and the restored ledger checks out."""
    dump = tmp_path / "bp.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", stack.database_url], check=True)
    restored = stack.database + "_restore"
    restored_url = stack.database_url.rsplit("/", 1)[0] + "/" + restored
    with psycopg.connect(stack.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{restored}"')
        conn.execute(f'CREATE DATABASE "{restored}"')
    try:
        subprocess.run(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={restored_url}", str(dump)], check=True
        )
        check = subprocess.run(
            [sys.executable, "manage.py", "ledger_check"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": restored_url, "BP_INSECURE_DEV_KEY": "1"},
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        with psycopg.connect(stack.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{restored}"')


def test_make_stack_runs_the_economy_and_ctrl_c_stops_everything(stack, tmp_path):
    health = stack.wait_healthy()
    assert health["checks"]["market_tick"]["ok"] and health["checks"]["redis"]["ok"]

    # An execution completes: the genesis agent's bid won a tick and the sandbox worker ran it.
    deadline = time.monotonic() + 120
    done: list[tuple] = []
    while time.monotonic() < deadline and not done:
        done = stack.query("SELECT id, worker FROM sandbox_execution WHERE status = 'SUCCEEDED'")
        time.sleep(1)
    assert done, stack.log()[-4000:]
    tokens = [name for (name,) in stack.query("SELECT name FROM sandbox_workertoken")]
    assert {worker for _, worker in done} <= set(tokens)  # the worker's name is its token's name

    backup_and_restore(stack, tmp_path)

    # Static files under gunicorn with DEBUG=0 (WhiteNoise), and the docs' bundles from our own host.
    status, headers, _ = http(f"{stack.url}/static/admin/css/base.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    status, _, page = http(f"{stack.url}/api/docs/")
    assert status == 200 and b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert b"cdn" not in page.lower()

    # Flower behind its basic auth, with one node per worker, named after the stack.
    assert http(f"http://127.0.0.1:{stack.flower_port}/api/workers")[0] == 401
    deadline = time.monotonic() + 30
    workers: dict = {}
    while time.monotonic() < deadline and len(workers) < 2:
        status, _, body = http(f"http://127.0.0.1:{stack.flower_port}/api/workers?refresh=1", auth=stack.flower_auth)
        workers = json.loads(body) if status == 200 else {}
        time.sleep(1)
    names = sorted(name.split("@")[0] for name in workers)
    assert names == [f"sandbox-test{PORT}", f"ticks-test{PORT}"], names

    # The operator account exists; the access log is on.
    assert stack.query("SELECT is_superuser FROM auth_user WHERE username = 'operator'") == [(True,)]
    assert '"GET /healthz HTTP/1.1" 200' in stack.log()

    processes = stack.tree()
    commands = " ".join(Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ") for pid in processes)
    for part in ("honcho", "gunicorn", "worker -Q ticks", "worker -Q sandbox", "beat", "flower"):
        assert part in commands, part
    stack.interrupt()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and stack.still_running(processes):
        time.sleep(0.5)
    assert stack.still_running(processes) == [], stack.log()[-3000:]
    assert not port_open(stack.port) and not port_open(stack.flower_port)
    assert "SIGINT received" in stack.log()
