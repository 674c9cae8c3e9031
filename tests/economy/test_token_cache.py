"""The token cache of reads (economy.token_cache) on real PostgreSQL: a revoked token or a dead agent is refused at
once in the process that revoked, when PostgreSQL's notification arrives in any other, and writes never trust it."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection, transaction

from economy import selectors, services
from economy.auth import live_token
from economy.services import hash_token
from economy.token_cache import APPLICATION_NAME, token_cache
from tests.factories import auth, make_agent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def listening(postgres_only) -> None:
    """The cache in use: its listener connected (it starts with the first lookup) and nothing left from before."""
    deadline = time.monotonic() + 10
    while not token_cache.usable():
        assert time.monotonic() < deadline, "the token cache's listener did not connect"
        time.sleep(0.01)
    token_cache.clear()


def other_connection() -> psycopg.Connection:
    """A connection of its own, as another process would write: no eviction of ours runs for what it does."""
    return psycopg.connect(**{**connection.get_connection_params(), "autocommit": True})


def read(api, agent, token):
    return api.get(f"/economic/balance/{agent.id}", **auth(token))


def refused_within(api, agent, token, seconds: float) -> float:
    """Read until refused; returns how long that took (fails after ``seconds``)."""
    started = time.monotonic()
    while True:
        answer = read(api, agent, token)
        if answer.status_code == 401:
            assert answer.json()["code"] == "authentication_failed"
            return time.monotonic() - started
        assert answer.status_code == 200
        assert time.monotonic() - started < seconds, "the cached token was still accepted"
        time.sleep(0.001)


def test_a_read_caches_the_token_and_a_revocation_refuses_it_at_once(api):
    agent, token = make_agent(credits=10)
    assert read(api, agent, token).status_code == 200
    assert token_cache.get(hash_token(token)) is not None  # the next read needs no lookup
    assert read(api, agent, token).json()["balance"] == 10

    services.revoke_agent_tokens(agent_id=agent.id)  # commits: no transaction around a transactional test

    answer = read(api, agent, token)  # at once: this process evicted at commit, before any notification
    assert (answer.status_code, answer.json()["code"]) == (401, "authentication_failed")
    assert token_cache.get(hash_token(token)) is None


def test_a_token_revoked_elsewhere_is_refused_when_postgresql_notifies(api):
    agent, token = make_agent(credits=10)
    assert read(api, agent, token).status_code == 200
    assert token_cache.get(hash_token(token)) is not None
    with other_connection() as other:
        other.execute("UPDATE economy_agenttoken SET revoked_at = now() WHERE agent_id = %s", [agent.id])
    waited = refused_within(api, agent, token, seconds=2)
    print(f"refused {waited * 1000:.1f} ms after another connection's revocation committed")


def test_an_agent_that_died_elsewhere_is_refused_when_postgresql_notifies(api):
    agent, token = make_agent(credits=10)
    assert read(api, agent, token).status_code == 200
    with other_connection() as other:  # death alone (its tokens left unrevoked): the agent's trigger evicts
        other.execute("UPDATE economy_agent SET status = 'dead' WHERE id = %s", [agent.id])
    refused_within(api, agent, token, seconds=2)
    assert read(api, agent, token).json()["detail"] == "The agent is dead."


def test_writes_never_trust_the_cache(api):
    """A stale row (a cache that has not heard of the revocation yet) may answer a read, never a write."""
    agent, token = make_agent(credits=10)
    other_agent, _ = make_agent()
    assert read(api, agent, token).status_code == 200
    stale_row = token_cache.get(hash_token(token))
    services.revoke_agent_tokens(agent_id=agent.id)
    generation = token_cache.generation
    token_cache.put(hash_token(token), agent.id, stale_row, generation)  # as if no eviction had happened yet
    assert read(api, agent, token).status_code == 200  # the bound: a read within the notification's delay
    answer = api.post(
        "/economic/transfer", {"from_id": agent.id, "to_id": other_agent.id, "amount": 1}, format="json", **auth(token)
    )
    assert (answer.status_code, answer.json()["code"]) == (401, "authentication_failed")
    assert selectors.get_balance(agent_id=agent.id) == 10


def test_a_lookup_that_raced_a_notification_is_not_stored():
    agent, token = make_agent()
    generation = token_cache.generation  # the lookup read its row under this generation...
    row = live_token(token)  # (uncached: a fresh row)
    assert row is not None
    token_cache.evict_agent(agent.id)  # ...and a notification came before it stored the row
    token_cache.put(hash_token(token), agent.id, ("stale",), generation)
    assert token_cache.get(hash_token(token)) is None


def test_inside_a_transaction_lookups_ask_the_database(api):
    """A transaction's own uncommitted revocation is notified to nobody: there the cache is not used."""
    agent, token = make_agent()
    assert read(api, agent, token).status_code == 200
    with transaction.atomic():
        assert not token_cache.usable()
        services.revoke_agent_tokens(agent_id=agent.id)
        assert live_token(token, cached=True) is None
        transaction.set_rollback(True)
    assert read(api, agent, token).status_code == 200  # rolled back: still live


def test_an_expired_token_is_refused_from_the_cache(api):
    agent, token = make_agent()
    assert read(api, agent, token).status_code == 200
    key_hash = hash_token(token)
    row = list(token_cache.get(key_hash))
    from django.utils import timezone

    from economy.auth import _EXPIRES_AT

    row[_EXPIRES_AT] = timezone.now()  # the row as cached, had it been issued to expire now
    token_cache.put(key_hash, agent.id, tuple(row), token_cache.generation)
    assert read(api, agent, token).status_code == 401


def test_the_listener_reconnects_and_starts_empty(api):
    agent, token = make_agent()
    assert read(api, agent, token).status_code == 200
    assert token_cache.get(hash_token(token)) is not None
    with other_connection() as other:
        # This process's listener only: servers other tests started listen on the same database.
        killed = other.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = %s AND application_name = %s",
            [token_cache.listener_pid, APPLICATION_NAME],
        ).fetchall()
    assert killed == [(True,)]
    deadline = time.monotonic() + 5
    while token_cache.listening:  # it noticed: the cache is off and empty until it listens again
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert token_cache.get(hash_token(token)) is None
    assert read(api, agent, token).status_code == 200  # answered from the database meanwhile
    deadline = time.monotonic() + 10
    while not token_cache.listening:
        assert time.monotonic() < deadline, "the listener did not reconnect"
        time.sleep(0.05)
    assert read(api, agent, token).status_code == 200
    assert token_cache.get(hash_token(token)) is not None


def test_the_cache_starts_over_when_full(monkeypatch):
    monkeypatch.setattr("economy.token_cache.MAX_ENTRIES", 3)
    for agent_id in range(1, 4):
        token_cache.put(f"hash-{agent_id}", agent_id, ("row",), token_cache.generation)
    assert token_cache.get("hash-3") == ("row",)
    token_cache.put("hash-4", 4, ("row",), token_cache.generation)  # one more than it holds: the others go
    assert [token_cache.get(f"hash-{i}") for i in range(1, 5)] == [None, None, None, ("row",)]
    assert token_cache._by_agent == {4: {"hash-4"}}
