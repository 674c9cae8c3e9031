"""Execution benchmark: dispatch-to-result time of a trivial agent, with the warm pool and without, beside a plain
``docker run --rm IMAGE python3 -c pass``; and executions completed per minute with the pool and without.

The API is a real server process (gunicorn, PostgreSQL when DATABASE_URL is one, else SQLite in var/); this process
acts as the sandbox worker (``sandbox.worker.run_execution``: claim over HTTP, run the container, post the result).
Each round times one pooled execution (the pool full, as on an idle worker), one cold execution and one
``docker run``, interleaved; medians and ratios are printed (targets: pooled <= 0.3 of ``docker run``). Then batches
of executions won in one tick run two at a time, with the pool and without, alternating, for executions per minute.

    .venv/bin/python bench/execution.py [--rounds 15] [--batch 24]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
os.environ.setdefault("BP_INSECURE_DEV_KEY", "1")
os.environ["MARKET_BID_FEE"] = "0"

from bench.common import Row, bench_database, emit, free_port, wait_for_http  # noqa: E402

SQLITE_PATH = ROOT / "var" / "bench-execution.sqlite3"
PARALLEL = 2


def _database() -> None:
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        os.environ["DATABASE_URL"] = bench_database("bench_exec")
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        SQLITE_PATH.parent.mkdir(exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_PATH}"
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)


def run(*, rounds: int = 15, batch: int = 24, batches: int = 2) -> list[Row]:
    _database()
    import django

    django.setup()
    import docker
    from django.conf import settings

    from market.bundles import ResourceBundle
    from market.models import MarketState
    from market.services import place_bid, run_market_tick
    from sandbox import services, tasks, worker
    from sandbox.image import ensure_runtime_image
    from sandbox.models import Execution
    from sandbox.worker import WorkerConfig, close_pools, run_execution, start_pool

    # This process is the worker: the ticks' on-commit hand-over to Celery is not published anywhere.
    tasks.send_execution = lambda execution_id, **options: None
    MarketState.objects.filter(resource__code="cpu").update(supply_override=10**7)
    MarketState.objects.filter(resource__code="memory").update(supply_override=10**7)
    client = docker.from_env()
    image = ensure_runtime_image(client)
    agents = [services.create_agent_with_program(name=f"bench-{i}", credits=10**9, code=b"pass\n")[0] for i in range(4)]
    name = f"bench-{os.getpid()}"
    _, worker_token = services.issue_worker_token(name=name)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "4",
         "--log-level", "warning"],
        cwd=ROOT,
        env=os.environ.copy(),
    )  # fmt: skip
    pooled = WorkerConfig(api_url=url, token=worker_token, name=name, pool_size=PARALLEL)
    cold = WorkerConfig(api_url=url, token=worker_token, name=name, pool_size=0)
    try:
        wait_for_http(url + "/sandbox/executions")
        pool = start_pool(
            pooled, client, workspace_max_bytes=settings.SANDBOX_WORKSPACE_MAX_BYTES, log_cap=settings.SANDBOX_LOG_CAP
        )
        assert pool is not None and pool.key is not None

        def won(count: int, wall: int = 10) -> list[int]:
            bids = [
                place_bid(agent_id=agents[i % len(agents)].id, bundle=ResourceBundle(1000, 128, wall), max_price=10**6)
                for i in range(count)
            ]
            run_market_tick()
            return list(Execution.objects.filter(bid__in=bids).order_by("id").values_list("id", flat=True))

        def one_execution(config: WorkerConfig) -> float:
            (execution_id,) = won(1)
            if config.pool_size:
                pool.prewarm(pool.key, wait=30)  # an idle worker's pool is full
            started = time.perf_counter()
            status = run_execution(execution_id, config=config, client=client)
            elapsed = time.perf_counter() - started
            assert status == "SUCCEEDED", (status, Execution.objects.get(id=execution_id).error)
            phases["pool" if config.pool_size else "cold"].append(dict(worker.last_phases))
            return elapsed

        def one_docker_run() -> float:
            started = time.perf_counter()
            subprocess.run(["docker", "run", "--rm", image, "python3", "-c", "pass"], check=True)
            return time.perf_counter() - started

        def per_minute(config: WorkerConfig) -> float:
            ids = won(batch)
            if config.pool_size:
                pool.prewarm(pool.key, wait=30)
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=PARALLEL) as workers:
                statuses = list(workers.map(lambda i: run_execution(i, config=config, client=client), ids))
            elapsed = time.perf_counter() - started
            assert statuses == ["SUCCEEDED"] * len(ids), statuses
            return len(ids) / elapsed * 60

        phases: dict[str, list[dict[str, float]]] = {"pool": [], "cold": []}
        for fn in (lambda: one_execution(pooled), lambda: one_execution(cold), one_docker_run):
            fn()  # warm-up: image check, connections, page cache
        phases = {"pool": [], "cold": []}
        warm, fresh, plain = [], [], []
        for i in range(rounds):
            order = [(warm, pooled), (fresh, cold), (plain, None)]
            for into, config in order if i % 2 == 0 else order[::-1]:
                into.append(one_docker_run() if config is None else one_execution(config))
        rates_pool, rates_cold = [], []
        for i in range(batches):
            for into, config in [(rates_pool, pooled), (rates_cold, cold)][:: 1 if i % 2 == 0 else -1]:
                into.append(per_minute(config))
        print(f"  pool: {dict(pool.stats())}", flush=True)
        for kind, runs in phases.items():
            print(f"  phases of one execution, {kind} (median ms of {len(runs)}):", flush=True)
            for phase in runs[0] if runs else ():
                print(f"    {phase:<28} {statistics.median(r.get(phase, 0.0) for r in runs):7.1f}", flush=True)
    finally:
        close_pools()
        server.terminate()
        server.wait(10)

    med_warm, med_fresh, med_plain = statistics.median(warm), statistics.median(fresh), statistics.median(plain)
    rate_pool, rate_cold = statistics.median(rates_pool), statistics.median(rates_cold)
    return [
        Row(
            "dispatch -> result, warm pool",
            med_warm,
            "docker run --rm IMAGE python3 -c pass",
            med_plain,
            "ms",
            "<= 0.3",
            med_warm / med_plain <= 0.3,
        ),
        Row(
            "dispatch -> result, no pool",
            med_fresh,
            "docker run --rm IMAGE python3 -c pass",
            med_plain,
            "ms",
            "(context)",
            None,
        ),
        Row(
            f"executions/minute, warm pool ({PARALLEL} at a time)",
            rate_pool,
            "executions/minute, no pool",
            rate_cold,
            "/min",
            "> 1",
            rate_pool > rate_cold,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--batches", type=int, default=2)
    args = parser.parse_args()
    emit(run(rounds=args.rounds, batch=args.batch, batches=args.batches))


if __name__ == "__main__":
    main()
