"""Property-based tests of the attention tick over random bid books (hypothesis), on the real database."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attention import errors, services
from attention.models import AttentionBid, AttentionState, HumanReward
from economy import selectors as ledger
from economy.determinism import TieBreak
from economy.models import Agent, Hold
from tests.factories import make_agent, make_finished_execution, rolled_back

pytestmark = pytest.mark.django_db

POOL = 8
# Each entry: (index of the execution in the pool, max price).
books = st.lists(
    st.tuples(st.integers(0, POOL - 1), st.integers(1, 60)),
    min_size=0,
    max_size=12,
)
hypothesis_settings = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture
def pool():
    """Eight agents, each with one succeeded execution carrying an artifact (shared by all examples)."""
    executions = []
    for _ in range(POOL):
        agent, _ = make_agent(credits=1000)
        executions.append(make_finished_execution(agent=agent, artifact=f"work of {agent.name}"))
    return executions


@hypothesis_settings
@given(book=books, reserve=st.integers(5, 40), dead=st.sets(st.integers(0, POOL - 1), max_size=3))
def test_a_tick_queues_at_most_one_item_at_the_second_price_and_releases_everyone_else(pool, book, reserve, dead):
    with rolled_back():
        AttentionState.objects.filter(id=1).update(price=reserve)
        placed = []
        for index, max_price in book:
            execution = pool[index]
            try:
                placed.append(
                    services.place_attention_bid(
                        agent_id=execution.agent_id, execution_id=execution.id, max_price=max_price
                    )
                )
            except (errors.AttentionBidPending, errors.BidBelowReserve):
                pass
        dead_agents = {pool[i].agent_id for i in dead}
        Agent.objects.filter(id__in=dead_agents).update(status=Agent.Status.DEAD)
        balances = {e.agent_id: ledger.get_balance(agent_id=e.agent_id) for e in pool}

        tick = services.run_attention_tick()

        key = TieBreak.for_tick("attention", tick.number).key  # ties: the tick's seeded draw
        eligible = sorted(
            (b for b in placed if b.agent_id not in dead_agents), key=lambda b: (-b.max_price, key(b.id), b.id)
        )
        assert HumanReward.objects.count() == (1 if eligible else 0)
        assert AttentionBid.objects.filter(status="WON").count() == len(eligible[:1])
        assert not AttentionBid.objects.filter(status="PENDING").exists()
        assert not Hold.objects.filter(status=Hold.Status.PENDING).exists()
        if eligible:
            winner = eligible[0]
            second = eligible[1].max_price if len(eligible) > 1 else 0
            expected_price = min(winner.max_price, max(reserve, second))
            assert (tick.winner_id, tick.price) == (winner.id, expected_price)
            assert reserve <= tick.price <= winner.max_price
            assert HumanReward.objects.get().execution_id == winner.execution_id
        else:
            assert (tick.winner_id, tick.price) == (None, None)
        for execution in pool:
            paid = tick.price if eligible and execution.agent_id == eligible[0].agent_id else 0
            held = sum(b.max_price for b in placed if b.agent_id == execution.agent_id)
            assert ledger.get_balance(agent_id=execution.agent_id) == balances[execution.agent_id] + held - paid
        assert ledger.ledger_violations() == []
        assert services.run_attention_tick(slot=None).winner_id is None  # the next tick has nothing left
