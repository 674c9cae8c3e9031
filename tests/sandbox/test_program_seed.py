"""Every execution's program gets ``BP_SEED``, derived by the API from the economy's seed and the execution id (the
worker passes it on, never invents it), and ``bp.rng()`` is ``random.Random(BP_SEED)``, one instance per run."""

from __future__ import annotations

import json
import random

import pytest

from economy.determinism import derive_seed, set_economy_seed
from sandbox import worker_tasks
from sandbox.models import Execution
from tests.factories import make_execution, make_program_agent

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DRAWS = """
import bp, json, os
first = bp.rng()
print(json.dumps({"seed": os.environ["BP_SEED"], "draws": [first.random(), bp.rng().random()],
                  "same": first is bp.rng()}))
"""


def test_the_program_draws_from_the_seed_the_api_derived(live_worker) -> None:
    set_economy_seed(42)
    agent, _ = make_program_agent(code=DRAWS)
    execution = make_execution(agent=agent, wall_seconds=20)

    assert worker_tasks.run_execution(execution.id) == "SUCCEEDED"

    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED, (execution.error, execution.stderr)
    out = json.loads(execution.stdout)
    seed = derive_seed(42, execution.id)
    expected = random.Random(seed)
    assert out == {"seed": str(seed), "draws": [expected.random(), expected.random()], "same": True}
