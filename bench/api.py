"""API benchmark: balance reads per second under gunicorn beside a trivial Django JSON view in the same server.

One gunicorn (``-w 2 --threads 4``, PostgreSQL) serves the project's URLs plus ``/bench/trivial`` (bench/urls.py,
bench-only settings: never in production). Client processes on keep-alive connections read
``GET /economic/balance/<own id>`` with their own agent's token, or ``GET /bench/trivial``, in interleaved rounds;
the ratio of the medians is printed (target >= 0.6). Throttling stays on (its rate set out of reach). Usage:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bp .venv/bin/python bench/api.py [--clients 4] [--seconds 5]
"""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Row, bench_database, clients_bench_main, free_port, wait_for_http  # noqa: E402

TARGET = 0.6


def _read_response(sock: socket.socket, buf: bytearray) -> tuple[int, bool]:
    """Read one HTTP/1.1 response (Content-Length framed) from ``sock``; return (status, server closes)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, False
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        key = key.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"connection" and value.strip().lower() == b"close":
            close = True
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    buf[:] = rest[length:]
    return status, close


def _client(port: int, path: str, token: str, start: float, seconds: float, out: mp.Queue) -> None:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    ).encode()
    done = bad = 0
    while time.monotonic() < start:
        time.sleep(0.001)
    deadline = start + seconds
    sock = None
    buf = bytearray()
    while time.monotonic() < deadline:
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port))
            buf.clear()
        try:
            sock.sendall(request)
            status, close = _read_response(sock, buf)
        except OSError:
            sock.close()
            sock = None
            continue
        done += 1
        bad += status != 200
        if close:
            sock.close()
            sock = None
    out.put((done, bad))


def _round(port: int, paths: list[tuple[str, str]], seconds: float) -> tuple[float, int]:
    out: mp.Queue = mp.Queue()
    start = time.monotonic() + 0.5
    procs = [mp.Process(target=_client, args=(port, path, token, start, seconds, out)) for path, token in paths]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return sum(d for d, _ in results) / seconds, sum(b for _, b in results)


def run(*, clients: int = 4, seconds: float = 5, rounds: int = 3) -> list[Row]:
    os.environ["DATABASE_URL"] = bench_database("bench_api")
    os.environ["BP_THROTTLE_READS"] = "1000000000/min"  # throttling runs, its limit is never hit
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from economy.services import create_agent

    agents = [create_agent(name=f"bench-api-{i}", credits=100) for i in range(clients)]
    from django.db import connections

    connections.close_all()
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "4",
         "--keep-alive", "30", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        wait_for_http(f"http://127.0.0.1:{port}/bench/trivial")
        balance = [(f"/economic/balance/{agent.id}", issued.raw) for agent, issued in agents]
        trivial = [("/bench/trivial", issued.raw) for _, issued in agents]
        _round(port, balance, 1)  # warm-up: connections, prepared statements, caches
        _round(port, trivial, 1)
        ours, base = [], []
        for _ in range(rounds):
            rate, bad = _round(port, trivial, seconds)
            assert bad == 0, f"{bad} trivial answers were not 200"
            base.append(rate)
            rate, bad = _round(port, balance, seconds)
            assert bad == 0, f"{bad} balance answers were not 200"
            ours.append(rate)
            print(f"  round: trivial view {base[-1]:8.0f}/s   balance reads {ours[-1]:8.0f}/s", flush=True)
    finally:
        server.terminate()
        server.wait(10)
    mine, theirs = statistics.median(ours), statistics.median(base)
    return [
        Row(
            f"API balance reads/s (gunicorn -w2 --threads 4, {clients} clients)",
            mine,
            "trivial Django JSON view, same server",
            theirs,
            "/s",
            f">= {TARGET}",
            mine / theirs >= TARGET,
        )
    ]


def main() -> None:
    clients_bench_main(run, description=__doc__.splitlines()[0], clients=4, seconds=5.0, rounds=3)


if __name__ == "__main__":
    main()
