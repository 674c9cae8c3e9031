"""An idempotency key remembers a refusal as it remembers a success (issue 9, finding 5), as Stripe and TigerBeetle
do: a transfer refused with a key, retried later with the same key and payload after money arrived, answers the same
refusal and moves nothing. A different payload with the same key is still ``idempotency_conflict``."""

from __future__ import annotations

import threading

import pytest

from economy import errors, services
from economy.models import Transfer
from economy.selectors import get_balance, ledger_violations
from tests.factories import auth, make_agent, run_in_threads


def post(api, token, payer, payee, amount, key):
    body = {"from_id": payer.id, "to_id": payee.id, "amount": amount}
    return api.post("/economic/transfer", body, format="json", HTTP_IDEMPOTENCY_KEY=key, **auth(token))


@pytest.mark.django_db
def test_a_refused_key_stays_refused_after_money_arrives(api):
    payer, token = make_agent(credits=5)
    payee, _ = make_agent()
    first = post(api, token, payer, payee, 10, "k-1")
    assert (first.status_code, first.json()["code"]) == (409, "insufficient_funds")
    services.mint_credits(agent_id=payer.id, amount=100)
    again = post(api, token, payer, payee, 10, "k-1")
    assert (again.status_code, again.json()["code"]) == (409, "insufficient_funds")
    assert again["Idempotent-Replayed"] == "true"
    assert get_balance(agent_id=payee.id) == 0 and get_balance(agent_id=payer.id) == 105
    other_payload = post(api, token, payer, payee, 11, "k-1")
    assert (other_payload.status_code, other_payload.json()["code"]) == (409, "idempotency_conflict")
    # a new key is a new request, and a remembered success replays as before
    assert post(api, token, payer, payee, 10, "k-2").status_code == 201
    replay = post(api, token, payer, payee, 10, "k-2")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert get_balance(agent_id=payee.id) == 10
    # a refusal for a dead payee is remembered too; a validation error is not (nothing was attempted)
    with pytest.raises(errors.SelfTransfer):
        services.transfer_credits(from_id=payer.id, to_id=payer.id, amount=1, idempotency_key="k-3")
    assert services.transfer_credits(from_id=payer.id, to_id=payee.id, amount=1, idempotency_key="k-3").amount == 1
    assert ledger_violations() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_refused_keys_never_move_money():
    """Payers start broke; each thread sends every key twice while money arrives meanwhile. Every key must answer
    one outcome throughout: all refusals, or one transfer replayed. Threads i and i+4 share a payer and its keys, so
    the same key also races itself."""
    payee, _ = make_agent()
    payers = [make_agent(credits=0)[0] for _ in range(4)]
    keys_per_thread = 25
    minted = threading.Event()

    def work(index: int) -> dict[str, list[object]]:
        payer = payers[index % len(payers)]
        seen: dict[str, list[object]] = {}
        for n in range(keys_per_thread):
            key = f"p{index % len(payers)}-k{n}"
            for _attempt in range(2):
                try:
                    outcome: object = services.transfer_credits(
                        from_id=payer.id, to_id=payee.id, amount=3, idempotency_key=key
                    ).id
                except errors.InsufficientFunds:
                    outcome = "insufficient_funds"
                seen.setdefault(key, []).append(outcome)
                if index == 0 and n == keys_per_thread // 3 and not minted.is_set():
                    for p in payers:
                        services.mint_credits(agent_id=p.id, amount=10_000)
                    minted.set()
        return seen

    results = run_in_threads(work, 8)
    outcomes: dict[str, list[object]] = {}
    for seen in results:
        for key, seq in seen.items():
            outcomes.setdefault(key, []).extend(seq)
    assert len(outcomes) == len(payers) * keys_per_thread
    changed = {key: seq for key, seq in outcomes.items() if len(set(seq)) != 1}
    assert changed == {}, f"{len(changed)} keys answered differently on retry: {list(changed.items())[:5]}"
    moved = Transfer.objects.filter(kind="transfer").count()
    assert moved == sum(1 for seq in outcomes.values() if seq[0] != "insufficient_funds")
    assert get_balance(agent_id=payee.id) == 3 * moved
    assert ledger_violations() == []
