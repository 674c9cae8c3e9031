"""Upkeep with demurrage: a flat charge plus a share of the balance, burned set-based in one transaction."""

from __future__ import annotations

import pytest

from economy import errors, selectors, services
from economy.models import Account, Transfer
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


def test_each_agent_pays_the_flat_charge_plus_its_share_of_its_balance():
    poor, _ = make_agent(credits=30)
    middle, _ = make_agent(credits=1000)
    rich, _ = make_agent(credits=12_345)
    treasury_before = Account.objects.get(system=Account.System.TREASURY).balance

    unpaid = services.charge_living_agents(amount=10, memo="upkeep", rate_bp=500)

    assert unpaid == []
    # 5 % rounded down: 30 -> 1, 1000 -> 50, 12345 -> 617
    assert selectors.get_balance(agent_id=poor.id) == 30 - 10 - 1
    assert selectors.get_balance(agent_id=middle.id) == 1000 - 10 - 50
    assert selectors.get_balance(agent_id=rich.id) == 12_345 - 10 - 617
    charges = dict(Transfer.objects.filter(kind=Transfer.Kind.UPKEEP).values_list("debit__agent_id", "amount"))
    assert charges == {poor.id: 11, middle.id: 60, rich.id: 627}
    treasury = Account.objects.get(system=Account.System.TREASURY).balance
    assert treasury - treasury_before == 11 + 60 + 627
    assert selectors.ledger_violations() == []


def test_an_agent_that_cannot_pay_the_whole_charge_pays_nothing_and_is_reported():
    short, _ = make_agent(credits=10)  # owes 10 + 0 (5 % of 10 rounds down to 0): pays
    shorter, _ = make_agent(credits=9)  # owes 10: cannot
    unpaid = services.charge_living_agents(amount=10, rate_bp=500)
    assert unpaid == [shorter.id]
    assert selectors.get_balance(agent_id=short.id) == 0
    assert selectors.get_balance(agent_id=shorter.id) == 9
    assert selectors.ledger_violations() == []


def test_without_a_rate_the_charge_is_flat():
    agent, _ = make_agent(credits=1000)
    services.charge_living_agents(amount=7)
    assert selectors.get_balance(agent_id=agent.id) == 993


@pytest.mark.parametrize("rate", [-1, 10_000, 2.5, True, "5"])
def test_a_bad_rate_is_refused_and_moves_nothing(rate):
    agent, _ = make_agent(credits=1000)
    with pytest.raises(errors.InvalidAmount):
        services.charge_living_agents(amount=7, rate_bp=rate)
    assert selectors.get_balance(agent_id=agent.id) == 1000
