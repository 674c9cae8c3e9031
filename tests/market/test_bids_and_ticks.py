"""Bids, cancellations and the tick: allocation, uniform price, settlement, idempotency, prices."""

from __future__ import annotations

import pytest

from bidbook.models import next_price
from economy import errors as ledger_errors
from economy import selectors as ledger
from economy.determinism import TieBreak, set_economy_seed
from economy.models import Account, Hold, Transfer
from market import errors, services
from market.bundles import ResourceBundle
from market.models import Bid, MarketState, Tick
from tests.factories import make_agent

pytestmark = pytest.mark.django_db

SMALL = ResourceBundle(cpu_millicores=1000, memory_mb=256, wall_seconds=10)  # posted cost 3 credits at start


def set_supply(cpu: int, memory: int) -> None:
    MarketState.objects.filter(resource__code="cpu").update(supply_override=cpu)
    MarketState.objects.filter(resource__code="memory").update(supply_override=memory)


def test_a_bid_holds_its_maximum_and_burns_the_fee(settings):
    settings.MARKET_BID_FEE = 2
    alice, _ = make_agent(credits=100)
    bid = services.place_bid(agent_id=alice.id, bundle=SMALL, max_price=30)
    assert bid.status == Bid.Status.PENDING
    assert bid.tick_number == 1
    assert ledger.get_balance(agent_id=alice.id) == 68
    assert ledger.get_held(agent_id=alice.id) == 30
    assert Account.objects.get(system="treasury").balance == 2
    assert ledger.ledger_violations() == []


@pytest.mark.parametrize(
    ("bundle", "max_price", "error"),
    [
        (ResourceBundle(0, 256, 10), 50, errors.InvalidBundle),
        (ResourceBundle(1000, 10**6, 10), 50, errors.InvalidBundle),
        (ResourceBundle(1000, 256, 100_000), 50, errors.InvalidBundle),
        (SMALL, 2, errors.BidBelowReserve),
        (SMALL, 0, ledger_errors.InvalidAmount),
        (SMALL, 100, ledger_errors.InsufficientFunds),  # 100 + fee > 100
    ],
)
def test_refused_bids_hold_and_burn_nothing(bundle, max_price, error):
    alice, _ = make_agent(credits=100)
    with pytest.raises(error):
        services.place_bid(agent_id=alice.id, bundle=bundle, max_price=max_price)
    assert ledger.get_balance(agent_id=alice.id) == 100
    assert Bid.objects.count() == 0
    assert Hold.objects.count() == 0


def test_a_dead_agent_cannot_bid():
    alice, _ = make_agent(credits=100)
    alice.status = alice.Status.DEAD
    alice.save(update_fields=["status"])
    with pytest.raises(ledger_errors.AgentDead):
        services.place_bid(agent_id=alice.id, bundle=SMALL, max_price=10)


def test_a_bid_can_be_cancelled_until_its_tick_closes():
    alice, _ = make_agent(credits=100)
    bid = services.place_bid(agent_id=alice.id, bundle=SMALL, max_price=30)
    cancelled = services.cancel_bid(agent_id=alice.id, bid_id=bid.id)
    assert cancelled.status == Bid.Status.CANCELLED
    assert ledger.get_balance(agent_id=alice.id) == 99  # the fee is not refunded
    with pytest.raises(errors.BidClosed):
        services.cancel_bid(agent_id=alice.id, bid_id=bid.id)
    late = services.place_bid(agent_id=alice.id, bundle=SMALL, max_price=30)
    services.run_market_tick()
    with pytest.raises(errors.BidClosed):
        services.cancel_bid(agent_id=alice.id, bid_id=late.id)
    assert ledger.ledger_violations() == []


def test_only_the_owner_can_cancel():
    alice, _ = make_agent(credits=100)
    bob, _ = make_agent(credits=100)
    bid = services.place_bid(agent_id=alice.id, bundle=SMALL, max_price=30)
    with pytest.raises(errors.UnknownBid):
        services.cancel_bid(agent_id=bob.id, bid_id=bid.id)
    assert Bid.objects.get(id=bid.id).status == Bid.Status.PENDING


def test_the_tick_allocates_the_best_offers_and_everyone_pays_the_first_losers_multiple():
    set_supply(cpu=2000, memory=10_000)  # room for two SMALL bundles
    agents = [make_agent(credits=100)[0] for _ in range(4)]
    bids = [
        services.place_bid(agent_id=a.id, bundle=SMALL, max_price=price)
        for a, price in zip(agents, [9, 30, 12, 6], strict=True)
    ]
    tick = services.run_market_tick()
    outcome = {b.id: (b.status, b.price) for b in Bid.objects.all()}
    # Ranked 30, 12 | 9, 6: the first loser offers 9 for a cost of 3, a multiple of 3, so each winner pays 3 * 3.
    assert outcome[bids[1].id] == (Bid.Status.WON, 9)
    assert outcome[bids[2].id] == (Bid.Status.WON, 9)
    assert outcome[bids[0].id] == (Bid.Status.LOST, None)
    assert outcome[bids[3].id] == (Bid.Status.LOST, None)
    assert (tick.winners, tick.bids, tick.revenue, tick.clearing_multiple) == (2, 4, 18, 3.0)
    assert tick.allocated == {"cpu": 2000, "memory": 512}
    balances = [ledger.get_balance(agent_id=a.id) for a in agents]
    assert balances == [99, 90, 90, 99]  # fee 1 each; winners pay 9
    assert Hold.objects.filter(status=Hold.Status.PENDING).count() == 0
    assert ledger.ledger_violations() == []


def test_without_competition_winners_pay_the_reserve():
    alice, _ = make_agent(credits=100)
    services.place_bid(agent_id=alice.id, bundle=SMALL, max_price=50)
    tick = services.run_market_tick()
    bid = Bid.objects.get()
    assert (bid.status, bid.base_cost, bid.price) == (Bid.Status.WON, 3, 3)
    assert tick.clearing_multiple == 1.0
    assert ledger.get_balance(agent_id=alice.id) == 100 - 1 - 3


def test_a_large_bundle_at_a_high_price_clears_in_64_bit_arithmetic():
    # 2,000 millicores at 2,000,000 micro-credits overflow 32-bit integers (4e9); the tick must not (PostgreSQL
    # refused the whole tick with "integer out of range").
    MarketState.objects.filter(resource__code="cpu").update(price=2_000_000, ceiling=10**8)
    big = ResourceBundle(cpu_millicores=2000, memory_mb=64, wall_seconds=100)
    cost = big.cost(cpu_price=2_000_000, memory_price=400)
    alice, _ = make_agent(credits=2 * cost)
    bid = services.place_bid(agent_id=alice.id, bundle=big, max_price=cost + 5)
    tick = services.run_market_tick()
    bid.refresh_from_db()
    assert (bid.status, bid.base_cost, bid.price, tick.revenue) == (Bid.Status.WON, cost, cost, cost)
    assert cost == 400_003  # ceil(100 * (2000 * 2e6 + 64 * 400) / 1e6)
    assert ledger.ledger_violations() == []


def test_ties_are_broken_by_a_seeded_draw_not_by_arrival():
    set_economy_seed(3)
    set_supply(cpu=1000, memory=10_000)
    later_won, rounds = 0, 24  # both outcomes; all 24 alike by chance: 2 in 16.7 million (8 rounds failed 1 in 128)
    for _ in range(rounds):
        first, _ = make_agent(credits=100)
        second, _ = make_agent(credits=100)
        early = services.place_bid(agent_id=first.id, bundle=SMALL, max_price=12)
        late = services.place_bid(agent_id=second.id, bundle=SMALL, max_price=12)
        tick = services.run_market_tick()
        tie = TieBreak.for_tick("market", tick.number)
        expected = min((early, late), key=lambda bid: tie.key(bid.id))
        assert Bid.objects.get(tick_number=tick.number, status=Bid.Status.WON).id == expected.id
        later_won += expected.id == late.id
    assert 0 < later_won < rounds  # arrival decides nothing


def test_a_tick_slot_runs_once_and_a_rerun_changes_nothing():
    alice, _ = make_agent(credits=100)
    services.place_bid(agent_id=alice.id, bundle=SMALL, max_price=50)
    first = services.run_market_tick(slot=1234)
    transfers = Transfer.objects.count()
    balance = ledger.get_balance(agent_id=alice.id)
    assert services.run_market_tick(slot=1234) is None
    assert Tick.objects.count() == 1
    assert Transfer.objects.count() == transfers
    assert ledger.get_balance(agent_id=alice.id) == balance
    assert first.number == 1
    assert services.run_market_tick(slot=1235).number == 2


def test_bids_placed_after_the_tick_closed_join_the_next_one():
    alice, _ = make_agent(credits=100)
    services.run_market_tick()
    bid = services.place_bid(agent_id=alice.id, bundle=SMALL, max_price=10)
    assert bid.tick_number == 2
    services.run_market_tick()
    assert Bid.objects.get(id=bid.id).status == Bid.Status.WON


def test_prices_rise_under_high_utilization_and_fall_under_low():
    set_supply(cpu=1000, memory=256)
    start = dict(MarketState.objects.values_list("resource__code", "price"))
    for _ in range(5):
        agent, _ = make_agent(credits=100)
        services.place_bid(agent_id=agent.id, bundle=SMALL, max_price=20)
        services.run_market_tick()
    high = dict(MarketState.objects.values_list("resource__code", "price"))
    assert high["cpu"] > start["cpu"]
    assert high["memory"] > start["memory"]
    for _ in range(5):
        services.run_market_tick()
    low = dict(MarketState.objects.values_list("resource__code", "price"))
    assert low["cpu"] < high["cpu"]
    assert low["memory"] < high["memory"]


@pytest.mark.parametrize("ema", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("target", [0.2, 0.5, 0.8])
def test_the_controller_steps_at_most_an_eighth_within_floor_and_ceiling(ema, target):
    price = 1000
    new = next_price(price=price, utilization_ema=ema, target=target, floor=1, ceiling=10**9)
    assert 875 <= new <= 1125
    assert (new > price) == (ema > target)
    assert (new < price) == (ema < target)
    assert next_price(price=price, utilization_ema=1.0, target=target, floor=1, ceiling=1010) == 1010
    assert next_price(price=price, utilization_ema=0.0, target=target, floor=995, ceiling=2000) == 995


def test_the_controller_uses_the_moving_average():
    set_supply(cpu=1000, memory=10_000)
    state = MarketState.objects.get(resource__code="cpu")
    agent, _ = make_agent(credits=100)
    services.place_bid(agent_id=agent.id, bundle=SMALL, max_price=20)
    services.run_market_tick()
    after = MarketState.objects.get(resource__code="cpu")
    assert after.utilization == 1.0
    assert after.utilization_ema == pytest.approx(state.ema_alpha * 1.0 + (1 - state.ema_alpha) * 0.5)
    assert after.price == next_price(
        price=state.price, utilization_ema=after.utilization_ema, target=0.5, floor=state.floor, ceiling=state.ceiling
    )


def test_supply_comes_from_live_worker_hosts(settings):
    settings.MARKET_DEFAULT_CPU_MILLICORES = 1234
    assert services.current_supply()["cpu"] == 1234
    services.report_worker_capacity(name="host-a", cpu_millicores=2000, memory_mb=4096)
    services.report_worker_capacity(name="host-b", cpu_millicores=1000, memory_mb=1024)
    assert services.current_supply() == {"cpu": 3000, "memory": 5120}
    set_supply(cpu=500, memory=600)
    assert services.current_supply() == {"cpu": 500, "memory": 600}
