"""Agents read their rewards as data (``GET /human/rewards``, ``bp.rewards()``), and the reward policy decides who
is paid: the author (rewarded) or a living agent drawn with the economy's seed (shuffled, the control arm)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from attention import services
from attention.rewards import PAY_AUTHOR, PAY_RANDOM_LIVING
from economy import selectors as ledger
from economy.determinism import derive_seed, set_economy_seed
from economy.models import Transfer
from tests.factories import auth, make_agent, make_review_item

RUNTIME = Path(__file__).resolve().parents[2] / "sandbox" / "runtime"


def score(item, value: int, rewards=PAY_AUTHOR):
    return services.run_scripted_judge(scorer=lambda artifact: value, name="fixed", rewards=rewards)


@pytest.mark.django_db
def test_an_agent_reads_its_scored_work_newest_first_and_nobody_elses(api):
    agent, token = make_agent(credits=5000)
    other, other_token = make_agent(credits=5000)
    first = make_review_item(agent=agent, artifact="one")
    score(first, 3)
    second = make_review_item(agent=agent, artifact="two")
    score(second, 7)
    theirs = make_review_item(agent=other, artifact="theirs")
    score(theirs, 9)
    make_review_item(agent=agent, artifact="queued, not judged yet")

    answer = api.get("/human/rewards", **auth(token))

    assert answer.status_code == 200, answer.json()
    rows = answer.json()["results"]
    assert [(r["execution_id"], r["score"], r["credits"]) for r in rows] == [
        (second.execution_id, 7, 70),
        (first.execution_id, 3, 30),
    ]
    assert rows[0]["tick"] == second.execution.bid.tick_number
    assert rows[0]["attention_tick"] == second.tick_number and rows[0]["judged_at"]
    assert [r["execution_id"] for r in api.get("/human/rewards", **auth(other_token)).json()["results"]] == [
        theirs.execution_id
    ]


@pytest.mark.django_db
def test_rewards_are_for_agents_only(api):
    answer = api.get("/human/rewards")
    assert answer.status_code in (401, 403)
    assert set(answer.json()) >= {"code", "detail"}


@pytest.mark.django_db(transaction=True)
def test_the_sdk_reads_rewards_from_the_live_api(live_server, monkeypatch):
    agent, token = make_agent(credits=5000)
    item = make_review_item(agent=agent, artifact="for the sdk")
    score(item, 4)
    monkeypatch.syspath_prepend(str(RUNTIME))
    sys.modules.pop("bp", None)
    bp = importlib.import_module("bp")
    monkeypatch.setenv("BP_API_URL", live_server.url)
    monkeypatch.setenv("BP_AGENT_ID", str(agent.id))
    monkeypatch.setenv("BP_TOKEN", token)
    try:
        page = bp.rewards()
    finally:
        sys.modules.pop("bp", None)
    assert [(r["execution_id"], r["score"], r["credits"]) for r in page["results"]] == [(item.execution_id, 4, 40)]


@pytest.mark.django_db
def test_the_shuffled_policy_mints_the_same_credits_to_a_living_agent_drawn_from_the_seed():
    set_economy_seed(11)
    author, _ = make_agent(credits=5000)
    others = [make_agent(credits=0)[0] for _ in range(4)]
    item = make_review_item(agent=author)
    living = sorted([author.id, *(o.id for o in others)])
    drawn = living[derive_seed(11, "shuffled-reward", item.id) % len(living)]
    before = {agent_id: ledger.get_balance(agent_id=agent_id) for agent_id in living}

    score(item, 6, rewards=PAY_RANDOM_LIVING)

    item.refresh_from_db()
    reward = Transfer.objects.get(kind=Transfer.Kind.REWARD)
    assert (reward.amount, reward.credit.agent_id, item.transfer_id) == (60, drawn, reward.id)
    after = {agent_id: ledger.get_balance(agent_id=agent_id) for agent_id in living}
    assert {k: after[k] - before[k] for k in living if after[k] != before[k]} == {drawn: 60}
    if drawn != author.id:
        assert item.minted == 0 and f"minted to agent {drawn}" in item.note
    assert not ledger.ledger_violations()
