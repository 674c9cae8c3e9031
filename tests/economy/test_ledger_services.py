"""The ledger's services: transfers, mint, burn, holds, idempotency, invariants."""

from __future__ import annotations

import pytest
from django.db import transaction

from economy import errors, selectors, services
from economy.models import Account, Hold, Transfer
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


def balances(*agents) -> list[int]:
    return [selectors.get_balance(agent_id=a.id) for a in agents]


def test_it_moves_credits_between_agents():
    alice, _ = make_agent(credits=100)
    bob, _ = make_agent(credits=5)
    transfer = services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=30, memo="thanks")
    assert balances(alice, bob) == [70, 35]
    stored = Transfer.objects.get(id=transfer.id)
    assert (stored.debit.agent_id, stored.credit.agent_id, stored.amount, stored.memo) == (
        alice.id,
        bob.id,
        30,
        "thanks",
    )
    assert stored.kind == Transfer.Kind.TRANSFER
    assert selectors.ledger_violations() == []


def test_it_rejects_overdraft_and_moves_nothing():
    alice, _ = make_agent(credits=10)
    bob, _ = make_agent(credits=0)
    count = Transfer.objects.count()
    with pytest.raises(errors.InsufficientFunds):
        services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=11)
    assert balances(alice, bob) == [10, 0]
    assert Transfer.objects.count() == count


def test_an_exact_balance_can_be_spent_to_zero():
    alice, _ = make_agent(credits=10)
    bob, _ = make_agent()
    services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=10)
    assert balances(alice, bob) == [0, 10]


@pytest.mark.parametrize("amount", [0, -1, 1.5, 2.0, "10", True, None, 10**16])
def test_it_rejects_bad_amounts(amount):
    alice, _ = make_agent(credits=100)
    bob, _ = make_agent()
    with pytest.raises(errors.InvalidAmount):
        services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=amount)
    assert balances(alice, bob) == [100, 0]


def test_it_rejects_unknown_dead_and_self():
    alice, _ = make_agent(credits=100)
    bob, _ = make_agent()
    with pytest.raises(errors.UnknownAgent):
        services.transfer_credits(from_id=alice.id, to_id=999_999, amount=1)
    with pytest.raises(errors.SelfTransfer):
        services.transfer_credits(from_id=alice.id, to_id=alice.id, amount=1)
    bob.status = bob.Status.DEAD
    bob.save(update_fields=["status"])
    with pytest.raises(errors.AgentDead):
        services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=1)
    with pytest.raises(errors.AgentDead):
        services.transfer_credits(from_id=bob.id, to_id=alice.id, amount=1)
    assert balances(alice, bob) == [100, 0]


def test_the_database_refuses_a_negative_agent_balance_even_without_the_service():
    alice, _ = make_agent(credits=1)
    with pytest.raises(Exception, match="account_agent_balance_non_negative"), transaction.atomic():
        Account.objects.filter(agent=alice).update(balance=-1)


def test_a_failure_inside_an_outer_transaction_rolls_everything_back():
    alice, _ = make_agent(credits=50)
    bob, _ = make_agent()

    def both():
        with transaction.atomic():
            services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=20)
            services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=40)  # only 30 left: the block fails

    with pytest.raises(errors.InsufficientFunds):
        both()
    assert balances(alice, bob) == [50, 0]
    assert selectors.ledger_violations() == []


def test_an_idempotent_retry_returns_the_first_transfer_and_moves_nothing_again():
    alice, _ = make_agent(credits=100)
    bob, _ = make_agent()
    first = services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=10, idempotency_key="k1")
    again = services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=10, idempotency_key="k1")
    assert again.id == first.id
    assert balances(alice, bob) == [90, 10]


def test_a_retry_is_answered_even_when_the_payer_is_now_too_poor():
    alice, _ = make_agent(credits=10)
    bob, _ = make_agent()
    first = services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=10, idempotency_key="all")
    assert services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=10, idempotency_key="all").id == first.id


def test_the_same_key_with_another_payload_is_a_conflict():
    alice, _ = make_agent(credits=100)
    bob, _ = make_agent()
    services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=10, idempotency_key="k1")
    with pytest.raises(errors.IdempotencyConflict):
        services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=11, idempotency_key="k1")
    assert balances(alice, bob) == [90, 10]


def test_keys_are_scoped_to_the_payer():
    alice, _ = make_agent(credits=100)
    bob, _ = make_agent(credits=100)
    services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=10, idempotency_key="same")
    services.transfer_credits(from_id=bob.id, to_id=alice.id, amount=3, idempotency_key="same")
    assert balances(alice, bob) == [93, 107]


def test_mint_and_burn_keep_the_sum_of_balances_zero():
    alice, _ = make_agent()
    services.mint_credits(agent_id=alice.id, amount=500, memo="reward")
    services.burn_credits(agent_id=alice.id, amount=120, memo="fee")
    assert selectors.get_balance(agent_id=alice.id) == 380
    assert Account.objects.get(system="mint").balance == -500
    assert Account.objects.get(system="treasury").balance == 120
    assert selectors.ledger_violations() == []
    with pytest.raises(errors.InsufficientFunds):
        services.burn_credits(agent_id=alice.id, amount=381)


def test_a_hold_reserves_then_settles_part_and_releases_the_rest_once():
    alice, _ = make_agent(credits=100)
    hold = services.hold_credits(agent_id=alice.id, amount=60, memo="bid")
    assert selectors.get_balance(agent_id=alice.id) == 40
    assert selectors.get_held(agent_id=alice.id) == 60
    services.settle_hold(hold_id=hold.id, amount=25, memo="clearing price")
    assert selectors.get_balance(agent_id=alice.id) == 75
    assert selectors.get_held(agent_id=alice.id) == 0
    assert Account.objects.get(system="treasury").balance == 25
    with pytest.raises(errors.HoldNotPending):
        services.settle_hold(hold_id=hold.id, amount=25)
    with pytest.raises(errors.HoldNotPending):
        services.release_hold(hold_id=hold.id)
    assert selectors.get_balance(agent_id=alice.id) == 75
    assert Hold.objects.get(id=hold.id).settled_amount == 25
    assert selectors.ledger_violations() == []


def test_a_released_hold_returns_everything_once():
    alice, _ = make_agent(credits=100)
    hold = services.hold_credits(agent_id=alice.id, amount=100)
    assert selectors.get_balance(agent_id=alice.id) == 0
    services.release_hold(hold_id=hold.id)
    with pytest.raises(errors.HoldNotPending):
        services.release_hold(hold_id=hold.id)
    assert selectors.get_balance(agent_id=alice.id) == 100
    assert selectors.ledger_violations() == []


def test_holds_refuse_overdraft_and_over_settlement():
    alice, _ = make_agent(credits=10)
    with pytest.raises(errors.InsufficientFunds):
        services.hold_credits(agent_id=alice.id, amount=11)
    assert Hold.objects.count() == 0
    hold = services.hold_credits(agent_id=alice.id, amount=10)
    with pytest.raises(errors.InvalidAmount):
        services.settle_hold(hold_id=hold.id, amount=11)
    assert Hold.objects.get(id=hold.id).status == Hold.Status.PENDING
    with pytest.raises(errors.UnknownHold):
        services.release_hold(hold_id=hold.id + 1000)
    assert selectors.ledger_violations() == []


def test_settling_can_pay_another_agent():
    alice, _ = make_agent(credits=10)
    bob, _ = make_agent()
    hold = services.hold_credits(agent_id=alice.id, amount=10)
    services.settle_hold(hold_id=hold.id, amount=7, to_account_id=bob.account.id)
    assert balances(alice, bob) == [3, 7]


def test_history_lists_own_transfers_newest_first():
    alice, _ = make_agent(credits=100)
    bob, _ = make_agent()
    carol, _ = make_agent(credits=10)
    t1 = services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=1)
    t2 = services.transfer_credits(from_id=bob.id, to_id=alice.id, amount=1)
    services.transfer_credits(from_id=carol.id, to_id=bob.id, amount=1)
    ids = list(selectors.get_history(agent_id=alice.id).values_list("id", flat=True))
    assert ids[:2] == [t2.id, t1.id]
    assert len(ids) == 3  # two transfers and the genesis mint


def test_ledger_check_names_a_violation():
    alice, _ = make_agent(credits=10)
    Account.objects.filter(agent=alice).update(balance=11)
    problems = selectors.ledger_violations()
    assert any("conservation" in p for p in problems)
    assert any(f"account {alice.account.id}" in p for p in problems)
