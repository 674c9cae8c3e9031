"""Property-based tests of the tick over random bid books (hypothesis), on the real database and SQL."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from economy import selectors as ledger
from economy.determinism import TieBreak
from economy.errors import InvalidAmount
from economy.models import Hold, Transfer
from market import services
from market.bundles import ResourceBundle
from market.errors import BidBelowReserve
from market.models import Bid, MarketState
from tests.factories import make_agent, rolled_back

pytestmark = pytest.mark.django_db

CPU_SUPPLY, MEMORY_SUPPLY = 2000, 1024
bundles = st.builds(
    ResourceBundle,
    cpu_millicores=st.sampled_from([100, 250, 500, 1000, 1500]),
    memory_mb=st.sampled_from([32, 64, 128, 256, 512]),
    wall_seconds=st.integers(1, 30),
)
books = st.lists(st.tuples(bundles, st.integers(0, 60)), min_size=0, max_size=14)
hypothesis_settings = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def in_rollback(fn):
    """Run ``fn`` inside a savepoint that is always rolled back, so examples do not see each other."""
    with rolled_back():
        return fn()


def setup_market():
    MarketState.objects.filter(resource__code="cpu").update(supply_override=CPU_SUPPLY)
    MarketState.objects.filter(resource__code="memory").update(supply_override=MEMORY_SUPPLY)


def place_book(book):
    """Place each (bundle, extra) bid at its posted cost plus ``extra`` credits; returns the placed bids."""
    prices = services.posted_prices()
    placed = []
    for bundle, extra in book:
        agent, _ = make_agent(credits=200)
        cost = bundle.cost(cpu_price=prices.cpu, memory_price=prices.memory)
        placed.append(services.place_bid(agent_id=agent.id, bundle=bundle, max_price=cost + extra))
    return placed


def multiple(bid) -> Fraction:
    return Fraction(bid.max_price, bid.base_cost)


@hypothesis_settings
@given(book=books)
def test_every_tick_respects_supply_prices_and_the_ledger(book):
    def example():
        setup_market()
        placed = place_book(book)
        tick = services.run_market_tick(slot=99)
        bids = list(Bid.objects.filter(id__in=[b.id for b in placed]).select_related("hold"))
        winners = [b for b in bids if b.status == Bid.Status.WON]
        losers = [b for b in bids if b.status == Bid.Status.LOST]
        assert len(winners) + len(losers) == len(placed)
        # Allocation never exceeds any supply.
        assert sum(b.cpu_millicores for b in winners) <= CPU_SUPPLY
        assert sum(b.memory_mb for b in winners) <= MEMORY_SUPPLY
        # Winners are the best offers: every winner ranks above every loser (ties: the tick's seeded draw).
        tie = TieBreak.for_tick("market", tick.number)
        for w in winners:
            for lo in losers:
                assert (multiple(w), -tie.key(w.id), -w.id) > (multiple(lo), -tie.key(lo.id), -lo.id)
        # One uniform multiple: the first loser's offer per credit of cost, at least 1; never above a bid.
        clearing = max([multiple(lo) for lo in losers] + [Fraction(1)])
        for w in winners:
            assert w.price <= w.max_price
            assert w.price == min(w.max_price, -(-w.base_cost * clearing.numerator // clearing.denominator))
            assert w.hold.status == Hold.Status.SETTLED and w.hold.settled_amount == w.price
        assert tick.clearing_multiple == pytest.approx(float(clearing))
        # Losers are released in full.
        for lo in losers:
            assert lo.price is None
            assert lo.hold.status == Hold.Status.RELEASED
            assert ledger.get_balance(agent_id=lo.agent_id) == 200 - lo.fee
        assert ledger.ledger_violations() == []
        # Running the same tick again changes nothing.
        transfers = Transfer.objects.count()
        assert services.run_market_tick(slot=99) is None
        assert Transfer.objects.count() == transfers

    in_rollback(example)


UNIT = ResourceBundle(cpu_millicores=500, memory_mb=128, wall_seconds=10)  # four fit the supply


@hypothesis_settings
@given(
    others=st.lists(st.integers(0, 40), min_size=0, max_size=10),
    value_extra=st.integers(-3, 40),
    alternative_extra=st.integers(-3, 60),
)
def test_bidding_the_true_value_is_never_worse_for_a_unit_demand_bidder(others, value_extra, alternative_extra):
    """Truthfulness for unit-demand bidders (every bundle alike): a bidder who values the bundle at ``value`` gains
    no more by bidding anything else. (With bundles of different sizes the uniform price is not strictly
    truthful: see docs/architecture.md, section 5.)"""

    def utility(extra_bid: int) -> int:
        def example():
            setup_market()
            prices = services.posted_prices()
            cost = UNIT.cost(cpu_price=prices.cpu, memory_price=prices.memory)
            place_book([(UNIT, extra) for extra in others])
            me, _ = make_agent(credits=500)
            try:
                bid = services.place_bid(agent_id=me.id, bundle=UNIT, max_price=cost + extra_bid)
            except (BidBelowReserve, InvalidAmount):  # no bid, no gain
                return 0
            services.run_market_tick()
            bid.refresh_from_db()
            value = cost + value_extra
            return value - bid.price if bid.status == Bid.Status.WON else 0

        return in_rollback(example)

    truthful = utility(value_extra) if value_extra >= 0 else 0
    assert truthful >= utility(alternative_extra)
