"""The market API: prices, bids (place, list, read, cancel), ticks; clear 4xx codes, nothing held on refusal."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from economy import selectors as ledger
from economy.models import Hold
from market import services
from market.bundles import ResourceBundle
from market.models import Bid
from tests.factories import auth, make_agent

pytestmark = pytest.mark.django_db

BUNDLE = {"cpu_millicores": 1000, "memory_mb": 256, "wall_seconds": 10}


@pytest.fixture
def alice():
    return make_agent(credits=100, name="alice")


def test_prices_show_each_resource_and_the_next_ticks_bounds(api, alice):
    _, token = alice
    body = api.get("/market/prices", **auth(token)).json()
    assert body["open_tick"] == 1
    assert body["bid_fee"] == 1
    cpu = next(r for r in body["resources"] if r["resource"] == "cpu")
    assert cpu["price"] == 100
    assert (cpu["next_price_min"], cpu["next_price_max"]) == (88, 112)
    assert cpu["supply"] > 0
    assert {r["resource"] for r in body["resources"]} == {"cpu", "memory"}


def test_an_agent_places_lists_reads_and_cancels_a_bid(api, alice):
    agent, token = alice
    created = api.post("/market/bids", {**BUNDLE, "max_price": 20}, format="json", **auth(token))
    assert created.status_code == 201, created.content
    bid = created.json()
    assert (bid["status"], bid["tick_number"], bid["held"], bid["fee"]) == ("PENDING", 1, 20, 1)
    assert ledger.get_balance(agent_id=agent.id) == 79
    listed = api.get("/market/bids?status=PENDING", **auth(token)).json()
    assert [b["id"] for b in listed["results"]] == [bid["id"]]
    assert api.get("/market/bids?status=WON", **auth(token)).json()["count"] == 0
    assert api.get(f"/market/bids/{bid['id']}", **auth(token)).json()["id"] == bid["id"]
    cancelled = api.delete(f"/market/bids/{bid['id']}", **auth(token))
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["held"]) == ("CANCELLED", 0)
    assert ledger.get_balance(agent_id=agent.id) == 99
    again = api.delete(f"/market/bids/{bid['id']}", **auth(token))
    assert (again.status_code, again.json()["code"]) == (409, "bid_closed")


def test_bids_of_others_are_invisible(api, alice):
    agent, _ = alice
    _, other_token = make_agent(credits=100)
    bid = services.place_bid(agent_id=agent.id, bundle=ResourceBundle(1000, 256, 10), max_price=20)
    for method in ("get", "delete"):
        response = getattr(api, method)(f"/market/bids/{bid.id}", **auth(other_token))
        assert (response.status_code, response.json()["code"]) == (404, "unknown_bid")
    assert api.get("/market/bids", **auth(other_token)).json()["count"] == 0
    assert Bid.objects.get(id=bid.id).status == Bid.Status.PENDING


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"cpu_millicores": 0}, 400, "invalid_bundle"),
        ({"cpu_millicores": 10**6}, 400, "invalid_bundle"),
        ({"memory_mb": -1}, 400, "invalid_bundle"),
        ({"wall_seconds": 10**6}, 400, "invalid_bundle"),
        ({"wall_seconds": 1.5}, 400, "invalid_wall_seconds"),
        ({"memory_mb": "256"}, 400, "invalid_memory_mb"),
        ({"max_price": 2}, 400, "bid_below_reserve"),
        ({"max_price": 0}, 400, "invalid_max_price"),
        ({"max_price": -5}, 400, "invalid_max_price"),
        ({"max_price": True}, 400, "invalid_max_price"),
        ({"max_price": 10**13}, 400, "invalid_max_price"),
        ({"max_price": 100}, 409, "insufficient_funds"),
        ({"max_price": None}, 400, "invalid_max_price"),
    ],
)
def test_refused_bids_get_a_clear_code_and_hold_nothing(api, alice, change, status, code):
    agent, token = alice
    response = api.post("/market/bids", {**BUNDLE, "max_price": 20, **change}, format="json", **auth(token))
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert ledger.get_balance(agent_id=agent.id) == 100
    assert Hold.objects.count() == 0


def test_a_bad_status_filter_is_400(api, alice):
    _, token = alice
    response = api.get("/market/bids?status=NOPE", **auth(token))
    assert (response.status_code, response.json()["code"]) == (400, "invalid_status")


def test_ticks_are_listed_for_agents_and_staff(api, alice):
    agent, token = alice
    services.place_bid(agent_id=agent.id, bundle=ResourceBundle(1000, 256, 10), max_price=20)
    services.run_market_tick()
    body = api.get("/market/ticks", **auth(token)).json()
    assert body["count"] == 1
    assert (body["results"][0]["number"], body["results"][0]["winners"]) == (1, 1)
    staff = User.objects.create_user("op", password="pw-long-enough", is_staff=True)
    api.force_authenticate(staff)
    assert api.get("/market/ticks").status_code == 200
    assert api.get("/market/prices").status_code == 200
    assert api.post("/market/bids", {**BUNDLE, "max_price": 20}, format="json").status_code == 403


def test_anonymous_callers_are_refused(api):
    for path in ("/market/prices", "/market/bids", "/market/ticks"):
        response = api.get(path)
        assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
