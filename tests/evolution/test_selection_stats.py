"""Per-tick selection statistics: births and deaths counted once, minted and burned per tick, the selection
differential (covariance of children and judged score) and diversity (distinct artifacts of the living)."""

from __future__ import annotations

import pytest

from attention.services import run_scripted_judge
from evolution import services
from evolution.models import PopulationStats
from sandbox.models import Execution
from tests.factories import auth, make_agent, make_finished_execution, make_review_item

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("flat_upkeep")]

CHILD = {"agent.py": b"print('hello')\n"}


@pytest.fixture(autouse=True)
def _scale(settings):
    settings.REWARD_PER_POINT = 10
    settings.SPAWN_FEE = 0
    settings.UPKEEP_PER_TICK = 1
    settings.UPKEEP_DEMURRAGE_BP = 0
    settings.IDLE_TICKS_LIMIT = 0


def judge(scores: dict[str, int]) -> None:
    run_scripted_judge(scorer=lambda artifact: scores[artifact], name="fixed")


def test_a_death_is_counted_in_its_own_tick_only():
    make_agent(credits=0)  # cannot pay upkeep: dies in the first life tick
    make_agent(credits=100)
    first = services.run_life_tick(tick=1)
    second = services.run_life_tick(tick=2)
    assert (first.deaths, second.deaths) == (1, 0)  # counted by clock before, the death reappeared in tick 2
    assert second.last_event_id == first.last_event_id


def test_minted_and_burned_are_given_per_tick_and_in_total():
    make_agent(credits=100)
    first = services.run_life_tick(tick=1)
    make_agent(credits=50)
    second = services.run_life_tick(tick=2)
    assert (first.minted_in_tick, second.minted_in_tick) == (100, 50)
    assert second.minted == 150
    assert (first.burned_in_tick, second.burned_in_tick) == (1, 2)  # upkeep of one, then of two agents
    assert second.burned == first.burned + 2


def test_the_selection_differential_is_the_covariance_of_children_and_judged_score():
    good, _ = make_agent(credits=5000)
    poor, _ = make_agent(credits=5000)
    make_review_item(agent=good, artifact="good")
    make_review_item(agent=poor, artifact="poor")
    judge({"good": 8, "poor": 2})
    for name in ("kid-1", "kid-2"):
        services.spawn_agent(parent_id=good.id, name=name, files=CHILD, endowment=100)

    stats = services.run_life_tick(tick=3)

    # x = (8, 2), children y = (2, 0): cov = ((8-5)(2-1) + (2-5)(0-1)) / 2 = 3.
    assert stats.selection_differential == pytest.approx(3.0)
    assert stats.births == 2


def test_the_differential_is_negative_when_the_worse_reproduce_and_zero_without_two_judged_agents():
    good, _ = make_agent(credits=5000)
    poor, _ = make_agent(credits=5000)
    make_review_item(agent=good, artifact="good")
    assert services.run_life_tick(tick=2).selection_differential == 0.0
    make_review_item(agent=poor, artifact="poor")
    judge({"good": 9, "poor": 3})
    services.spawn_agent(parent_id=poor.id, name="kid", files=CHILD, endowment=100)
    assert services.run_life_tick(tick=3).selection_differential == pytest.approx(-1.5)


def test_diversity_counts_distinct_latest_artifacts_of_the_living():
    agents = [make_agent(credits=5000)[0] for _ in range(4)]
    for agent, artifact in zip(agents, ["same", "same", "other", "old"], strict=True):
        make_finished_execution(agent=agent, artifact=artifact)
    make_finished_execution(agent=agents[3], artifact="same")  # its latest artifact
    make_agent(credits=5000)  # nothing produced: not counted
    Execution.objects.filter(artifact="other").update(status=Execution.Status.FAILED)  # failed work does not count
    assert services.run_life_tick(tick=9).diversity == 1
    make_finished_execution(agent=agents[2], artifact="new")
    assert services.run_life_tick(tick=10).diversity == 2


def test_the_api_serves_the_new_fields(api):
    _, token = make_agent(credits=100)
    services.run_life_tick(tick=1)
    row = api.get("/evolution/stats", **auth(token)).json()["results"][0]
    stats = PopulationStats.objects.get(tick=1)
    assert {k: row[k] for k in ("minted_in_tick", "burned_in_tick", "selection_differential", "diversity")} == {
        "minted_in_tick": stats.minted_in_tick,
        "burned_in_tick": stats.burned_in_tick,
        "selection_differential": stats.selection_differential,
        "diversity": stats.diversity,
    }
