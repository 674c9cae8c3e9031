"""The operators' dashboard: staff only; shows population, prices, ticks and the lineage tree."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from evolution import services
from market import services as market
from market.bundles import ResourceBundle
from tests.factories import auth, make_agent

pytestmark = pytest.mark.django_db


def test_staff_see_population_prices_ticks_and_lineage(client):
    root, _ = make_agent(credits=1000, name="root-agent")
    child = services.spawn_agent(parent_id=root.id, name="child-agent", files={"agent.py": b"pass"}, endowment=100)
    market.place_bid(agent_id=child.id, bundle=ResourceBundle(250, 64, 10), max_price=5)
    tick = market.run_market_tick()
    services.run_life_tick(tick=tick.number)
    client.force_login(User.objects.create_user("op", password="pw-long-enough", is_staff=True))
    page = client.get("/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "root-agent" in html and "child-agent" in html
    assert html.index("root-agent") < html.index("child-agent")  # the child is drawn under its parent
    assert "<polyline" in html
    assert f"<td>{tick.number}</td>" in html


def test_the_dashboard_is_not_for_agents_or_anonymous_callers(client):
    _, token = make_agent(credits=10)
    assert client.get("/dashboard/").status_code == 302  # to the admin login
    assert client.get("/dashboard/", **auth(token)).status_code == 302
    client.force_login(User.objects.create_user("someone", password="pw-long-enough"))
    assert client.get("/dashboard/").status_code == 302
