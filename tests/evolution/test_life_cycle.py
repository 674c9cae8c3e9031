"""Genesis, spawning, upkeep and death, lineage and statistics."""

from __future__ import annotations

import pytest

from economy import errors as ledger_errors
from economy import selectors as ledger
from economy.models import Account, Agent, AgentToken, Transfer
from evolution import errors, selectors, services
from evolution.models import LifeEvent, PopulationStats
from market import services as market
from market.bundles import ResourceBundle
from market.models import Bid
from sandbox import services as sandbox
from sandbox.models import Workspace
from tests.factories import auth, make_agent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("round_prices", "flat_upkeep")]

CHILD = {"agent.py": b"print('hello')\n"}


def balance(agent) -> int:
    return ledger.get_balance(agent_id=agent.id)


def test_genesis_mints_the_endowment_gives_the_program_and_bids(settings):
    settings.GENESIS_ENDOWMENT = 500
    agent = services.create_genesis_agent(seed=7)
    assert (agent.generation, agent.parent_id, agent.status) == (0, None, "alive")
    files = Workspace.objects.get(agent=agent).files
    assert {"agent.py", "config.json"} <= set(files)
    assert LifeEvent.objects.filter(agent=agent, kind="birth").exists()
    bid = Bid.objects.get(agent=agent)
    assert bid.status == Bid.Status.PENDING
    assert balance(agent) + ledger.get_held(agent_id=agent.id) + bid.fee == 500
    assert ledger.ledger_violations() == []


def test_spawn_pays_the_fee_and_the_endowment_in_one_go(settings):
    settings.SPAWN_FEE = 20
    parent, _ = make_agent(credits=300)
    child = services.spawn_agent(parent_id=parent.id, name="kid", files=CHILD, endowment=100)
    assert (child.parent_id, child.generation) == (parent.id, 1)
    assert balance(parent) == 180
    assert balance(child) == 100
    assert Account.objects.get(system="treasury").balance == 20
    assert Workspace.objects.get(agent=child).files.keys() == {"agent.py"}
    birth = LifeEvent.objects.get(agent=child, kind="birth")
    assert birth.transfer.kind == Transfer.Kind.SPAWN
    assert ledger.ledger_violations() == []


def test_a_child_can_bid_for_its_first_run_from_its_endowment():
    parent, _ = make_agent(credits=300)
    child = services.spawn_agent(
        parent_id=parent.id, name="kid", files=CHILD, endowment=100, first_bid={"max_price": 10}
    )
    bid = Bid.objects.get(agent=child)
    assert (bid.max_price, bid.cpu_millicores) == (10, services.FIRST_BUNDLE.cpu_millicores)
    assert balance(child) == 100 - 10 - bid.fee


@pytest.mark.parametrize(
    ("setup", "kwargs", "error"),
    [
        ("dead", {}, ledger_errors.AgentDead),
        ("poor", {}, ledger_errors.InsufficientFunds),
        ("ok", {"endowment": 10}, errors.EndowmentTooSmall),
        ("ok", {"files": {"agent.py": b"x" * (10 * 1024 * 1024)}}, errors.InvalidCode),
        ("ok", {"files": {"readme.txt": b"no program"}}, errors.InvalidCode),
        ("ok", {"files": {"../escape.py": b"x", "agent.py": b""}}, errors.InvalidCode),
        ("cap", {}, errors.PopulationCap),
    ],
)
def test_refused_spawns_move_nothing(settings, setup, kwargs, error):
    parent, _ = make_agent(credits=60 if setup == "poor" else 500)
    if setup == "dead":
        Agent.objects.filter(id=parent.id).update(status=Agent.Status.DEAD)
    if setup == "cap":
        settings.POPULATION_CAP = Agent.objects.filter(status="alive").count()
    before = (balance(parent), Agent.objects.count(), Transfer.objects.count())
    with pytest.raises(error):
        services.spawn_agent(parent_id=parent.id, name="kid", **{"files": CHILD, "endowment": 100, **kwargs})
    assert (balance(parent), Agent.objects.count(), Transfer.objects.count()) == before


def test_upkeep_charges_the_living_and_kills_the_broke(settings):
    settings.UPKEEP_PER_TICK = 5
    rich, _ = make_agent(credits=100)
    broke, _ = make_agent(credits=3)
    sandbox.set_workspace(agent_id=broke.id, files=CHILD)
    stats = services.run_life_tick(tick=1)
    assert balance(rich) == 95
    broke.refresh_from_db()
    assert broke.status == Agent.Status.DEAD
    assert "upkeep" in broke.death_cause
    assert balance(broke) == 0  # what was left went with the final upkeep
    assert not AgentToken.objects.filter(agent=broke, revoked_at__isnull=True).exists()
    assert Workspace.objects.get(agent=broke).archived_at is not None
    death = LifeEvent.objects.get(agent=broke, kind="death")
    assert death.transfer.amount == 3
    assert (stats.alive, stats.deaths) == (1, 1)
    assert ledger.ledger_violations() == []


def test_an_agent_with_credits_in_escrow_is_not_killed(settings):
    settings.UPKEEP_PER_TICK = 5
    agent, _ = make_agent(credits=8)
    market.place_bid(agent_id=agent.id, bundle=ResourceBundle(250, 64, 10), max_price=5)  # 2 left, 5 held
    services.run_life_tick(tick=1)
    agent.refresh_from_db()
    assert agent.status == Agent.Status.ALIVE
    market.run_market_tick()  # the bid wins at the reserve (1 credit): 2 + 4 released = 6, nothing held
    services.run_life_tick(tick=2)  # pays 5, 1 left
    agent.refresh_from_db()
    assert agent.status == Agent.Status.ALIVE
    services.run_life_tick(tick=3)  # cannot pay, holds nothing: dies
    agent.refresh_from_db()
    assert agent.status == Agent.Status.DEAD


def test_a_life_tick_runs_once():
    make_agent(credits=100)
    assert services.run_life_tick(tick=5) is not None
    transfers = Transfer.objects.count()
    assert services.run_life_tick(tick=5) is None
    assert Transfer.objects.count() == transfers
    assert PopulationStats.objects.count() == 1


def test_a_dead_agents_token_stops_working(api):
    agent, token = make_agent(credits=10)
    services.kill_agent(agent_id=agent.id, cause="test")
    assert api.get(f"/economic/balance/{agent.id}", **auth(token)).status_code == 401
    assert services.kill_agent(agent_id=agent.id, cause="again") is False
    assert LifeEvent.objects.filter(agent=agent, kind="death").count() == 1


def test_death_cancels_open_bids_and_releases_them():
    agent, _ = make_agent(credits=50)
    market.place_bid(agent_id=agent.id, bundle=ResourceBundle(250, 64, 10), max_price=20)
    services.kill_agent(agent_id=agent.id, cause="test")
    assert Bid.objects.get(agent=agent).status == Bid.Status.CANCELLED
    assert ledger.get_held(agent_id=agent.id) == 0
    assert balance(agent) == 0
    assert ledger.ledger_violations() == []


def test_stats_record_population_credits_and_gini():
    make_agent(credits=100)
    make_agent(credits=100)
    stats = services.run_life_tick(tick=1)
    assert stats.alive == 2
    assert stats.gini == pytest.approx(0.0)
    assert stats.minted == 200
    assert services.gini([0, 0, 0, 100]) == pytest.approx(0.75)


def test_lineage_lists_ancestors_and_descendants(api):
    root, token = make_agent(credits=1000)
    child = services.spawn_agent(parent_id=root.id, name="c", files=CHILD, endowment=200)
    grandchild = services.spawn_agent(parent_id=child.id, name="g", files=CHILD, endowment=60)
    assert [a.id for a in selectors.ancestors(agent=grandchild)] == [child.id, root.id]
    body = api.get(f"/evolution/agents/{root.id}/lineage", **auth(token)).json()
    assert [a["id"] for a in body["descendants"]] == [child.id, grandchild.id]
    assert body["ancestors"] == []
    detail = api.get(f"/evolution/agents/{grandchild.id}", **auth(token)).json()
    # another agent's balance is private (null); the grandchild itself sees its own
    assert (detail["generation"], detail["parent_id"], detail["balance"]) == (2, child.id, None)
    assert api.get("/evolution/agents/99999", **auth(token)).json()["code"] == "unknown_agent"


def test_spawn_over_http(api):
    parent, token = make_agent(credits=500)
    response = api.post(
        "/evolution/spawn", {"name": "kid", "code": "print(1)\n", "endowment": 100}, format="json", **auth(token)
    )
    assert response.status_code == 201, response.content
    assert (response.json()["parent_id"], response.json()["generation"]) == (parent.id, 1)
    bad = api.post("/evolution/spawn", {"name": "kid", "endowment": 100}, format="json", **auth(token))
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_code")
    low = api.post("/evolution/spawn", {"name": "k", "code": "x", "endowment": 1}, format="json", **auth(token))
    assert (low.status_code, low.json()["code"]) == (400, "endowment_too_small")
    poor = api.post("/evolution/spawn", {"name": "k", "code": "x", "endowment": 10**6}, format="json", **auth(token))
    assert (poor.status_code, poor.json()["code"]) == (409, "insufficient_funds")
