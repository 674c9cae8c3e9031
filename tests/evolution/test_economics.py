"""The economics that make the economy select: upkeep with demurrage kills a do-nothing agent within a bounded,
documented number of ticks; an agent that stops winning compute dies after IDLE_TICKS_LIMIT ticks; newborns get
their chance; the statistics count each birth and death once."""

from __future__ import annotations

import pytest

from economy import selectors as ledger
from economy.models import Agent
from evolution import services
from evolution.models import PopulationStats
from market import services as market
from market.bundles import ResourceBundle
from market.models import Tick
from tests.factories import make_agent

pytestmark = pytest.mark.django_db

BUNDLE = ResourceBundle(cpu_millicores=250, memory_mb=64, wall_seconds=5)


def status(agent) -> str:
    agent.refresh_from_db()
    return agent.status


@pytest.mark.parametrize("balance", [25, 300, 5000])
def test_an_agent_that_does_nothing_dies_after_exactly_the_documented_number_of_ticks(settings, balance):
    settings.UPKEEP_PER_TICK, settings.UPKEEP_DEMURRAGE_BP, settings.IDLE_TICKS_LIMIT = 10, 500, 0
    agent, _ = make_agent(credits=balance)
    survives = services.ticks_to_starve(balance=balance, flat=10, rate_bp=500)
    for tick in range(1, survives + 1):
        services.run_life_tick(tick=tick)
        assert status(agent) == Agent.Status.ALIVE, tick
    services.run_life_tick(tick=survives + 1)
    assert status(agent) == Agent.Status.DEAD
    assert "upkeep" in agent.death_cause
    assert ledger.ledger_violations() == []


def test_the_starvation_bound_grows_only_with_the_log_of_the_balance():
    bounds = [services.ticks_to_starve(balance=10**k, flat=10, rate_bp=500) for k in range(2, 10)]
    assert bounds == sorted(bounds)
    assert bounds[-1] < 320  # a billion credits last fewer than 320 ticks at 10 + 5 %
    assert services.ticks_to_starve(balance=1000, flat=10, rate_bp=0) == 100  # flat only: linear
    with pytest.raises(ValueError):
        services.ticks_to_starve(balance=1000, flat=0, rate_bp=500)


def test_an_agent_that_stops_winning_compute_dies_after_the_idle_limit(settings):
    settings.UPKEEP_PER_TICK, settings.UPKEEP_DEMURRAGE_BP, settings.IDLE_TICKS_LIMIT = 1, 0, 3
    runner, _ = make_agent(credits=10_000)
    idler, _ = make_agent(credits=10_000)  # rich, but it never runs
    newborn = None
    for tick in range(1, 6):
        market.place_bid(agent_id=runner.id, bundle=BUNDLE, max_price=50)
        market.run_market_tick()
        if tick == 2:
            newborn, _ = make_agent(credits=10_000)  # born during tick 2: its window starts at tick 3
        services.run_life_tick(tick=tick)
        expected = Agent.Status.DEAD if tick >= 3 else Agent.Status.ALIVE
        assert status(idler) == expected, tick
        assert status(runner) == Agent.Status.ALIVE
        assert status(newborn) == (Agent.Status.DEAD if tick >= 5 else Agent.Status.ALIVE) if newborn else True
    assert idler.death_cause == "idle: no compute won in 3 ticks"
    assert ledger.get_balance(agent_id=idler.id) == 0  # what it had was burned
    assert ledger.ledger_violations() == []


def test_nobody_is_idle_before_the_limits_ticks_have_run_or_with_no_limit(settings):
    agent, _ = make_agent(credits=100)
    market.run_market_tick()
    assert services.idle_agents(limit=2) == []
    market.run_market_tick()
    assert services.idle_agents(limit=2) == [agent.id]
    assert services.idle_agents(limit=0) == []


def test_each_death_and_birth_is_counted_in_one_tick_only(settings):
    settings.UPKEEP_PER_TICK, settings.UPKEEP_DEMURRAGE_BP, settings.IDLE_TICKS_LIMIT = 5, 0, 0
    services.create_genesis_agent(endowment=1000, first_bid_price=None)
    services.create_genesis_agent(endowment=3, first_bid_price=None)  # dies at the first life tick
    first = services.run_life_tick(tick=1)
    services.create_genesis_agent(endowment=1000, first_bid_price=None)  # born between the ticks
    second = services.run_life_tick(tick=2)
    third = services.run_life_tick(tick=3)
    assert (first.births, first.deaths) == (2, 1)
    assert (second.births, second.deaths) == (1, 0)
    assert (third.births, third.deaths) == (0, 0)
    assert sum(PopulationStats.objects.values_list("deaths", flat=True)) == Agent.objects.filter(status="dead").count()
    assert Tick.objects.count() == 0
