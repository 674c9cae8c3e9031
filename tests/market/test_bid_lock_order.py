"""Placing a bid against the life tick's upkeep: no deadlock (found by the load test, tests/http/test_load.py).

A bid holds its maximum in escrow and burns its fee into the treasury in one transaction. It used to lock the
agent's account (with escrow) first and the treasury second, while upkeep (``charge_living_agents``) locks the
treasury first and then every living agent's account: each waited for the other and PostgreSQL killed one.
The test stops the bid between its hold and its fee until upkeep has started.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from economy import services as ledger
from economy.selectors import ledger_violations
from market import services as market
from market.bundles import ResourceBundle
from market.models import Bid
from tests.factories import make_agent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.mark.usefixtures("postgres_only")
def test_a_bid_and_upkeep_at_once_do_not_deadlock(monkeypatch):
    agent, _ = make_agent(credits=10_000)
    make_agent(credits=10_000)
    real_burn = ledger.burn_credits
    upkeep_started = threading.Event()
    errors: list[BaseException] = []

    def slow_burn(**kwargs):
        upkeep_started.wait(5)
        threading.Event().wait(0.5)  # upkeep now waits for a lock the bid holds (or the bid already holds all)
        return real_burn(**kwargs)

    monkeypatch.setattr(ledger, "burn_credits", slow_burn)

    def bid() -> None:
        try:
            market.place_bid(agent_id=agent.id, bundle=ResourceBundle(500, 128, 10), max_price=5_000)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def upkeep() -> None:
        try:
            threading.Event().wait(0.3)  # the bid has its hold by now
            upkeep_started.set()
            ledger.charge_living_agents(amount=2, memo="upkeep")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=bid), threading.Thread(target=upkeep)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert Bid.objects.filter(agent_id=agent.id).count() == 1
    assert ledger_violations() == []
