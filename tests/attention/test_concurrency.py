"""Races on PostgreSQL: double submissions of a score, bids for one execution, ticks of one slot, bids during ticks."""

from __future__ import annotations

import threading
from functools import partial

import pytest

from attention import errors, services
from attention.models import AttentionBid, AttentionTick, HumanReward
from economy import selectors as ledger
from economy.models import Transfer
from tests.factories import (
    make_agent,
    make_finished_execution,
    make_review_item,
    make_user,
    run_in_threads,
    run_while_ticking,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_a_reward_is_minted_once_under_concurrent_double_submission(postgres_only):
    item = make_review_item()
    judges = [make_user(judge=True) for _ in range(2)]
    before = ledger.get_balance(agent_id=item.agent_id)
    barrier = threading.Barrier(8)

    def submit(index):
        barrier.wait()
        try:
            services.judge_execution(judge=judges[index % 2], execution_id=item.execution_id, score=7)
            return "scored"
        except errors.AlreadyScored:
            return "refused"

    outcomes = run_in_threads(submit, 8)

    assert sorted(outcomes) == ["refused"] * 7 + ["scored"]
    assert Transfer.objects.filter(kind=Transfer.Kind.REWARD).count() == 1
    assert ledger.get_balance(agent_id=item.agent_id) == before + 70
    assert HumanReward.objects.get().minted == 70
    assert ledger.ledger_violations() == []


def test_a_human_and_the_scripted_judge_racing_mint_once(postgres_only, settings):
    settings.ATTENTION_JUDGE = "attention.judges:length_judge"
    item = make_review_item(artifact=" ".join(f"w{n}" for n in range(100)))
    judge = make_user(judge=True)
    barrier = threading.Barrier(2)

    def work(index):
        barrier.wait()
        if index == 0:
            return len(services.run_scripted_judge())
        try:
            services.judge_execution(judge=judge, execution_id=item.execution_id, score=3)
            return 1
        except errors.AlreadyScored:
            return 0

    assert sum(run_in_threads(work, 2)) == 1
    assert Transfer.objects.filter(kind=Transfer.Kind.REWARD).count() == 1
    assert ledger.ledger_violations() == []


def test_concurrent_bids_for_one_execution_hold_once(postgres_only):
    agent, _ = make_agent(credits=1000)
    execution = make_finished_execution(agent=agent)
    barrier = threading.Barrier(6)

    def place(index):
        barrier.wait()
        try:
            services.place_attention_bid(agent_id=agent.id, execution_id=execution.id, max_price=20 + index)
            return "placed"
        except errors.AttentionBidPending:
            return "refused"

    outcomes = run_in_threads(place, 6)
    assert sorted(outcomes) == ["placed"] + ["refused"] * 5
    assert ledger.get_held(agent_id=agent.id) == AttentionBid.objects.get().max_price
    assert ledger.ledger_violations() == []


def test_concurrent_runs_of_one_slot_make_one_tick(postgres_only):
    for _ in range(3):
        agent, _ = make_agent(credits=1000)
        execution = make_finished_execution(agent=agent)
        services.place_attention_bid(agent_id=agent.id, execution_id=execution.id, max_price=30)
    outcomes = run_in_threads(lambda _: services.run_attention_tick(slot=42) is not None, 6)
    assert sorted(outcomes) == [False] * 5 + [True]
    assert AttentionTick.objects.count() == 1
    assert HumanReward.objects.count() == 1
    assert ledger.ledger_violations() == []


def test_bids_placed_while_ticks_run_are_each_settled_once_and_each_tick_queues_at_most_one(postgres_only):
    agents = [make_agent(credits=2000)[0] for _ in range(4)]
    executions = {a.id: [make_finished_execution(agent=a).id for _ in range(3)] for a in agents}

    def bid_and_cancel(agent, index):
        for round_ in range(3):
            for execution_id in executions[agent.id]:
                try:
                    bid = services.place_attention_bid(
                        agent_id=agent.id, execution_id=execution_id, max_price=10 + round_ + index
                    )
                    if round_ == 1:
                        services.cancel_attention_bid(agent_id=agent.id, bid_id=bid.id)
                except (
                    errors.AttentionBidPending,
                    errors.ExecutionAlreadyQueued,
                    errors.AttentionBidClosed,
                    errors.BidBelowReserve,
                ):
                    pass

    bidders = [partial(bid_and_cancel, agent, index) for index, agent in enumerate(agents, start=1)]
    ran = run_while_ticking(services.run_attention_tick, bidders)
    services.run_attention_tick()
    assert ran >= 2
    assert not AttentionBid.objects.filter(status="PENDING").exists()
    ticks = AttentionTick.objects.count()
    assert HumanReward.objects.count() == AttentionTick.objects.filter(winner__isnull=False).count() <= ticks
    assert AttentionBid.objects.filter(status="WON").count() == HumanReward.objects.count()
    assert ledger.ledger_violations() == []
