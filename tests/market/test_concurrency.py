"""Ticks racing bidders and each other on PostgreSQL: no bid is lost, no tick runs twice."""

from __future__ import annotations

from functools import partial

import pytest

from economy import errors as ledger_errors
from economy import selectors as ledger
from market import services
from market.bundles import ResourceBundle
from market.errors import BidClosed
from market.models import Bid, Tick
from tests.factories import make_agent, run_in_threads, run_while_ticking

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
BUNDLE = ResourceBundle(cpu_millicores=100, memory_mb=32, wall_seconds=5)


def test_bids_placed_while_ticks_run_are_all_cleared_once(postgres_only):
    agents = [make_agent(credits=500)[0] for _ in range(6)]

    def bid_and_cancel(agent):
        for n in range(40):
            try:
                bid = services.place_bid(agent_id=agent.id, bundle=BUNDLE, max_price=2 + n % 5)
                if n % 7 == 0:
                    services.cancel_bid(agent_id=agent.id, bid_id=bid.id)
            except (ledger_errors.InsufficientFunds, BidClosed):  # too poor, or a cancel that lost to a tick
                pass

    ticks = run_while_ticking(services.run_market_tick, [partial(bid_and_cancel, agent) for agent in agents])
    services.run_market_tick()  # clear whatever the last placements left in the open tick
    assert ticks >= 2
    assert not Bid.objects.filter(status=Bid.Status.PENDING).exists()
    assert ledger.ledger_violations() == []
    numbers = list(Tick.objects.order_by("number").values_list("number", flat=True))
    assert numbers == list(range(1, len(numbers) + 1))


def test_concurrent_runs_of_one_slot_make_one_tick(postgres_only):
    agent, _ = make_agent(credits=100)
    services.place_bid(agent_id=agent.id, bundle=BUNDLE, max_price=5)
    outcomes = run_in_threads(lambda _: services.run_market_tick(slot=77) is not None, 6)
    assert sorted(outcomes) == [False] * 5 + [True]
    assert Tick.objects.count() == 1
    assert ledger.ledger_violations() == []
