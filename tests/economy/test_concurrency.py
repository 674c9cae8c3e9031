"""Many concurrent writers on PostgreSQL: no lost update, no overdraft, no deadlock surfaced, nothing twice."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from django.db import connection

from economy import errors, selectors, services
from economy.models import Hold, Transfer
from tests.factories import make_agent, run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 8
TRANSFERS_PER_THREAD = 400


def test_random_concurrent_transfers_conserve_credits(postgres_only):
    agents = [make_agent(credits=1_000)[0] for _ in range(5)]
    ids = [a.id for a in agents]
    start_total = sum(selectors.get_balance(agent_id=i) for i in ids)
    keys_used: dict[str, tuple] = {}
    keys_lock = threading.Lock()

    def work(index):
        rng = random.Random(index)
        outcome = Counter()
        for n in range(TRANSFERS_PER_THREAD):
            src, dst = rng.sample(ids, 2)
            # Mostly small amounts; some far beyond any balance (overdraft attempts).
            amount = rng.choice([1, 2, 5, 10, 50, 250, 10_000])
            key = None
            if n % 10 == 0:
                # Retried keys: the same (payer, key) is sent again by this and other threads with the same payload.
                key = f"k{rng.randrange(20)}-{src}"
                with keys_lock:
                    src, dst, amount = keys_used.setdefault(key, (src, dst, amount))
            try:
                services.transfer_credits(from_id=src, to_id=dst, amount=amount, idempotency_key=key)
                outcome["ok"] += 1
            except errors.InsufficientFunds:
                outcome["overdraft"] += 1
        return outcome

    outcomes = run_in_threads(work, THREADS)
    total = sum(outcomes, Counter())
    assert total["ok"] + total["overdraft"] == THREADS * TRANSFERS_PER_THREAD
    assert total["overdraft"] > 0 and total["ok"] > 0
    assert sum(selectors.get_balance(agent_id=i) for i in ids) == start_total
    assert selectors.ledger_violations() == []
    # Every idempotency key moved money at most once.
    keyed = Transfer.objects.filter(idempotency_key__isnull=False).values_list("debit_id", "idempotency_key")
    assert len(keyed) == len(set(keyed))


def test_a_hold_is_resolved_exactly_once_under_racing_settle_and_release(postgres_only):
    alice, _ = make_agent(credits=1_000)
    holds = [services.hold_credits(agent_id=alice.id, amount=10) for _ in range(20)]

    def work(index):
        wins = 0
        for hold in holds:
            try:
                if index % 2:
                    services.settle_hold(hold_id=hold.id, amount=4)
                else:
                    services.release_hold(hold_id=hold.id)
                wins += 1
            except errors.HoldNotPending:
                pass
        return wins

    assert sum(run_in_threads(work, THREADS)) == len(holds)
    assert Hold.objects.filter(status=Hold.Status.PENDING).count() == 0
    assert Transfer.objects.filter(kind=Transfer.Kind.HOLD).count() == len(holds)
    assert selectors.ledger_violations() == []


def test_opposite_transfers_between_two_agents_never_deadlock(postgres_only):
    assert connection.vendor == "postgresql"
    alice, _ = make_agent(credits=10_000)
    bob, _ = make_agent(credits=10_000)

    def work(index):
        src, dst = (alice.id, bob.id) if index % 2 else (bob.id, alice.id)
        for _ in range(200):
            services.transfer_credits(from_id=src, to_id=dst, amount=1)
            services.hold_credits(agent_id=src, amount=1)

    run_in_threads(work, THREADS)
    assert selectors.get_balance(agent_id=alice.id) + selectors.get_balance(agent_id=bob.id) == 20_000 - 1600
    assert selectors.ledger_violations() == []
