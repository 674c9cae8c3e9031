"""Operators' tools: ledger_check, and the admin's read-only ledger."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from economy.models import Account, Transfer
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


def test_ledger_check_passes_on_a_sound_ledger(capsys):
    make_agent(credits=10)
    call_command("ledger_check")
    assert "ledger ok" in capsys.readouterr().out


def test_ledger_check_fails_and_names_the_first_violation():
    agent, _ = make_agent(credits=10)
    Account.objects.filter(agent=agent).update(balance=12)
    with pytest.raises(CommandError, match="conservation: balances sum to 2"):
        call_command("ledger_check")


def test_staff_see_agents_with_balances_and_cannot_edit_transfers(staff_client):
    make_agent(credits=42, name="visible")
    page = staff_client.get("/admin/economy/agent/")
    assert page.status_code == 200
    assert b"visible" in page.content and b"42" in page.content
    transfer = Transfer.objects.first()
    assert staff_client.get(f"/admin/economy/transfer/{transfer.id}/change/").status_code == 200
    response = staff_client.post(f"/admin/economy/transfer/{transfer.id}/change/", {"amount": 1})
    assert response.status_code == 403
    assert Transfer.objects.get(id=transfer.id).amount == 42
    assert staff_client.get("/admin/economy/transfer/add/").status_code == 403
