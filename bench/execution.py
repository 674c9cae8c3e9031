"""Execution benchmark: dispatch-to-result time of a trivial agent beside a plain ``docker run`` of the same image.

The API is a real server process (gunicorn on a free port, SQLite in var/); this process acts as the sandbox worker
(``sandbox.worker.run_execution``: claim over HTTP, run the container, post the result). Each round times one
execution (from the task's start to the result posted) and one ``docker run --rm IMAGE python3 -c pass``,
interleaved, and the medians and their ratio are printed (target: <= 1.3). Usage:

    .venv/bin/python bench/execution.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_PATH = ROOT / "var" / "bench-execution.sqlite3"
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
os.environ.setdefault("BP_INSECURE_DEV_KEY", "1")
os.environ["DATABASE_URL"] = f"sqlite:///{DB_PATH}"
os.environ["MARKET_BID_FEE"] = "0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/sandbox/executions", timeout=2)  # noqa: S310 - our own local server
        except urllib.error.HTTPError:
            return  # 401: the server answers
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the API at {url} did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
    DB_PATH.parent.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)

    import django

    django.setup()
    import docker

    from market.bundles import ResourceBundle
    from market.services import place_bid, run_market_tick
    from sandbox import services, tasks
    from sandbox.image import ensure_runtime_image
    from sandbox.models import Execution
    from sandbox.worker import WorkerConfig, run_execution

    # This process is the worker: the ticks' on-commit hand-over to Celery is not published anywhere.
    tasks.send_execution = lambda execution_id, **options: None
    client = docker.from_env()
    image = ensure_runtime_image(client)
    agent, _ = services.create_agent_with_program(name="bench", credits=10**9, code=b"pass\n")
    _, worker_token = services.issue_worker_token(name=f"bench-{os.getpid()}")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "4",
         "--log-level", "warning"],
        cwd=ROOT,
        env=os.environ.copy(),
    )  # fmt: skip
    try:
        wait_for_server(url)
        config = WorkerConfig(api_url=url, token=worker_token, name=f"bench-{os.getpid()}")

        def one_execution() -> float:
            bid = place_bid(agent_id=agent.id, bundle=ResourceBundle(1000, 128, 10), max_price=100)
            run_market_tick()
            execution_id = Execution.objects.get(bid=bid).id
            started = time.perf_counter()
            status = run_execution(execution_id, config=config, client=client)
            elapsed = time.perf_counter() - started
            assert status == "SUCCEEDED", (status, Execution.objects.get(id=execution_id).error)
            return elapsed

        def one_docker_run() -> float:
            started = time.perf_counter()
            subprocess.run(["docker", "run", "--rm", image, "python3", "-c", "pass"], check=True)
            return time.perf_counter() - started

        one_execution()  # warm-up: image check, connections, page cache
        one_docker_run()
        ours, plain = [], []
        for i in range(args.rounds):
            pair = (one_execution, one_docker_run) if i % 2 == 0 else (one_docker_run, one_execution)
            for fn in pair:
                (ours if fn is one_execution else plain).append(fn())
    finally:
        server.terminate()
        server.wait(10)

    med_ours, med_plain = statistics.median(ours), statistics.median(plain)
    print(f"rounds: {args.rounds} (interleaved), image {image}")
    print(f"execution, dispatch -> result posted: median {med_ours * 1000:.0f} ms (min {min(ours) * 1000:.0f})")
    print(f"docker run --rm IMAGE python3 -c pass: median {med_plain * 1000:.0f} ms (min {min(plain) * 1000:.0f})")
    print(f"ratio: {med_ours / med_plain:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
