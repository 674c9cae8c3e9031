"""Scoped throttling (core.throttling): each caller's reads and writes are counted in fixed windows of the rate's
period; past the limit a JSON 429 ``throttled`` with ``Retry-After`` until the window ends."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache

from core.throttling import ScopedRateThrottle
from tests.factories import auth, make_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """Rates of 3 reads and 2 writes a minute, on a clock the test moves."""
    now = [600.0]  # the start of a window
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"reads": "3/min", "writes": "2/min"})
    monkeypatch.setattr(ScopedRateThrottle, "timer", lambda self: now[0])
    cache.clear()
    yield now
    cache.clear()


def read(api, agent, token):
    return api.get(f"/economic/balance/{agent.id}", **auth(token))


def write(api, agent, token, to):
    body = {"from_id": agent.id, "to_id": to.id, "amount": 1}
    return api.post("/economic/transfer", body, format="json", **auth(token))


def test_reads_past_the_limit_are_refused_until_the_window_ends(api, clock):
    agent, token = make_agent(credits=10)
    assert [read(api, agent, token).status_code for _ in range(3)] == [200, 200, 200]
    clock[0] += 20
    refused = read(api, agent, token)
    assert (refused.status_code, refused.json()["code"]) == (429, "throttled")
    assert refused["Retry-After"] == "40"  # the rest of the minute
    clock[0] += 40  # the next window
    assert read(api, agent, token).status_code == 200


def test_callers_and_scopes_are_counted_apart(api, clock):
    agent, token = make_agent(credits=10)
    other, other_token = make_agent(credits=10)
    for _ in range(3):
        read(api, agent, token)
    assert read(api, agent, token).status_code == 429
    assert read(api, other, other_token).status_code == 200  # another agent has its own count
    assert [write(api, agent, token, other).status_code for _ in range(3)] == [201, 201, 429]  # writes: 2/min


def test_an_agent_and_a_user_with_the_same_id_are_different_callers(api, clock):
    agent, token = make_agent(credits=10)
    staff = User.objects.create(id=agent.pk, username="same-id", is_staff=True)  # numbered like the agent
    for _ in range(3):
        read(api, agent, token)
    assert read(api, agent, token).status_code == 429
    api.force_authenticate(staff)
    assert api.get(f"/economic/balance/{agent.id}").status_code == 200


def test_a_request_costs_one_counter_not_a_history(api, clock):
    """DRF's own throttle stored the time of every request of the period; here a window is one integer."""
    agent, token = make_agent(credits=10)
    for _ in range(3):
        read(api, agent, token)
    key = f"throttle_reads_agent{agent.pk}_{int(clock[0] // 60)}"
    assert cache.get(key) == 3
