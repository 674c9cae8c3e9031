"""The attention tick sells one slot: second price, reserve when alone, losers released, one item queued, the reserve
follows utilization, and a slot runs once."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from attention import services
from attention.models import AttentionBid, AttentionState, AttentionTick, HumanReward
from economy import selectors as ledger
from economy.determinism import TieBreak, set_economy_seed
from economy.models import Agent, Hold, Transfer
from tests.factories import make_agent, make_finished_execution

pytestmark = pytest.mark.django_db


def bidder(max_price: int, *, credits: int = 1000) -> AttentionBid:
    agent, _ = make_agent(credits=credits)
    execution = make_finished_execution(agent=agent, artifact=f"work of {agent.name}")
    return services.place_attention_bid(agent_id=agent.id, execution_id=execution.id, max_price=max_price)


def reserve() -> int:
    return AttentionState.objects.get(id=1).price


def test_the_winner_pays_the_second_highest_bid_and_the_losers_are_released():
    low, high, mid = bidder(12), bidder(40), bidder(25)
    balances = {b.id: ledger.get_balance(agent_id=b.agent_id) for b in (low, high, mid)}

    tick = services.run_attention_tick()

    assert (tick.winner_id, tick.price, tick.bids) == (high.id, 25, 3)
    assert ledger.get_balance(agent_id=high.agent_id) == balances[high.id] + 40 - 25
    assert ledger.get_balance(agent_id=low.agent_id) == balances[low.id] + 12
    assert ledger.get_balance(agent_id=mid.agent_id) == balances[mid.id] + 25
    statuses = dict(AttentionBid.objects.values_list("id", "status"))
    assert statuses == {low.id: "LOST", mid.id: "LOST", high.id: "WON"}
    assert not Hold.objects.filter(status=Hold.Status.PENDING).exists()
    item = HumanReward.objects.get()
    assert (item.execution_id, item.agent_id, item.price_paid, item.status) == (
        high.execution_id, high.agent_id, 25, "QUEUED",
    )  # fmt: skip
    assert ledger.ledger_violations() == []


def test_a_lone_bidder_pays_the_reserve():
    alone = bidder(50)
    tick = services.run_attention_tick()
    assert (tick.winner_id, tick.price, tick.reserve) == (alone.id, settings.ATTENTION_RESERVE_PRICE, tick.reserve)
    assert AttentionBid.objects.get(id=alone.id).price == settings.ATTENTION_RESERVE_PRICE
    assert ledger.ledger_violations() == []


def test_the_winners_payment_is_burned_into_the_treasury():
    bidder(50)
    services.run_attention_tick()
    settle = Transfer.objects.get(kind=Transfer.Kind.SETTLE, memo="attention tick 1")
    assert (settle.credit.system, settle.amount) == ("treasury", settings.ATTENTION_RESERVE_PRICE)


def test_ties_at_the_tied_price_are_broken_by_a_seeded_draw_not_by_arrival():
    set_economy_seed(5)
    later_won = 0
    for _ in range(8):
        first, second = bidder(30), bidder(30)
        tick = services.run_attention_tick()
        key = TieBreak.for_tick("attention", tick.number).key
        winner, loser = sorted((first, second), key=lambda bid: key(bid.id))
        assert (tick.winner_id, tick.price) == (winner.id, 30)
        assert AttentionBid.objects.get(id=loser.id).status == "LOST"
        later_won += winner.id == second.id
    assert 0 < later_won < 8  # arrival decides nothing


def test_one_tick_queues_one_item_however_many_bid():
    bids = [bidder(10 + n) for n in range(6)]
    services.run_attention_tick()
    assert HumanReward.objects.count() == 1
    assert AttentionBid.objects.filter(status="WON").count() == 1
    assert AttentionBid.objects.filter(status="LOST").count() == len(bids) - 1


def test_the_next_tick_sells_the_next_slot_to_the_bids_placed_since():
    bidder(30)
    services.run_attention_tick()
    later = bidder(20)
    assert later.tick_number == 2
    tick = services.run_attention_tick()
    assert (tick.number, tick.winner_id) == (2, later.id)
    assert HumanReward.objects.count() == 2


def test_an_empty_tick_queues_nothing_and_lowers_the_reserve():
    AttentionState.objects.filter(id=1).update(price=100)
    start = reserve()
    tick = services.run_attention_tick()
    assert (tick.winner_id, tick.price, tick.bids, tick.utilization) == (None, None, 0, 0.0)
    assert not HumanReward.objects.exists()
    assert reserve() < start
    assert tick.next_price == reserve()


def test_the_reserve_rises_while_the_slot_keeps_selling_and_stays_within_its_bounds():
    AttentionState.objects.filter(id=1).update(price=100, floor=50, ceiling=104, utilization_ema=0.8)
    prices = []
    for _ in range(4):
        bidder(200)
        services.run_attention_tick()
        prices.append(reserve())
    assert prices[0] > 100
    assert prices == sorted(prices)
    assert max(prices) == 104
    for _ in range(30):
        services.run_attention_tick()
    assert reserve() == 50


def test_the_reserve_step_is_the_markets_bounded_controller():
    AttentionState.objects.filter(id=1).update(price=1000, utilization_ema=0.0, target_utilization=0.5, ema_alpha=0.5)
    services.run_attention_tick()  # ema 0 -> 0: the largest step down
    assert reserve() == 875


def test_bids_below_a_raised_reserve_or_by_dead_agents_lose_and_are_released():
    dead, cheap, fair = bidder(90), bidder(20), bidder(15)
    Agent.objects.filter(id=dead.agent_id).update(status=Agent.Status.DEAD)
    AttentionState.objects.filter(id=1).update(price=18)  # staff raised the reserve after the bids
    tick = services.run_attention_tick()
    assert (tick.winner_id, tick.price) == (cheap.id, 18)
    assert dict(AttentionBid.objects.filter(id__in=[dead.id, fair.id]).values_list("id", "status")) == {
        dead.id: "LOST",
        fair.id: "LOST",
    }
    assert ledger.get_held(agent_id=dead.agent_id) == 0
    assert ledger.ledger_violations() == []


def test_a_rerun_of_a_slot_changes_nothing():
    bidder(30)
    first = services.run_attention_tick(slot=7)
    bidder(40)
    transfers = Transfer.objects.count()
    state = AttentionState.objects.values().get(id=1)
    assert services.run_attention_tick(slot=7) is None
    assert Transfer.objects.count() == transfers
    assert AttentionState.objects.values().get(id=1) == state
    assert AttentionTick.objects.get().number == first.number
    assert AttentionBid.objects.filter(status="PENDING").count() == 1


def test_the_ledger_stays_sound_after_every_tick():
    for round_ in range(4):
        for n in range(round_):
            bidder(10 + 7 * n)
        services.run_attention_tick()
        assert ledger.ledger_violations() == []


def test_the_command_runs_one_tick_now():
    alone = bidder(30)
    out = StringIO()
    call_command("run_attention_tick", stdout=out)
    summary = json.loads(out.getvalue())
    assert (summary["tick"], summary["winner_bid"], summary["price"]) == (1, alone.id, settings.ATTENTION_RESERVE_PRICE)


def test_the_tick_task_runs_the_current_slot_once(monkeypatch):
    from attention import tasks

    monkeypatch.setattr("time.time", lambda: 1_000_000.0)
    bidder(30)
    assert tasks.run_attention_tick_task.run() == 1
    assert tasks.run_attention_tick_task.run() is None
    assert AttentionTick.objects.get().slot == 1_000_000 // settings.ATTENTION_TICK_SECONDS
    assert tasks.run_attention_tick_task.queue == "ticks"
