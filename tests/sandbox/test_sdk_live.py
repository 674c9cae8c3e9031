"""The agent SDK (sandbox/runtime/bp) against the real API: a live server on this test's database, reached over
plain HTTP and, as inside a container, over a Unix socket relayed by the worker's proxy.

Every SDK function is called and its effect checked in the database; no stub stands in for the API (a stub once
accepted string ids the API rightly refuses, and agents could not pay each other: issue 9, finding 2).
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
import urllib.parse
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import sandbox
from economy.models import Transfer
from economy.selectors import get_balance, ledger_violations
from evolution.models import Message
from market.models import Bid
from market.services import run_market_tick
from sandbox.models import Workspace
from sandbox.proxy import UnixSocketProxy
from tests.factories import make_agent, make_finished_execution, make_program_agent, make_worker

pytestmark = pytest.mark.django_db(transaction=True)


def load_sdk() -> ModuleType:
    """A fresh copy of the SDK exactly as the runtime image ships it."""
    init = Path(sandbox.__file__).parent / "runtime" / "bp" / "__init__.py"
    spec = importlib.util.spec_from_file_location(f"bp_sdk_{time.monotonic_ns()}", init)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bp(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("BP_API_URL", live_server.url)
    monkeypatch.setenv("BP_API_RETRIES", "0")
    return load_sdk()


def as_agent(monkeypatch: pytest.MonkeyPatch, agent_id: int, token: str, execution_id: int | str = 1) -> None:
    monkeypatch.setenv("BP_AGENT_ID", str(agent_id))
    monkeypatch.setenv("BP_TOKEN", token)
    monkeypatch.setenv("BP_EXECUTION_ID", str(execution_id))


def test_agents_pay_each_other_and_every_economy_and_market_call_works(bp, monkeypatch):
    alice, alice_token = make_agent(credits=1000)
    bob, bob_token = make_agent(credits=10)
    as_agent(monkeypatch, alice.id, alice_token)
    assert bp.agent_id() == str(alice.id) and bp.execution_id() == "1"

    # transfer: ids go out as JSON integers (also when the caller passes the id as text, as env values are)
    sent = bp.transfer(bob.id, 30, memo="for the phrase")
    assert (sent["from_id"], sent["to_id"], sent["amount"], sent["memo"]) == (alice.id, bob.id, 30, "for the phrase")
    bp.transfer(str(bob.id), 5, idempotency_key="k-1")
    again = bp.transfer(str(bob.id), 5, idempotency_key="k-1")  # a retry with the same key moves nothing
    assert get_balance(agent_id=bob.id) == 45 and get_balance(agent_id=alice.id) == 965
    assert Transfer.objects.filter(kind="transfer", debit__agent_id=alice.id).count() == 2
    assert again["amount"] == 5
    with pytest.raises(bp.APIError) as refused:
        bp.transfer(bob.id, 10**6)
    assert (refused.value.status, refused.value.code) == (409, "insufficient_funds")

    assert bp.balance() == 965
    page = bp.history()
    assert [row["amount"] for row in page["results"]] == [5, 30, 1000]
    with pytest.raises(bp.APIError) as no_page:
        bp.history(page=2)
    assert (no_page.value.status, no_page.value.code) == (404, "not_found")

    prices = bp.prices()
    assert {row["resource"] for row in prices["resources"]} == {"cpu", "memory"}
    bid = bp.place_bid(100, 64, 5, 50)
    assert (bid["status"], bid["max_price"]) == ("PENDING", 50)
    assert Bid.objects.get(id=bid["id"]).agent_id == alice.id
    assert [b["id"] for b in bp.bids()["results"]] == [bid["id"]]
    assert [b["id"] for b in bp.bids(status="PENDING")["results"]] == [bid["id"]]
    assert bp.bids(status="WON")["results"] == []
    bp.cancel_bid(str(bid["id"]))
    assert Bid.objects.get(id=bid["id"]).status == Bid.Status.CANCELLED
    with pytest.raises(bp.APIError) as twice:
        bp.cancel_bid(bid["id"])
    assert twice.value.status == 409

    # messages, both ways
    bp.send_message(str(bob.id), "hello bob")
    run_market_tick()  # messages are delivered at tick boundaries
    as_agent(monkeypatch, bob.id, bob_token)
    rows = bp.messages()["results"]
    assert [(m["from_id"], m["body"]) for m in rows] == [(alice.id, "hello bob")]
    assert Message.objects.filter(sender_id=alice.id, recipient_id=bob.id).count() == 1
    assert ledger_violations() == []


def test_spawn_attention_and_artifact(bp, monkeypatch):
    from sandbox.services import claim_execution

    parent, token = make_agent(credits=2000)
    as_agent(monkeypatch, parent.id, token)
    child = bp.spawn("kid", "print('hi')", 300, first_bid={"max_price": 200})
    assert (child["parent_id"], child["generation"], child["name"]) == (parent.id, 1, "kid")
    assert Bid.objects.filter(agent_id=child["id"], status=Bid.Status.PENDING).count() == 1
    child2 = bp.spawn("kid2", endowment=60, files={"agent.py": b"print(2)", "notes.txt": b"x"})
    assert Workspace.objects.get(agent_id=child2["id"]).files.keys() == {"agent.py", "notes.txt"}
    assert get_balance(agent_id=child2["id"]) == 60

    finished = make_finished_execution(agent=parent, artifact="a phrase")
    attention_bid = bp.bid_attention(str(finished.id), 50)
    assert attention_bid["execution_id"] == finished.id

    # submit_artifact needs the token of a running execution, as a worker hands it to the container
    runner, _ = make_program_agent(credits=1000)
    from tests.factories import make_execution

    execution = make_execution(agent=runner)
    worker, _ = make_worker()
    spec = claim_execution(execution_id=execution.id, worker=worker)
    as_agent(monkeypatch, runner.id, spec.token, execution.id)
    assert bp.execution_id() == str(execution.id)
    answer = bp.submit_artifact("METHINKS")
    execution.refresh_from_db()
    assert execution.artifact == "METHINKS" and (answer["execution_id"], answer["chars"]) == (execution.id, 8)
    assert ledger_violations() == []


def test_request_errors_and_the_unix_socket_path(bp, live_server, monkeypatch, tmp_path):
    agent, token = make_agent(credits=100)
    as_agent(monkeypatch, agent.id, token)
    assert bp.request("GET", f"/evolution/agents/{agent.id}")["id"] == agent.id

    monkeypatch.setenv("BP_TOKEN", "bpa_wrong")
    with pytest.raises(bp.APIError) as info:
        bp.balance()
    assert info.value.status == 401 and info.value.code == "authentication_failed"

    # inside the container the API is a Unix socket relayed by the worker's proxy to the API's TCP address
    monkeypatch.setenv("BP_TOKEN", token)
    url = urllib.parse.urlsplit(live_server.url)
    path = str(tmp_path / "api.sock")
    proxy = UnixSocketProxy(path, url.hostname, url.port).start()
    try:
        monkeypatch.setenv("BP_API_URL", f"unix://{path}")
        assert bp.balance() == 100
        other, _ = make_agent()
        assert bp.transfer(other.id, 7)["amount"] == 7
    finally:
        proxy.stop()
    assert get_balance(agent_id=other.id) == 7

    monkeypatch.setenv("BP_API_URL", "unix:///nonexistent/api.sock")
    with pytest.raises(bp.APIError) as info:
        bp.balance()
    assert (info.value.status, info.value.code) == (0, "connection_error")


def test_retries_only_what_is_safe_to_repeat(bp, monkeypatch):
    """A listener that refuses the first connections (as a restarting API does), then relays to nothing: a GET and
    a keyed POST are retried; a POST without a key is sent once. (A socket stand-in, not an API stub: what is
    tested is the SDK's own retry loop on connection errors.)"""
    agent, token = make_agent(credits=100)
    as_agent(monkeypatch, agent.id, token)
    attempts: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            attempts.append(conn.recv(65536).split(b"\r\n", 1)[0])
            conn.close()  # no answer at all: a connection error on the client side

    threading.Thread(target=serve, daemon=True).start()
    monkeypatch.setenv("BP_API_URL", f"http://127.0.0.1:{server.getsockname()[1]}")
    monkeypatch.setenv("BP_API_RETRIES", "2")
    try:
        for call, expected in ((bp.balance, 3), (lambda: bp.transfer(2, 1), 3), (lambda: bp.send_message(2, "x"), 1)):
            attempts.clear()
            with pytest.raises(bp.APIError) as info:
                call()
            assert info.value.code == "connection_error"
            assert len(attempts) == expected, attempts
    finally:
        server.close()
