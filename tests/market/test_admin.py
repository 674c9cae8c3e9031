"""Staff tune the market in the admin (targets, floors, supply); ticks and bids are read-only there."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from market import services
from market.bundles import ResourceBundle
from market.models import Bid, MarketState
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_user("op", password="pw-long-enough", is_staff=True, is_superuser=True))
    return client


def test_staff_edit_targets_floors_and_supply_but_not_the_price(staff_client):
    state = MarketState.objects.get(resource__code="cpu")
    form = {
        "floor": 5, "ceiling": 50_000, "target_utilization": 0.7, "ema_alpha": 0.5, "supply_override": 1500,
        "price": 99_999,
    }  # fmt: skip
    response = staff_client.post(f"/admin/market/marketstate/{state.id}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    state.refresh_from_db()
    assert (state.floor, state.ceiling, state.target_utilization, state.supply_override) == (5, 50_000, 0.7, 1500)
    assert state.price == 100  # prices move only with ticks
    assert services.current_supply()["cpu"] == 1500


def test_bids_and_ticks_are_read_only(staff_client):
    agent, _ = make_agent(credits=100)
    bid = services.place_bid(agent_id=agent.id, bundle=ResourceBundle(1000, 256, 10), max_price=20)
    services.run_market_tick()
    assert staff_client.get("/admin/market/bid/").status_code == 200
    assert staff_client.post(f"/admin/market/bid/{bid.id}/change/", {"max_price": 1}).status_code == 403
    assert Bid.objects.get(id=bid.id).max_price == 20
    assert staff_client.get("/admin/market/tick/").status_code == 200
    assert staff_client.get("/admin/market/tick/add/").status_code == 403
