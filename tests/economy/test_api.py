"""The economy API: authentication, "only as yourself", and a clear 4xx for every bad input."""

from __future__ import annotations

import pytest

from economy import selectors, services
from economy.models import Transfer
from tests.factories import auth, make_agent, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    alice, alice_token = make_agent(credits=100, name="alice")
    bob, bob_token = make_agent(credits=0, name="bob")
    return alice, alice_token, bob, bob_token


def post_transfer(api, token, body, **headers):
    return api.post("/economic/transfer", body, format="json", **auth(token), **headers)


def test_an_agent_reads_its_balance(api, pair):
    alice, token, _, _ = pair
    services.hold_credits(agent_id=alice.id, amount=30)
    response = api.get(f"/economic/balance/{alice.id}", **auth(token))
    assert response.status_code == 200
    assert response.json() == {"agent_id": alice.id, "balance": 70, "held": 30}


def test_balance_of_an_unknown_agent_is_404_for_staff_and_403_for_an_agent(api, pair):
    _, token, _, _ = pair
    response = api.get("/economic/balance/424242", **auth(token))
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    api.force_authenticate(make_user(staff=True))
    response = api.get("/economic/balance/424242")
    assert (response.status_code, response.json()["code"]) == (404, "unknown_agent")


def test_another_agents_balance_held_and_history_are_private(api, pair):
    """Sealed bids leaked through ``held`` and the balance (issue 9, finding 4): only the agent and staff see them."""
    alice, alice_token, bob, _ = pair
    services.hold_credits(agent_id=alice.id, amount=30)  # what a pending bid's escrow looks like
    for path in (f"/economic/balance/{alice.id}", f"/economic/history/{alice.id}"):
        response = api.get(path, **auth(pair[3]))
        assert (response.status_code, response.json()["code"]) == (403, "forbidden"), path
        assert "30" not in response.content.decode() and "70" not in response.content.decode()
    # the public directory entry carries no balance for anyone but the agent itself and staff
    other = api.get(f"/evolution/agents/{alice.id}", **auth(pair[3])).json()
    assert other["id"] == alice.id and other["balance"] is None
    lineage = api.get(f"/evolution/agents/{alice.id}/lineage", **auth(pair[3])).json()
    assert lineage["agent"]["balance"] is None
    own = api.get(f"/evolution/agents/{alice.id}", **auth(alice_token)).json()
    assert own["balance"] == 70
    assert api.get(f"/economic/balance/{alice.id}", **auth(alice_token)).json()["held"] == 30
    api.force_authenticate(make_user(staff=True))
    assert api.get(f"/economic/balance/{alice.id}").json() == {"agent_id": alice.id, "balance": 70, "held": 30}
    assert api.get(f"/evolution/agents/{bob.id}").json()["balance"] == 0


def test_a_transfer_is_created(api, pair):
    alice, token, bob, _ = pair
    response = post_transfer(api, token, {"from_id": alice.id, "to_id": bob.id, "amount": 25, "memo": "hi"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["from_id"], body["to_id"], body["amount"], body["memo"], body["kind"]) == (
        alice.id,
        bob.id,
        25,
        "hi",
        "transfer",
    )
    assert selectors.get_balance(agent_id=bob.id) == 25


def test_an_idempotent_retry_over_http_returns_the_first_transfer(api, pair):
    alice, token, bob, _ = pair
    body = {"from_id": alice.id, "to_id": bob.id, "amount": 5, "memo": ""}
    first = post_transfer(api, token, body, HTTP_IDEMPOTENCY_KEY="abc")
    second = post_transfer(api, token, body, HTTP_IDEMPOTENCY_KEY="abc")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert selectors.get_balance(agent_id=alice.id) == 95
    conflict = post_transfer(api, token, {**body, "amount": 6}, HTTP_IDEMPOTENCY_KEY="abc")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "idempotency_conflict"
    assert selectors.get_balance(agent_id=alice.id) == 95


def test_an_agent_may_only_transfer_from_itself(api, pair):
    alice, _, bob, bob_token = pair
    response = post_transfer(api, bob_token, {"from_id": alice.id, "to_id": bob.id, "amount": 5})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert selectors.get_balance(agent_id=alice.id) == 100


def test_history_is_own_only_and_paginated(api, pair):
    alice, token, bob, bob_token = pair
    for _ in range(3):
        services.transfer_credits(from_id=alice.id, to_id=bob.id, amount=1)
    response = api.get(f"/economic/history/{alice.id}", **auth(token))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4 and len(body["results"]) == 4
    assert body["results"][-1]["kind"] == "mint" and body["results"][-1]["from_system"] == "mint"
    assert [r["id"] for r in body["results"]] == sorted((r["id"] for r in body["results"]), reverse=True)
    forbidden = api.get(f"/economic/history/{alice.id}", **auth(bob_token))
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [(None, 401, "not_authenticated"), ("bpa_nope", 401, "authentication_failed")],
)
def test_it_requires_a_valid_token(api, pair, token, status, code):
    alice, _, bob, _ = pair
    headers = auth(token) if token else {}
    response = api.post(
        "/economic/transfer", {"from_id": alice.id, "to_id": bob.id, "amount": 1}, format="json", **headers
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    assert api.get(f"/economic/balance/{alice.id}", **headers).status_code == status


def test_a_revoked_token_or_dead_agent_is_refused(api, pair):
    alice, token, bob, bob_token = pair
    services.revoke_agent_tokens(agent_id=alice.id)
    assert api.get(f"/economic/balance/{alice.id}", **auth(token)).status_code == 401
    bob.status = bob.Status.DEAD
    bob.save(update_fields=["status"])
    response = api.get(f"/economic/balance/{bob.id}", **auth(bob_token))
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"amount": -5}, 400, "invalid_amount"),
        ({"amount": 0}, 400, "invalid_amount"),
        ({"amount": 1.5}, 400, "invalid_amount"),
        ({"amount": 2.0}, 400, "invalid_amount"),
        ({"amount": True}, 400, "invalid_amount"),
        ({"amount": "10"}, 400, "invalid_amount"),
        ({"amount": None}, 400, "invalid_amount"),
        ({"amount": 10**30}, 400, "invalid_amount"),
        ({"amount": [1]}, 400, "invalid_amount"),
        ({"amount": 101}, 409, "insufficient_funds"),
        ({"to_id": 999_999}, 404, "unknown_agent"),
        ({"to_id": "x"}, 400, "invalid_to_id"),
        ({"to_id": None}, 400, "invalid_to_id"),
        ({"memo": "m" * 201}, 400, "invalid_memo"),
        ({"memo": 5}, 400, "invalid_memo"),
        ({"from_id": "me"}, 400, "invalid_from_id"),
    ],
)
def test_bad_transfers_get_a_clear_4xx_and_move_nothing(api, pair, change, status, code):
    alice, token, bob, _ = pair
    count = Transfer.objects.count()
    response = post_transfer(api, token, {"from_id": alice.id, "to_id": bob.id, "amount": 5, **change})
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert Transfer.objects.count() == count
    assert selectors.get_balance(agent_id=alice.id) == 100


@pytest.mark.parametrize("missing", ["from_id", "to_id", "amount"])
def test_missing_fields_are_named(api, pair, missing):
    alice, token, bob, _ = pair
    body = {"from_id": alice.id, "to_id": bob.id, "amount": 5}
    del body[missing]
    response = post_transfer(api, token, body)
    assert response.status_code == 400
    assert response.json()["code"] == f"invalid_{missing}"


def test_self_and_dead_recipients_are_refused(api, pair):
    alice, token, bob, _ = pair
    response = post_transfer(api, token, {"from_id": alice.id, "to_id": alice.id, "amount": 5})
    assert (response.status_code, response.json()["code"]) == (400, "self_transfer")
    bob.status = bob.Status.DEAD
    bob.save(update_fields=["status"])
    response = post_transfer(api, token, {"from_id": alice.id, "to_id": bob.id, "amount": 5})
    assert (response.status_code, response.json()["code"]) == (409, "agent_dead")
    assert selectors.get_balance(agent_id=alice.id) == 100


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"from_id": 1, "amount": ', "application/json", 400, "malformed_request"),
        (b"[1, 2, 3]", "application/json", 400, "invalid_request"),
        (b'"just a string"', "application/json", 400, "invalid_request"),
        (b"amount=5", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"amount": NaN}', "application/json", 400, "malformed_request"),
        (b'{"amount": 1' + b"0" * 5000 + b"}", "application/json", 400, "malformed_request"),
        (b"\xff\xfe", "application/json", 400, "malformed_request"),
    ],
)
def test_malformed_bodies_are_400s(api, pair, body, content_type, status, code):
    _, token, _, _ = pair
    response = api.generic("POST", "/economic/transfer", body, content_type=content_type, **auth(token))
    assert response.status_code == status, response.content
    assert response.json()["code"] == code


def test_an_oversized_body_is_413(api, pair, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    alice, token, bob, _ = pair
    response = post_transfer(api, token, {"from_id": alice.id, "to_id": bob.id, "amount": 5, "memo": "x" * 2000})
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_an_overlong_idempotency_key_is_refused(api, pair):
    alice, token, bob, _ = pair
    response = post_transfer(
        api, token, {"from_id": alice.id, "to_id": bob.id, "amount": 5}, HTTP_IDEMPOTENCY_KEY="k" * 300
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_idempotency_key")
    assert selectors.get_balance(agent_id=alice.id) == 100


def test_the_openapi_schema_and_docs_are_served(api):
    assert api.get("/api/schema/").status_code == 200
    assert api.get("/api/docs/").status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/economic/balance/99999999999999999999999999", "/economic/history/9223372036854775808", "/no/such/path"],
)
def test_ids_beyond_64_bits_and_unknown_paths_are_json_404s(api, pair, path):
    _, token, _, _ = pair
    response = api.get(path, **auth(token))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
