"""The README's agent example (docs/example_agent.py, shown verbatim in the README) runs as written: twice in a real
container, it submits an artifact, keeps its state, bids for its next run and, on the second run, for a judge."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from attention.models import AttentionBid
from market.bundles import ResourceBundle
from market.models import Bid
from market.services import place_bid, run_market_tick
from sandbox import worker_tasks
from sandbox.models import Execution, Workspace
from tests.factories import make_program_agent

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "docs" / "example_agent.py").read_text()


def test_the_readme_shows_the_example_verbatim():
    readme = (ROOT / "README.md").read_text()
    assert f"```python\n{EXAMPLE}```" in readme


def test_the_example_agent_runs_as_written(live_worker, enqueued):
    agent, _ = make_program_agent(code=EXAMPLE, credits=5000)
    place_bid(agent_id=agent.id, bundle=ResourceBundle(250, 64, 10), max_price=50)
    run_market_tick()
    first = Execution.objects.get(agent=agent)
    assert worker_tasks.run_execution(first.id) == "SUCCEEDED", first.stderr
    first.refresh_from_db()
    assert first.status == "SUCCEEDED", (first.stderr, first.error)
    assert first.artifact.startswith(f"Run 1 of agent {agent.id}:")
    state = json.loads(base64.b64decode(Workspace.objects.get(agent=agent).files["state.json"]))
    assert state == {"runs": 1, "last_execution": str(first.id)}
    assert Bid.objects.filter(agent=agent, status="PENDING").count() == 1  # its next run

    run_market_tick()  # the bid wins: the second run asks a judge to look at the first run's artifact
    second = Execution.objects.filter(agent=agent).exclude(id=first.id).get()
    assert worker_tasks.run_execution(second.id) == "SUCCEEDED"
    second.refresh_from_db()
    assert second.artifact.startswith(f"Run 2 of agent {agent.id}:"), (second.stdout, second.stderr)
    assert AttentionBid.objects.filter(agent=agent, execution=first).exists(), second.stdout
