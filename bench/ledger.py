"""Ledger benchmark: transfers per second through ``transfer_credits`` beside pgbench's TPC-B-like script.

Both run on the same PostgreSQL server in the same run with the same number of clients, interleaved, and the
ratio ours / pgbench is printed (target: >= 1.0). Usage:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bp .venv/bin/python bench/ledger.py [--clients 8] [--seconds 8]
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Row, bench_database, clients_bench_main, server  # noqa: E402

AGENTS = 1000
TARGET = 1.0
PGBENCH_DB = ""


def _server() -> tuple[str, str, str]:
    host, port, user, _name = server()
    return host, port, user


def prepare(clients: int) -> None:
    global PGBENCH_DB
    host, port, user = _server()
    PGBENCH_DB = urlsplit(bench_database("pgbench")).path.lstrip("/")
    subprocess.run(
        ["pgbench", "-q", "-i", "-s", str(clients), "-h", host, "-p", port, "-U", user, PGBENCH_DB],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ["DATABASE_URL"] = bench_database("bench_ledger")
    import django

    django.setup()
    from django.core.management import call_command

    from economy.models import Account, Agent, Transfer

    call_command("migrate", verbosity=0)
    agents = Agent.objects.bulk_create([Agent(name=f"bench-{i}") for i in range(AGENTS)])
    Account.objects.bulk_create([Account(agent=a, balance=1_000_000) for a in agents])
    Transfer.objects.bulk_create(
        [Transfer(debit_id=-1, credit_id=a.account.id, amount=1_000_000, kind="mint") for a in agents]
    )
    Account.objects.filter(id=-1).update(balance=-1_000_000 * AGENTS)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def pgbench(clients: int, seconds: int) -> float:
    host, port, user = _server()
    out = subprocess.run(
        [
            "pgbench",
            "-n",
            "-c",
            str(clients),
            "-j",
            str(min(clients, os.cpu_count() or 1)),
            "-T",
            str(seconds),
            "-h",
            host,
            "-p",
            port,
            "-U",
            user,
            PGBENCH_DB,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def _client(agent_ids: list[int], seconds: float, start: float, seed: int, result: mp.Queue) -> None:
    import django

    django.setup()
    from economy import errors
    from economy.services import transfer_credits

    rng = random.Random(seed)
    done = 0
    while time.monotonic() < start:
        time.sleep(0.001)
    deadline = start + seconds
    while time.monotonic() < deadline:
        src, dst = rng.sample(agent_ids, 2)
        try:
            transfer_credits(from_id=src, to_id=dst, amount=rng.randint(1, 100), memo="bench")
        except errors.InsufficientFunds:
            pass
        done += 1
    result.put(done)


def ours(clients: int, seconds: int) -> float:
    from economy.models import Agent

    agent_ids = list(Agent.objects.values_list("id", flat=True))
    from django.db import connections

    connections.close_all()
    result: mp.Queue = mp.Queue()
    start = time.monotonic() + 1.5  # let every client import Django and connect first
    procs = [mp.Process(target=_client, args=(agent_ids, seconds, start, i, result)) for i in range(clients)]
    for p in procs:
        p.start()
    total = sum(result.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def run(*, clients: int = 8, seconds: int = 8, rounds: int = 2) -> list[Row]:
    prepare(clients)
    base, mine = [], []
    for _ in range(rounds):
        base.append(pgbench(clients, seconds))
        mine.append(ours(clients, seconds))
        print(f"  round: pgbench {base[-1]:8.0f} tps   transfer_credits {mine[-1]:8.0f} tps", flush=True)
    b, m = statistics.median(base), statistics.median(mine)
    from economy.selectors import ledger_violations

    problems = ledger_violations()
    assert not problems, problems[0]
    return [
        Row(
            f"ledger transfers/s ({clients} clients)",
            m,
            "pgbench TPC-B-like, same clients",
            b,
            "/s",
            f">= {TARGET}",
            m / b >= TARGET,
        )
    ]


def main() -> None:
    clients_bench_main(run, description=__doc__.splitlines()[0], clients=8, seconds=8, rounds=2)
    print("ledger check: ok")


if __name__ == "__main__":
    main()
