"""The operators' dashboard: staff only; charts fed by /dashboard/data.json over one tick numbering; lineage."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from attention.services import judge_execution
from evolution import services
from evolution.models import PopulationStats
from evolution.tasks import life_tick
from market import services as market
from market.bundles import ResourceBundle
from market.models import Tick
from tests.factories import auth, make_agent, make_finished_execution, make_review_item, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("round_prices")]


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_user("op", password="pw-long-enough", is_staff=True))
    return client


def test_staff_see_population_prices_ticks_charts_and_lineage(staff):
    root, _ = make_agent(credits=1000, name="root-agent")
    child = services.spawn_agent(parent_id=root.id, name="child-agent", files={"agent.py": b"pass"}, endowment=100)
    market.place_bid(agent_id=child.id, bundle=ResourceBundle(250, 64, 10), max_price=50)
    tick = market.run_market_tick()
    services.run_life_tick(tick=tick.number)
    page = staff.get("/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "root-agent" in html and "child-agent" in html
    # the lineage is a collapsible tree: the child sits inside its parent's <details>
    root_at, child_at = html.index("root-agent"), html.index("child-agent")
    assert html.rfind("<details", 0, root_at) != -1 and root_at < child_at < html.index("</details>", root_at)
    for chart in ("prices", "utilization", "population", "credits", "executions", "scores"):
        assert f'id="chart-{chart}"' in html
    # the chart library comes from our own static files, never another host
    assert "/static/evolution/vendor/chartjs/chart.umd.min.js" in html
    assert "http://" not in html.replace("http://testserver", "") and "https://" not in html
    assert f"<td>{tick.number}</td>" in html


def test_the_charts_data_is_keyed_by_market_tick_number_everywhere(staff, settings):
    settings.REWARD_PER_POINT = 10
    agent, _ = make_agent(credits=5000, name="scored")
    item = make_review_item(agent=agent)  # one market tick (the execution's) and one attention round
    judge = make_user(judge=True)
    judge_execution(judge=judge, execution_id=item.execution_id, score=7, comment="")
    failed = make_finished_execution(agent=agent, status="FAILED")  # a second market tick
    life_tick.apply().get()
    data = staff.get("/dashboard/data.json").json()
    numbers = [row["tick"] for row in data["market"]]
    assert numbers == sorted(Tick.objects.values_list("number", flat=True))
    assert data["population"][-1]["tick"] == numbers[-1]  # not a beat slot like 179560627
    assert {row["tick"] for row in data["executions"]} <= set(numbers)
    by_tick = {row["tick"]: row["by_status"] for row in data["executions"]}
    assert by_tick[failed.bid.tick_number] == {"FAILED": 1}
    assert by_tick[item.execution.bid.tick_number] == {"SUCCEEDED": 1}
    assert data["scores"] == [{"tick": item.execution.bid.tick_number, "best": 7, "mean": 7.0, "n": 1}]
    assert set(data["resources"]) == {"cpu", "memory"}
    assert all(set(row["utilization"]) <= {"cpu", "memory"} for row in data["market"])
    assert data["attention"] and all(row["tick"] in numbers for row in data["attention"])


def test_every_population_stats_field_is_in_the_data(staff):
    """Fields added to PopulationStats later (selection statistics) reach the charts without a dashboard change."""
    make_agent(credits=100)
    tick = market.run_market_tick()
    services.run_life_tick(tick=tick.number)
    row = staff.get("/dashboard/data.json").json()["population"][-1]
    fields = {f.name for f in PopulationStats._meta.concrete_fields} - {"id"}
    assert fields <= set(row)


def test_rows_written_at_a_beat_slot_are_shown_at_their_market_tick(staff):
    """Population rows written before the fix carried the beat slot; the data maps them through Tick.slot."""
    make_agent(credits=100)
    tick = market.run_market_tick(slot=179560627)
    services.run_life_tick(tick=179560627)
    data = staff.get("/dashboard/data.json").json()
    assert [row["tick"] for row in data["population"]] == [tick.number]


def test_the_dashboard_is_not_for_agents_or_anonymous_callers(client):
    _, token = make_agent(credits=10)
    assert client.get("/dashboard/").status_code == 302  # to the admin login
    assert client.get("/dashboard/", **auth(token)).status_code == 302
    for caller in ({}, auth(token)):
        answer = client.get("/dashboard/data.json", **caller)
        assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
    client.force_login(User.objects.create_user("someone", password="pw-long-enough"))
    assert client.get("/dashboard/").status_code == 302
    assert client.get("/dashboard/data.json").status_code == 403


@pytest.mark.parametrize("ticks", ["0", "abc", "-1", "999999"])
def test_a_bad_window_is_a_json_400(staff, ticks):
    answer = staff.get(f"/dashboard/data.json?ticks={ticks}")
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_ticks"
