"""The ledger check reads several tables; it reads them in one snapshot, so a transfer committing between its
reads cannot show a violation that no single state of the ledger has."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from economy import selectors, services
from tests.factories import make_agent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def commit_transfer_before_the_balances_are_read(from_id: int, to_id: int):
    """A query wrapper: once the check has summed the transfers, before it reads the balances again, another
    connection commits a transfer."""
    done: list[int] = []
    read: set[str] = set()

    def wrapper(execute, sql, params, many, context):
        if '"economy_transfer"' in sql:
            read.add("transfers")
        elif not done and "transfers" in read and '"economy_account"' in sql:

            def transfer():
                try:
                    done.append(services.transfer_credits(from_id=from_id, to_id=to_id, amount=7).id)
                finally:
                    connections.close_all()

            thread = threading.Thread(target=transfer)
            thread.start()
            thread.join(timeout=30)
        return execute(sql, params, many, context)

    return wrapper, done


def test_a_transfer_committing_during_the_check_is_not_a_violation(postgres_only):
    payer, _ = make_agent(credits=100)
    payee, _ = make_agent()
    wrapper, done = commit_transfer_before_the_balances_are_read(payer.id, payee.id)

    with connection.execute_wrapper(wrapper):
        problems = selectors.ledger_violations()

    assert len(done) == 1, "the concurrent transfer must have committed during the check"
    assert problems == []
    assert selectors.get_balance(agent_id=payee.id) == 7
    assert selectors.ledger_violations() == []
