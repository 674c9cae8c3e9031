"""The ticks side under faults: real Celery beat and ticks-worker processes on the test database and the test's own
Redis. SIGKILL the ticks worker in the middle of a tick, SIGKILL beat, run two beats at once, terminate the test
database's backends during ticks and transfers. Each ends with the ledger sound, no slot run twice, no bid settled
twice or left behind, and the economy still ticking."""

from __future__ import annotations

import itertools
import re
import signal
import threading
import time

import psycopg
import pytest
from django.db import InterfaceError, OperationalError, connections

from economy import services as ledger
from economy.errors import DomainError
from market.bundles import ResourceBundle
from market.models import Bid, Tick
from market.services import place_bid
from tests.factories import make_agent
from tests.faults.checks import assert_economy_sound, wait_for_ticks
from tests.faults.harness import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SMALL = ResourceBundle(cpu_millicores=100, memory_mb=32, wall_seconds=2)


def bidders(count: int = 4) -> list[int]:
    return [make_agent(credits=100_000)[0].id for _ in range(count)]


def place_bids(agent_ids: list[int]) -> list[int]:
    return [place_bid(agent_id=a, bundle=SMALL, max_price=50).id for a in agent_ids]


def psycopg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def test_a_ticks_worker_killed_mid_tick_leaves_the_tick_undone_and_the_next_worker_runs_it(
    economy, test_database_url
) -> None:
    agents = bidders()
    economy.beat()
    first = economy.worker(queues="ticks,default")
    wait_for_ticks(1, 60, "the first tick")
    bids = place_bids(agents)
    open_tick = Bid.objects.get(id=bids[0]).tick_number

    # Hold the market states: the next tick locks the clock, moves it on, and waits here, inside its transaction.
    with psycopg.connect(psycopg_url(test_database_url), autocommit=False) as blocker:
        blocker.execute("SELECT id FROM market_marketstate FOR UPDATE")

        def tick_waiting() -> bool:
            with psycopg.connect(psycopg_url(test_database_url), autocommit=True) as probe:
                row = probe.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE %s",
                    ["%market_marketstate%"],
                ).fetchone()
            return bool(row and row[0])

        wait_for(tick_waiting, 30, "a tick to block inside its transaction")
        first.kill(signal.SIGKILL)
        blocker.rollback()
    assert not first.alive()

    second = economy.worker(queues="ticks,default")
    wait_for_ticks(2, 60)
    assert second.alive()
    # The killed tick's transaction was rolled back: the bids were cleared once, by a later tick.
    settled = Bid.objects.filter(id__in=bids).exclude(status=Bid.Status.PENDING)
    assert settled.count() == len(bids)
    assert Tick.objects.filter(number=open_tick, finished_at__isnull=False).count() == 1
    assert_economy_sound(economy)


def test_a_killed_beat_restarts_and_no_slot_runs_twice(economy) -> None:
    agents = bidders()
    beat = economy.beat()
    economy.worker(queues="ticks,default")
    wait_for_ticks(1, 60, "the first tick")
    place_bids(agents)
    beat.kill(signal.SIGKILL)
    time.sleep(3)
    economy.beat()  # the same schedule file: the restarted beat picks up where the killed one was
    place_bids(agents)
    wait_for_ticks(3, 60)
    assert_economy_sound(economy)


def test_two_beats_at_once_run_each_slot_once(economy) -> None:
    agents = bidders()
    economy.beat(index=0)
    economy.beat(index=1)
    ticks = economy.worker(queues="ticks,default")
    wait_for_ticks(1, 60, "the first tick")
    for _ in range(3):
        place_bids(agents)
        wait_for_ticks(1, 30)
    output = ticks.output(10**6)
    # Both beats sent each tick: the duplicates arrived and were no-ops.
    duplicates = re.findall(r"Task market\.run_tick\[[^\]]+\] succeeded in [0-9.e-]+s: None", output)
    assert duplicates, output[-3000:]
    assert_economy_sound(economy)


def test_terminated_database_connections_during_ticks_and_transfers_lose_and_double_nothing(
    economy, test_database_url
) -> None:
    payers = bidders(6)
    economy.beat()
    economy.worker(queues="ticks,default")
    wait_for_ticks(1, 60, "the first tick")
    stop = threading.Event()
    done: list[str] = []
    keys = itertools.count()

    def transfers(index: int) -> None:
        try:
            while not stop.is_set():
                key = f"fault-{index}-{next(keys)}"
                for _ in range(50):  # retried with the same key until it is known to have happened once
                    try:
                        ledger.transfer_credits(
                            from_id=payers[index],
                            to_id=payers[(index + 1) % len(payers)],
                            amount=3,
                            idempotency_key=key,
                        )
                        done.append(key)
                        break
                    except (OperationalError, InterfaceError):
                        connections.close_all()
                        time.sleep(0.05)
                    except DomainError:
                        break
                try:
                    place_bid(agent_id=payers[index], bundle=SMALL, max_price=20)
                except (OperationalError, InterfaceError):
                    connections.close_all()
                except DomainError:
                    pass
        finally:
            connections.close_all()

    workers = [threading.Thread(target=transfers, args=(i,)) for i in range(3)]
    for thread in workers:
        thread.start()
    terminated = 0
    try:
        with psycopg.connect(psycopg_url(test_database_url), autocommit=True) as killer:
            deadline = time.monotonic() + 12
            while time.monotonic() < deadline:
                time.sleep(0.4)
                rows = killer.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchall()
                terminated += len(rows)
    finally:
        stop.set()
        for thread in workers:
            thread.join(60)
    assert terminated > 0 and len(done) > 10
    wait_for_ticks(2, 60)
    connections.close_all()
    from economy.models import Transfer

    # Every transfer that answered happened exactly once (a retry with its key moved nothing more).
    keyed = Transfer.objects.filter(idempotency_key__startswith="fault-")
    assert keyed.count() == len(set(done)) == len(done)
    assert_economy_sound(economy)
