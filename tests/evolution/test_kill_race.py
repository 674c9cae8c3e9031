"""Death against a concurrent transfer (issue 9, finding 9): no credits may land in a dead account.

``kill_agent`` used to read the balance, burn it, and only then mark the agent dead; a transfer committing between
the read and the burn left its credits in the account of a dead agent. The test opens exactly that window: the
concurrent transfer runs while ``kill_agent`` reads the balance, and waits there until it has finished or blocked.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from economy import errors
from economy import selectors as ledger_selectors
from economy import services as ledger
from economy.models import Account, Agent
from economy.selectors import ledger_violations
from evolution import services
from tests.factories import make_agent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.mark.usefixtures("postgres_only")
@pytest.mark.parametrize("rounds", [3])
def test_a_transfer_racing_a_death_leaves_nothing_in_the_dead_account(monkeypatch, rounds):
    real_get_balance = ledger_selectors.get_balance
    for _ in range(rounds):
        dying, _ = make_agent(credits=50)
        payer, _ = make_agent(credits=1000)
        outcome: list[object] = []
        done = threading.Event()

        def pay(payer_id=payer.id, dying_id=dying.id, outcome=outcome, done=done) -> None:
            try:
                outcome.append(ledger.transfer_credits(from_id=payer_id, to_id=dying_id, amount=7))
            except errors.DomainError as exc:
                outcome.append(exc.code)
            finally:
                connections.close_all()
                done.set()

        def racing_get_balance(*, agent_id: int, pay=pay, done=done) -> int:
            balance = real_get_balance(agent_id=agent_id)
            threading.Thread(target=pay).start()
            done.wait(1.0)  # the transfer either commits now (the old order) or blocks on the account lock
            return balance

        monkeypatch.setattr(ledger_selectors, "get_balance", racing_get_balance)
        assert services.kill_agent(agent_id=dying.id, cause="test") is True
        monkeypatch.setattr(ledger_selectors, "get_balance", real_get_balance)
        assert done.wait(10), "the concurrent transfer never finished"

        assert Agent.objects.get(id=dying.id).status == Agent.Status.DEAD
        assert Account.objects.get(agent_id=dying.id).balance == 0, outcome
        assert outcome == ["agent_dead"]
        assert Account.objects.get(agent_id=payer.id).balance == 1000
    assert ledger_violations() == []
