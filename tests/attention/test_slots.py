"""An attention tick can sell several slots (the embedded economy judges every run that bids the reserve): the top
bids win and pay the first losing bid, at least the reserve; and a bid may be placed from the running execution
itself, which wins only if that execution succeeded by the tick."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from attention import services
from attention.models import AttentionBid, AttentionState, HumanReward
from economy import selectors as ledger
from economy.models import Hold
from sandbox.models import Execution
from tests.factories import make_agent, make_finished_execution, make_worker

pytestmark = pytest.mark.django_db


def bidder(max_price: int, *, status: str = "SUCCEEDED") -> AttentionBid:
    agent, _ = make_agent(credits=1000)
    execution = make_finished_execution(agent=agent, artifact=f"work of {agent.name}")
    if status != "SUCCEEDED":
        lease = timezone.now() + timedelta(seconds=60)
        worker, _ = make_worker()
        Execution.objects.filter(id=execution.id).update(
            status=status, finished_at=None, lease_expires_at=lease, worker_token=worker
        )
    return services.place_attention_bid(agent_id=agent.id, execution_id=execution.id, max_price=max_price)


def finish(execution_id: int, status: str) -> None:
    Execution.objects.filter(id=execution_id).update(status=status, finished_at=timezone.now())


def test_the_top_bids_win_the_slots_and_all_pay_the_first_losing_bid():
    bids = [bidder(price) for price in (30, 80, 50, 25, 60)]
    balances = {b.id: ledger.get_balance(agent_id=b.agent_id) for b in bids}

    tick = services.run_attention_tick(slots=3)

    statuses = dict(AttentionBid.objects.values_list("max_price", "status"))
    assert statuses == {80: "WON", 60: "WON", 50: "WON", 30: "LOST", 25: "LOST"}
    assert (tick.price, tick.bids) == (30, 5)
    assert AttentionBid.objects.get(id=tick.winner_id).max_price == 80  # the tick row names the highest
    for bid in bids:
        paid = 30 if bid.max_price >= 50 else 0
        assert ledger.get_balance(agent_id=bid.agent_id) == balances[bid.id] + bid.max_price - paid
    items = HumanReward.objects.order_by("id")
    assert [item.bid.max_price for item in items] == [80, 60, 50]
    assert {item.price_paid for item in items} == {30}
    assert AttentionState.objects.get(id=1).utilization == 1.0
    assert not Hold.objects.filter(status=Hold.Status.PENDING).exists()
    assert ledger.ledger_violations() == []


def test_with_fewer_bids_than_slots_each_pays_the_reserve_and_utilization_is_the_share_sold():
    bids = [bidder(40), bidder(90)]
    reserve = AttentionState.objects.get(id=1).price
    tick = services.run_attention_tick(slots=8)
    assert set(AttentionBid.objects.values_list("status", flat=True)) == {"WON"}
    assert tick.price == reserve
    assert set(AttentionBid.objects.values_list("price", flat=True)) == {reserve}
    assert AttentionState.objects.get(id=1).utilization == pytest.approx(2 / 8)
    assert HumanReward.objects.count() == len(bids)
    assert ledger.ledger_violations() == []


def test_one_slot_is_still_a_second_price_auction(settings):
    settings.ATTENTION_SLOTS = 1
    bidder(30)
    bidder(45)
    tick = services.run_attention_tick()
    assert (AttentionBid.objects.get(id=tick.winner_id).max_price, tick.price) == (45, 30)
    assert HumanReward.objects.count() == 1


def test_a_running_execution_can_bid_and_wins_once_it_succeeded():
    running = bidder(40, status=Execution.Status.RUNNING)
    assert running.status == AttentionBid.Status.PENDING
    finish(running.execution_id, Execution.Status.SUCCEEDED)
    services.run_attention_tick(slots=2)
    assert AttentionBid.objects.get(id=running.id).status == AttentionBid.Status.WON
    assert HumanReward.objects.filter(execution_id=running.execution_id).exists()


@pytest.mark.parametrize("status", [Execution.Status.RUNNING, Execution.Status.FAILED, Execution.Status.TIMED_OUT])
def test_a_bid_whose_execution_did_not_succeed_by_the_tick_loses_and_is_released(status):
    bid = bidder(40, status=Execution.Status.RUNNING)
    before = ledger.get_balance(agent_id=bid.agent_id)
    if status != Execution.Status.RUNNING:
        finish(bid.execution_id, status)
    tick = services.run_attention_tick(slots=2)
    assert tick.winner_id is None
    assert AttentionBid.objects.get(id=bid.id).status == AttentionBid.Status.LOST
    assert ledger.get_balance(agent_id=bid.agent_id) == before + 40
    assert not HumanReward.objects.exists()
    assert ledger.ledger_violations() == []


def test_an_attention_tick_sells_at_least_one_slot():
    with pytest.raises(ValueError):
        services.run_attention_tick(slots=0)
