"""The Docker sandbox against a real Docker engine (no database).

Run: .venv/bin/python -m pytest -p no:django tests/sandbox/test_docker_runner.py
Docker must answer (scripts/ensure-docker.sh starts one); the runtime image is built on first use.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sandbox.docker_runner import (
    DEFAULT_DEPLOYMENT,
    FAILED,
    LABEL_DEPLOYMENT,
    LABEL_EXECUTION,
    LABEL_WORKER,
    OOM_KILLED,
    SUCCEEDED,
    TIMED_OUT,
    RunResult,
    container_name,
    pool_key,
    reap_containers,
    run_container,
)
from sandbox.pool import WarmPool
from sandbox.proxy import UnixSocketProxy

pytestmark = pytest.mark.docker

WORKER = f"pytest-{uuid.uuid4().hex[:8]}"
TOKEN = "tok-" + uuid.uuid4().hex
AGENT_ID = "42"
BALANCE = 1234


# --- fixtures ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def client(docker_client: Any) -> Any:
    return docker_client


@pytest.fixture(scope="session")
def image(runtime_image: str) -> str:
    return runtime_image


class StubAPI:
    """A tiny stand-in for the system API, on 127.0.0.1 at a random port.

    Kept only because these tests exercise the container runner and the socket proxy without a database (they also
    run with ``-p no:django``); what crosses the socket is checked here, not the API's answers. The SDK itself is
    tested against the real API on a live server in ``test_sdk_live.py``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.echo = False  # answer unknown routes with 200 and what was asked
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the real API behind gunicorn

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                api.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._answer(401, {"code": "not_authenticated", "detail": "bad token"})
                elif self.command == "GET" and self.path == f"/economic/balance/{AGENT_ID}":
                    self._answer(200, {"agent_id": AGENT_ID, "balance": BALANCE})
                elif self.command == "POST" and self.path == "/economic/transfer":
                    self._answer(201, {"id": 1, **json.loads(body)})
                elif api.echo:
                    self._answer(200, {"method": self.command, "path": self.path, "body": body.decode()})
                else:
                    self._answer(404, {"code": "not_found", "detail": f"no route {self.path}"})

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def warm_pool(client: Any) -> Iterator[WarmPool]:
    """A pool of this test's own, closed before the leftover check (which then also proves the pool cleans up)."""
    pool = WarmPool(client, size=1, worker_name=WORKER)
    yield pool
    pool.close()
    assert not client.containers.list(all=True, filters={"label": f"bp.pool={WORKER}"})


@pytest.fixture(params=["cold", "pool"])
def sandbox_mode(request: pytest.FixtureRequest) -> Iterator[WarmPool | None]:
    """Every test that runs a container runs twice: in a fresh container, and in a warm-pool one."""
    global POOL
    POOL = request.getfixturevalue("warm_pool") if request.param == "pool" else None
    yield POOL
    POOL = None


POOL: WarmPool | None = None


@pytest.fixture
def api(sandbox_mode: WarmPool | None) -> Iterator[StubAPI]:
    stub = StubAPI()
    yield stub
    stub.close()


@pytest.fixture(autouse=True)
def no_leftover_containers(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "client" not in request.fixturenames:
        return
    c = request.getfixturevalue("client")
    left = c.containers.list(all=True, filters={"label": [LABEL_EXECUTION, f"{LABEL_WORKER}={WORKER}"]})
    for container in left:
        container.remove(force=True)
    assert not left, f"containers left behind: {[x.name for x in left]}"


def run_kwargs(client: Any, image: str, api: StubAPI, code: str, **overrides: Any) -> dict[str, Any]:
    """``run_container``'s arguments for running ``code`` as this module's worker (``overrides`` win)."""
    kwargs: dict[str, Any] = {
        "client": client,
        "image": image,
        "execution_id": uuid.uuid4().hex[:12],
        "agent_id": AGENT_ID,
        "token": TOKEN,
        "api_target": ("127.0.0.1", api.port),
        "files": {"agent.py": code.encode()},
        "cpu_millicores": 500,
        "memory_mb": 128,
        "wall_seconds": 20,
        "worker_name": WORKER,
    }
    return {**kwargs, **overrides}


def run(client: Any, image: str, api: StubAPI, code: str, **overrides: Any) -> RunResult:
    kwargs = run_kwargs(client, image, api, code, **overrides)
    if POOL is not None:
        # The pool holds containers of one (image, workspace cap, log cap) key: make this run's key ready first.
        key = pool_key(
            image=kwargs["image"],
            workspace_cap_mb=kwargs.get("workspace_cap_mb", 16),
            log_cap=kwargs.get("log_cap", 65536),
        )
        assert POOL.prewarm(key, wait=60) == 1, POOL.stats()
        kwargs["pool"] = POOL
    result = run_container(**kwargs)
    assert result.details["pooled"] is (POOL is not None)
    return result


def report_of(result: RunResult) -> dict[str, Any]:
    """The agent's own JSON line (the last line of its stdout)."""
    assert result.stdout, (result.status, result.stderr, result.details)
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- tests -------------------------------------------------------------------------------------------------------


def test_trivial_agent_calls_api_through_socket(client: Any, image: str, api: StubAPI) -> None:
    code = """
import bp, json
try:
    bp.request("GET", "/no/such/route")
except bp.APIError as exc:
    err = [exc.status, exc.code, exc.detail]
t = bp.transfer("7", 5, memo="hi", idempotency_key="k1")
print(json.dumps({"balance": bp.balance(), "err": err, "transfer": t, "agent": bp.agent_id(),
                  "execution": bp.execution_id()}))
"""
    started = time.monotonic()
    result = run(client, image, api, code)
    elapsed = time.monotonic() - started
    assert result.status == SUCCEEDED, result
    assert result.exit_code == 0
    out = report_of(result)
    assert out["balance"] == BALANCE
    assert out["err"] == [404, "not_found", "no route /no/such/route"]
    assert out["transfer"] == {"id": 1, "from_id": int(AGENT_ID), "to_id": 7, "amount": 5, "memo": "hi"}
    assert out["agent"] == AGENT_ID
    transfer = next(r for r in api.requests if r["path"] == "/economic/transfer")
    assert transfer["headers"]["Idempotency-Key"] == "k1"
    assert transfer["headers"]["Content-Type"] == "application/json"
    assert all(r["headers"]["Authorization"] == f"Bearer {TOKEN}" for r in api.requests)
    assert not result.stdout_truncated and not result.stderr_truncated
    assert result.duration < 10
    print(f"trivial run end-to-end: {elapsed:.2f}s (container {result.duration:.2f}s)")


def test_workspace_changes_are_returned(client: Any, image: str, api: StubAPI) -> None:
    code = """
import os
os.makedirs("sub", exist_ok=True)
open("sub/new.txt", "w").write("fresh")
open("state.txt", "a").write("+1")
os.remove("gone.txt")
"""
    files = {"agent.py": code.encode(), "state.txt": b"0", "gone.txt": b"bye", "lib/helper.py": b"X = 1\n"}
    result = run(client, image, api, code, files=files)
    assert result.status == SUCCEEDED, result
    assert result.files == {
        "agent.py": code.encode(),
        "state.txt": b"0+1",
        "sub/new.txt": b"fresh",
        "lib/helper.py": b"X = 1\n",
    }


def test_fork_bomb_is_contained(client: Any, image: str, api: StubAPI) -> None:
    code = """
import os, sys
told = False
while True:
    try:
        os.fork()
    except OSError as exc:
        if not told:
            told = True
            sys.stdout.write(f"fork failed: {exc.errno}\\n")
            sys.stdout.flush()
"""
    import docker.errors

    execution_id = "bomb-" + uuid.uuid4().hex[:8]
    result = run(client, image, api, code, pids_limit=32, wall_seconds=4, execution_id=execution_id)
    assert result.status == TIMED_OUT, result
    assert "fork failed: 11" in result.stdout  # EAGAIN: the pids limit held
    assert result.duration < 15
    # The container, and every process in it, is gone (the fixture checks the labels too).
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(container_name(execution_id, worker_name=WORKER))


def test_memory_hog_is_oom_killed(client: Any, image: str, api: StubAPI) -> None:
    code = """
print("allocating", flush=True)
blob = b"x" * (512 * 1024 * 1024)
print("survived", len(blob))
"""
    result = run(client, image, api, code, memory_mb=64)
    assert result.status == OOM_KILLED, result
    assert result.exit_code == 137
    assert result.oom_killed
    assert "allocating" in result.stdout and "survived" not in result.stdout


def test_wall_time_exceeded_is_timed_out(client: Any, image: str, api: StubAPI) -> None:
    execution_id = "timeout-" + uuid.uuid4().hex[:8]
    started = time.monotonic()
    result = run(
        client,
        image,
        api,
        "print('spinning', flush=True)\nwhile True: pass\n",
        wall_seconds=2,
        execution_id=execution_id,
    )
    elapsed = time.monotonic() - started
    assert result.status == TIMED_OUT, result
    assert result.timed_out
    assert "spinning" in result.stdout  # the wrapper still reported after SIGTERM
    assert result.details["terminated"] is True
    assert result.files is None
    assert elapsed < 2 + 6
    import docker.errors

    with pytest.raises(docker.errors.NotFound):
        client.containers.get(container_name(execution_id, worker_name=WORKER))


def test_huge_output_is_capped(client: Any, image: str, api: StubAPI) -> None:
    code = """
import sys
chunk = b"y" * (1024 * 1024)
for _ in range(300):
    sys.stdout.buffer.write(chunk)
    sys.stderr.buffer.write(chunk)
sys.stdout.buffer.write(b"\\nEND\\n")
"""
    started = time.monotonic()
    result = run(client, image, api, code, log_cap=4096, wall_seconds=60)
    elapsed = time.monotonic() - started
    assert result.status == SUCCEEDED, result
    assert result.stdout_truncated and result.stderr_truncated
    assert len(result.stdout.encode()) == 4096 and len(result.stderr.encode()) == 4096
    assert "END" not in result.stdout
    assert elapsed < 45
    print(f"600 MB of output drained in {elapsed:.1f}s")


def test_root_filesystem_is_read_only(client: Any, image: str, api: StubAPI) -> None:
    code = """
import json, os
out = {}
for path in ["/etc/evil", "/opt/bp/run.py", "/opt/bp/lib/bp/evil.py", "/seed/agent.py", "/seed/new",
             "/run/bp/evil", "/home/evil", "/evil", "/tmp/ok", "/workspace/ok"]:
    try:
        with open(path, "a") as fh:
            fh.write("x")
        out[path] = "ok"
    except OSError as exc:
        out[path] = exc.errno
for path in ["/proc/1/fd/1", "/proc/1/environ"]:
    try:
        open(path, "w" if path.endswith("/1") else "r").close()
        out[path] = "ok"
    except OSError as exc:
        out[path] = exc.errno
out["uid"] = os.getuid()
out["oom_score_adj"] = open("/proc/self/oom_score_adj").read().strip()
print(json.dumps(out))
"""
    result = run(client, image, api, code)
    assert result.status == SUCCEEDED, result
    out = report_of(result)
    assert out.pop("uid") == 1000
    assert out.pop("oom_score_adj") == "1000"  # the agent, not the wrapper, is the OOM killer's victim
    assert out.pop("/tmp/ok") == "ok"
    assert out.pop("/workspace/ok") == "ok"
    assert out.pop("/proc/1/fd/1") == 13  # EACCES: the wrapper is not dumpable
    assert out.pop("/proc/1/environ") == 13
    assert all(v in (13, 30) for v in out.values()), out  # EACCES / EROFS


def test_workspace_cap_gives_enospc(client: Any, image: str, api: StubAPI) -> None:
    code = """
import json
out = {}
for path, mb in (("/workspace/big", 20), ("/tmp/big", 64)):
    written = 0
    try:
        with open(path, "wb") as fh:
            for _ in range(mb):
                fh.write(b"z" * (1024 * 1024))
                fh.flush()
                written += 1
        out[path] = "ok"
    except OSError as exc:
        out[path] = [exc.errno, written]
print(json.dumps(out))
"""
    result = run(client, image, api, code, workspace_cap_mb=4, memory_mb=256)
    assert result.status == SUCCEEDED, result
    out = report_of(result)
    assert out["/workspace/big"][0] == 28 and out["/workspace/big"][1] <= 4  # ENOSPC
    assert out["/tmp/big"][0] == 28
    assert result.files is not None and len(result.files.get("big", b"")) <= 4 * 1024 * 1024


def test_forbidden_network_targets(client: Any, image: str, api: StubAPI) -> None:
    # A listener on the host on every interface: the container must not reach it by any address.
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    host_port = listener.getsockname()[1]
    targets = [
        ["tcp", "127.0.0.1", 5432],  # PostgreSQL
        ["tcp", "127.0.0.1", 6379],  # Redis
        ["tcp", "127.0.0.1", api.port],  # the API itself, bypassing the socket
        ["tcp", "127.0.0.1", host_port],
        ["tcp", "172.17.0.1", host_port],  # docker0 gateway (the host)
        ["tcp", "172.17.0.1", 2375],  # dockerd over TCP
        ["tcp", "1.1.1.1", 80],  # the internet
        ["unix", "/var/run/docker.sock", 0],
        ["unix", "/run/docker.sock", 0],
        ["unix", "/run/containerd/containerd.sock", 0],
    ]
    code = f"""
import bp, json, socket, time
out = []
for kind, addr, port in {targets!r}:
    t0 = time.monotonic()
    try:
        if kind == "unix":
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(3)
            s.connect(addr)
        else:
            s = socket.create_connection((addr, port), timeout=3)
        s.close()
        out.append([addr, port, "CONNECTED", 0])
    except OSError as exc:
        out.append([addr, port, exc.errno, round(time.monotonic() - t0, 2)])
try:
    socket.getaddrinfo("deb.debian.org", 80)
    dns = "resolved"
except OSError as exc:
    dns = str(exc)
print(json.dumps({{"results": out, "dns": dns, "balance": bp.balance(),
                   "ifaces": [name for _, name in socket.if_nameindex()]}}))
"""
    try:
        result = run(client, image, api, code)
        accepted = []
        while True:
            try:
                accepted.append(listener.accept())
            except OSError:
                break
    finally:
        listener.close()
    assert result.status == SUCCEEDED, result
    out = report_of(result)
    assert out["balance"] == BALANCE  # the one allowed way out works
    assert out["ifaces"] == ["lo"]
    assert out["dns"] != "resolved"
    for addr, port, outcome, seconds in out["results"]:
        assert outcome != "CONNECTED", (addr, port)
        assert seconds < 1, (addr, port, outcome, seconds)  # refused/unreachable at once, nothing sent
    assert not accepted
    # Only the stub's own requests arrived at the API, all through the socket proxy.
    assert [r["path"] for r in api.requests] == [f"/economic/balance/{AGENT_ID}"]


def test_failing_agent_and_leftover_container_with_same_name(client: Any, image: str, api: StubAPI) -> None:
    execution_id = "dup-" + uuid.uuid4().hex[:8]
    leftover = client.containers.create(
        image,
        command=["sleep", "60"],
        name=container_name(execution_id, worker_name=WORKER),
        labels={LABEL_EXECUTION: execution_id, LABEL_WORKER: WORKER},
        network_mode="none",
    )
    leftover.start()
    result = run(
        client, image, api, "import sys\nprint('bad', file=sys.stderr)\nsys.exit(3)\n", execution_id=execution_id
    )
    assert result.status == FAILED, result
    assert result.exit_code == 3
    assert result.stderr == "bad\n"
    assert result.files is not None and "agent.py" in result.files


def test_reap_containers(client: Any, image: str) -> None:
    made = []
    for execution_id in ("reap-a-" + uuid.uuid4().hex[:6], "reap-b-" + uuid.uuid4().hex[:6]):
        c = client.containers.create(
            image,
            command=["sleep", "60"],
            name=container_name(execution_id, worker_name=WORKER),
            labels={LABEL_EXECUTION: execution_id, LABEL_WORKER: WORKER, LABEL_DEPLOYMENT: DEFAULT_DEPLOYMENT},
            network_mode="none",
        )
        c.start()
        made.append(execution_id)
    other = client.containers.create(
        image,
        command=["sleep", "60"],
        labels={LABEL_EXECUTION: "someone-else", LABEL_WORKER: WORKER + "-other", LABEL_DEPLOYMENT: DEFAULT_DEPLOYMENT},
        network_mode="none",
    )
    # Another economy on the same engine, with a worker of the same name and the same execution id.
    other_deployment = client.containers.create(
        image,
        command=["sleep", "60"],
        name=container_name(made[0], worker_name=WORKER, deployment="elsewhere"),
        labels={LABEL_EXECUTION: made[0], LABEL_WORKER: WORKER, LABEL_DEPLOYMENT: "elsewhere"},
        network_mode="none",
    )
    try:
        assert reap_containers(client, worker_name=WORKER, keep={made[1]}) == [made[0]]
        assert sorted(reap_containers(client, worker_name=WORKER)) == [made[1]]
        assert reap_containers(client, worker_name=WORKER) == []
        other.reload()  # another worker's container is untouched
        other_deployment.reload()  # and so is another deployment's
    finally:
        other.remove(force=True)
        other_deployment.remove(force=True)


def test_proxy_bounds_and_stop_closes_live_connections(api: StubAPI, tmp_path: Any) -> None:
    path = str(tmp_path / "api.sock")
    proxy = UnixSocketProxy(path, "127.0.0.1", api.port, max_connections=2).start()
    try:
        assert os.stat(path).st_mode & 0o777 == 0o666
        conns = []
        for _ in range(3):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect(path)
            conns.append(s)
        request = f"GET /economic/balance/{AGENT_ID} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
        for s in conns[:2]:
            s.sendall(request.encode())
            answer = b""
            while b'"balance": 1234' not in answer:
                chunk = s.recv(65536)
                assert chunk, answer
                answer += chunk
        assert conns[2].recv(1) == b""  # over the bound: closed at once
        assert proxy.live_connections == 2 and proxy.rejected == 1
    finally:
        proxy.stop()
    assert proxy.live_connections == 0
    for s in conns[:2]:
        assert s.recv(1) == b""  # live connections were closed by stop()
        s.close()
    conns[2].close()
    assert not os.path.exists(path)
    assert not [t for t in threading.enumerate() if t.name.startswith("bp-proxy")]
