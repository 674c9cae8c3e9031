"""``settle_holds_bulk`` refuses a negative charge, a charge above its hold, and a hold that is not pending, and a
refusal changes nothing, even when the caller catches it and commits its own transaction (issue 9, finding 9)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.models import IntegerField, Value

from economy import errors, services
from economy.models import Account, Hold, Transfer
from economy.selectors import get_balance, ledger_violations
from tests.factories import make_agent

pytestmark = pytest.mark.django_db(transaction=True)


def settlements(charges: dict[int, int]):
    """A queryset yielding ``(hold_id, charge)`` pairs, as the market and attention ticks build them."""
    from django.db.models import Case, When

    return (
        Hold.objects.filter(id__in=list(charges))
        .annotate(charge=Case(*[When(id=h, then=Value(c)) for h, c in charges.items()], output_field=IntegerField()))
        .values_list("id", "charge")
    )


@pytest.fixture
def holds():
    alice, _ = make_agent(credits=100)
    bob, _ = make_agent(credits=100)
    hold_a = services.hold_credits(agent_id=alice.id, amount=40)
    return alice, bob, hold_a, services.hold_credits(agent_id=bob.id, amount=30)


def snapshot():
    return (
        list(Hold.objects.order_by("id").values_list("id", "status", "settled_amount")),
        list(Account.objects.order_by("id").values_list("id", "balance")),
        Transfer.objects.count(),
    )


@pytest.mark.parametrize(
    ("charges", "error"),
    [
        (lambda a, b: {a: 10, b: -5}, errors.InvalidAmount),  # a negative charge would pay the agent from escrow
        (lambda a, b: {a: 10, b: 31}, errors.InvalidAmount),  # above its hold: escrow would pay out what it lacks
        (lambda a, b: {a: -(2**40), b: 0}, errors.InvalidAmount),
    ],
    ids=["negative", "over-the-hold", "hugely-negative"],
)
def test_a_bad_charge_is_refused_and_changes_nothing(holds, charges, error):
    alice, bob, hold_a, hold_b = holds
    before = snapshot()
    with transaction.atomic(), pytest.raises(error):
        services.settle_holds_bulk(settlements=settlements(charges(hold_a.id, hold_b.id)), memo="tick")
        # the caller caught the refusal and goes on to commit: nothing of the refused batch may stay behind
    assert snapshot() == before
    assert ledger_violations() == []
    assert (get_balance(agent_id=alice.id), get_balance(agent_id=bob.id)) == (60, 70)


def test_a_hold_already_resolved_is_refused_and_changes_nothing(holds):
    _, _, hold_a, hold_b = holds
    services.release_hold(hold_id=hold_b.id)
    before = snapshot()
    with transaction.atomic(), pytest.raises(errors.HoldNotPending):
        services.settle_holds_bulk(settlements=settlements({hold_a.id: 10, hold_b.id: 5}))
    assert snapshot() == before
    assert ledger_violations() == []


def test_a_hold_that_does_not_exist_is_refused_and_changes_nothing(holds):
    _, _, hold_a, hold_b = holds
    before = snapshot()
    missing = hold_b.id + 1000
    rows = settlements({hold_a.id: 10, hold_b.id: 5}).union(
        Hold.objects.filter(id=hold_a.id).values_list(Value(missing), Value(0))
    )
    with transaction.atomic(), pytest.raises(errors.HoldNotPending):
        services.settle_holds_bulk(settlements=rows)
    assert snapshot() == before
    assert ledger_violations() == []


def test_good_charges_settle_and_release_the_rest(holds):
    alice, bob, hold_a, hold_b = holds
    with transaction.atomic():
        assert services.settle_holds_bulk(settlements=settlements({hold_a.id: 40, hold_b.id: 0}), memo="tick") == 2
    assert (get_balance(agent_id=alice.id), get_balance(agent_id=bob.id)) == (60, 100)
    assert list(Hold.objects.order_by("id").values_list("status", "settled_amount")) == [
        (Hold.Status.SETTLED, 40),
        (Hold.Status.RELEASED, 0),
    ]
    assert ledger_violations() == []
