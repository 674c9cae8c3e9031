"""Staff tune the market in the admin (targets, floors, supply); ticks and bids are read-only there."""

from __future__ import annotations

import pytest

from market import services
from market.bundles import ResourceBundle
from market.models import Bid, MarketState
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


def test_staff_edit_targets_floors_and_supply_but_not_the_price(staff_client):
    state = MarketState.objects.get(resource__code="cpu")
    price = state.price
    form = {
        "floor": 5, "ceiling": 50_000, "target_utilization": 0.7, "ema_alpha": 0.5, "supply_override": 1500,
        "price": 99_999,
    }  # fmt: skip
    response = staff_client.post(f"/admin/market/marketstate/{state.id}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    state.refresh_from_db()
    assert (state.floor, state.ceiling, state.target_utilization, state.supply_override) == (5, 50_000, 0.7, 1500)
    assert state.price == price  # prices move only with ticks
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


def test_a_floor_above_the_current_price_is_refused_on_the_form_not_a_server_error(staff_client):
    """Issue 9, finding 9: the price is not a form field, so the form's own constraint check skipped it and the save
    hit the database CHECK (a 500)."""
    state = MarketState.objects.get(resource__code="cpu")
    form = {"floor": state.price + 1, "ceiling": 50_000, "target_utilization": 0.5, "ema_alpha": 0.3}
    response = staff_client.post(f"/admin/market/marketstate/{state.id}/change/", form)
    assert response.status_code == 200  # the form again, with the error
    assert "Please correct the error below." in response.content.decode()
    state.refresh_from_db()
    assert state.floor == 8


def test_a_tick_committing_while_staff_save_the_form_is_not_lost(staff_client, monkeypatch):
    """Issue 9, finding 9: the admin saved the whole row it had read, so the price and utilization a tick wrote in
    between were overwritten with the old values."""
    from market.admin import MarketStateAdmin

    state = MarketState.objects.get(resource__code="cpu")
    original_get_object = MarketStateAdmin.get_object

    written = {}

    def get_object_then_a_tick_commits(self, request, object_id, from_field=None):
        obj = original_get_object(self, request, object_id, from_field)
        if request.method == "POST":
            services.run_market_tick()  # no bids: utilization 0, the price and the average step down
            written.update(MarketState.objects.filter(id=obj.id).values("price", "utilization_ema").get())
        return obj

    monkeypatch.setattr(MarketStateAdmin, "get_object", get_object_then_a_tick_commits)
    form = {"floor": 5, "ceiling": 50_000, "target_utilization": 0.5, "ema_alpha": 0.3}
    response = staff_client.post(f"/admin/market/marketstate/{state.id}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    assert written["price"] < state.price  # the tick moved it
    state.refresh_from_db()
    assert {"price": state.price, "utilization_ema": state.utilization_ema} == written
    assert (state.floor, state.ceiling) == (5, 50_000)
