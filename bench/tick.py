"""Market tick benchmark on PostgreSQL: one tick over 10,000 and over 100,000 pending bids.

A tick here is what ``run_market_tick`` does in its transaction: clearing, settlement, the winners' execution rows
and prices. Prints the time of each tick, the growth ratio between them (10x the bids; linear is 10), and beside
each the time of one bulk UPDATE of the same number of bid rows (the floor). Target: 100,000 bids cleared and
settled in under 2 s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bp .venv/bin/python bench/tick.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("BP_INSECURE_DEV_KEY", "1")
BENCH_DB = "bp_bench_tick"
AGENTS = 2000


def prepare_database() -> None:
    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bp"))
    if not url.scheme.startswith("postgres"):
        sys.exit("bench/tick.py needs DATABASE_URL=postgres://...")
    host, port, user = url.hostname or "127.0.0.1", str(url.port or 5432), url.username or "postgres"
    for sql in (f"DROP DATABASE IF EXISTS {BENCH_DB}", f"CREATE DATABASE {BENCH_DB}"):
        subprocess.run(["psql", "-q", "-h", host, "-p", port, "-U", user, "-d", "postgres", "-c", sql], check=True)
    os.environ["DATABASE_URL"] = f"postgres://{user}@{host}:{port}/{BENCH_DB}"


def seed_bids(count: int, tick_number: int) -> None:
    """Insert ``count`` pending bids with their escrow holds, set-based, keeping the ledger consistent."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH new_holds AS (
                INSERT INTO economy_hold (account_id, amount, settled_amount, status, memo, created_at)
                SELECT acc.id, 3 + (g %% 40), 0, 'pending', 'bench', now()
                FROM generate_series(1, %(n)s) g
                JOIN economy_account acc ON acc.agent_id = (SELECT min(id) FROM economy_agent) + (g %% %(agents)s)
                RETURNING id, account_id, amount
            ), moved AS (
                INSERT INTO economy_transfer
                    (debit_id, credit_id, amount, kind, memo, created_at, request_hash, hold_id)
                SELECT account_id, -3, amount, 'hold', 'bench', now(), '', id FROM new_holds
                RETURNING debit_id, amount
            ), per_account AS (
                UPDATE economy_account a SET balance = a.balance - s.total
                FROM (SELECT debit_id, sum(amount) AS total FROM moved GROUP BY debit_id) s
                WHERE a.id = s.debit_id
                RETURNING s.total
            )
            UPDATE economy_account SET balance = balance + (SELECT sum(total) FROM per_account) WHERE id = -3
            """,
            {"n": count, "agents": AGENTS},
        )
        cursor.execute(
            """
            INSERT INTO market_bid (agent_id, tick_number, cpu_millicores, memory_mb, wall_seconds, max_price, fee,
                                    hold_id, status, created_at)
            SELECT acc.agent_id, %s, 100 + (h.id %% 10) * 100, 32 + (h.id %% 8) * 32, 1 + h.id %% 30, h.amount, 0, h.id,
                   'PENDING', now()
            FROM economy_hold h JOIN economy_account acc ON acc.id = h.account_id
            WHERE h.status = 'pending' AND NOT EXISTS (SELECT 1 FROM market_bid b WHERE b.hold_id = h.id)
            """,
            [tick_number],
        )
        cursor.execute("ANALYZE")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    prepare_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from economy.models import Account, Agent, Transfer
    from economy.selectors import ledger_violations
    from market import services
    from market.models import MarketState
    from market.selectors import open_tick

    call_command("migrate", verbosity=0)
    agents = Agent.objects.bulk_create([Agent(name=f"bench-{i}") for i in range(AGENTS)])
    Account.objects.bulk_create([Account(agent=a, balance=10**9) for a in agents])
    Transfer.objects.bulk_create(
        [Transfer(debit_id=-1, credit_id=a.account.id, amount=10**9, kind="mint") for a in agents]
    )
    Account.objects.filter(id=-1).update(balance=-(10**9) * AGENTS)

    def floor(n: int) -> float:
        """One bulk UPDATE of the tick's bid rows, rolled back, then VACUUM so the tick finds the pages as fresh."""

        def update():
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("UPDATE market_bid SET closed_at = now() WHERE tick_number = %s", [open_tick()])
                assert cursor.rowcount == n
                transaction.set_rollback(True)

        seconds = timed(update)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE market_bid")
        return seconds

    results = {}
    for n in (10_000, 100_000):
        # Supply for about half the demand, so the book has winners, losers and a clearing multiple above 1.
        MarketState.objects.filter(resource__code="cpu").update(supply_override=n * 550 // 2)
        MarketState.objects.filter(resource__code="memory").update(supply_override=n * 144 // 2)
        seed_bids(n, open_tick())
        floor_seconds = floor(n)
        # Executions are created for the winners inside the tick, as always; handing each to Celery happens after
        # the commit and is not the tick's work (nor should a benchmark leave 50,000 messages on the broker).
        tick_seconds = timed(lambda: services.run_market_tick(enqueue=False))
        results[n] = (tick_seconds, floor_seconds)
        print(
            f"{n:>7} bids: tick {tick_seconds:6.3f} s   bulk UPDATE floor {floor_seconds:6.3f} s   "
            f"ratio {tick_seconds / floor_seconds:5.1f}",
            flush=True,
        )
    growth = results[100_000][0] / results[10_000][0]
    print(f"growth 10k -> 100k: {growth:.1f}x for 10x the bids (linear = 10)")
    print(f"target: 100,000 bids in under 2 s: {'met' if results[100_000][0] < 2 else 'NOT met'}")
    problems = ledger_violations()
    print("ledger check:", "ok" if not problems else problems[0])


if __name__ == "__main__":
    main()
