"""Attention bids through the API: an agent puts its own succeeded, artifact-carrying execution up for a judge;
every refusal has a clear code and holds nothing."""

from __future__ import annotations

import pytest

from attention.models import AttentionBid, AttentionState
from economy import selectors as ledger
from economy.models import Hold
from sandbox.models import Execution
from tests.factories import auth, make_agent, make_finished_execution, make_review_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    agent, token = make_agent(credits=1000, name="alice")
    return agent, token, make_finished_execution(agent=agent, artifact="a poem")


def bid(api, token, execution_id, max_price):
    return api.post(
        "/attention/bids", {"execution_id": execution_id, "max_price": max_price}, format="json", **auth(token)
    )


def test_an_agent_bids_for_attention_and_the_maximum_is_held(api, alice):
    agent, token, execution = alice
    before = ledger.get_balance(agent_id=agent.id)
    response = bid(api, token, execution.id, 25)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["execution_id"], body["max_price"], body["held"], body["tick_number"]) == (
        "PENDING", execution.id, 25, 25, 1,
    )  # fmt: skip
    assert ledger.get_balance(agent_id=agent.id) == before - 25
    assert ledger.get_held(agent_id=agent.id) == 25


def test_an_agent_lists_and_cancels_its_own_bids_and_gets_the_escrow_back(api, alice):
    agent, token, execution = alice
    other, other_token = make_agent(credits=1000)
    make_review_item(agent=other)  # someone else's bids are not listed
    before = ledger.get_balance(agent_id=agent.id)
    created = bid(api, token, execution.id, 30).json()
    listed = api.get("/attention/bids", **auth(token)).json()
    assert (listed["count"], [b["id"] for b in listed["results"]]) == (1, [created["id"]])
    assert api.get("/attention/bids?status=WON", **auth(token)).json()["count"] == 0
    assert api.get(f"/attention/bids/{created['id']}", **auth(token)).json()["id"] == created["id"]

    cancelled = api.delete(f"/attention/bids/{created['id']}", **auth(token))
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["held"]) == ("CANCELLED", 0)
    assert ledger.get_balance(agent_id=agent.id) == before
    again = api.delete(f"/attention/bids/{created['id']}", **auth(token))
    assert (again.status_code, again.json()["code"]) == (409, "attention_bid_closed")
    foreign = api.delete(f"/attention/bids/{created['id']}", **auth(other_token))
    assert (foreign.status_code, foreign.json()["code"]) == (404, "unknown_attention_bid")
    assert ledger.ledger_violations() == []


def test_after_a_cancel_the_execution_can_be_offered_again(api, alice):
    _, token, execution = alice
    first = bid(api, token, execution.id, 30).json()
    api.delete(f"/attention/bids/{first['id']}", **auth(token))
    assert bid(api, token, execution.id, 30).status_code == 201


def test_the_price_endpoint_shows_the_reserve_and_the_next_ticks_bounds(api, alice):
    _, token, _ = alice
    AttentionState.objects.filter(id=1).update(price=16, floor=10)
    body = api.get("/attention/price", **auth(token)).json()
    assert (body["price"], body["next_price_min"], body["next_price_max"], body["queued"]) == (16, 14, 18, 0)
    assert body["open_tick"] == 1
    assert body["reward_per_point"] > 0


@pytest.mark.parametrize(
    ("case", "status_code", "code"),
    [
        ("someone_elses", 404, "unknown_execution"),
        ("missing", 404, "unknown_execution"),
        ("failed", 409, "execution_not_succeeded"),
        ("timed_out", 409, "execution_not_succeeded"),
        ("still_running", 409, "execution_not_succeeded"),
        ("no_artifact", 409, "no_artifact"),
        ("blank_artifact", 409, "no_artifact"),
        ("pending_bid", 409, "attention_bid_pending"),
        ("queued", 409, "execution_already_queued"),
        ("judged", 409, "execution_already_judged"),
        ("too_poor", 409, "insufficient_funds"),
        ("below_reserve", 400, "bid_below_reserve"),
        ("zero", 400, "invalid_max_price"),
        ("float", 400, "invalid_max_price"),
        ("string_id", 400, "invalid_execution_id"),
    ],
)
def test_a_bid_is_refused_with_a_clear_code_and_holds_nothing(api, case, status_code, code):
    agent, token = make_agent(credits=1000)
    execution = make_finished_execution(agent=agent, artifact="a poem")
    execution_id, max_price = execution.id, 20
    if case == "someone_elses":
        other, _ = make_agent(credits=1000)
        execution_id = make_finished_execution(agent=other).id
    elif case == "missing":
        execution_id = 10**9
    elif case in {"failed", "timed_out"}:
        Execution.objects.filter(id=execution.id).update(status=case.upper())
    elif case == "still_running":
        Execution.objects.filter(id=execution.id).update(status=Execution.Status.QUEUED, finished_at=None)
    elif case == "no_artifact":
        Execution.objects.filter(id=execution.id).update(artifact="")
    elif case == "blank_artifact":
        Execution.objects.filter(id=execution.id).update(artifact=" \n\t ")
    elif case == "pending_bid":
        assert bid(api, token, execution.id, 20).status_code == 201
    elif case == "queued":
        execution_id = make_review_item(agent=agent).execution_id
    elif case == "judged":
        item = make_review_item(agent=agent)
        type(item).objects.filter(id=item.id).update(status="SCORED", score=0, scored_at=item.queued_at)
        execution_id = item.execution_id
    elif case == "too_poor":
        max_price = ledger.get_balance(agent_id=agent.id) + 1
    elif case == "below_reserve":
        AttentionState.objects.filter(id=1).update(price=21, floor=10)
    elif case == "zero":
        max_price = 0
    elif case == "float":
        max_price = 20.0
    elif case == "string_id":
        execution_id = str(execution.id)
    pending_before = AttentionBid.objects.filter(status="PENDING").count()
    held_before = Hold.objects.filter(status="pending").count()
    balance_before = ledger.get_balance(agent_id=agent.id)

    response = bid(api, token, execution_id, max_price)

    assert (response.status_code, response.json()["code"]) == (status_code, code), response.content
    assert AttentionBid.objects.filter(status="PENDING").count() == pending_before
    assert Hold.objects.filter(status="pending").count() == held_before
    assert ledger.get_balance(agent_id=agent.id) == balance_before
    if case == "below_reserve":
        assert response.json()["reserve"] == 21
