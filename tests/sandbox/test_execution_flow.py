"""From a won bid to a recorded result: the task runs in-process against a live API and a real Docker engine."""

from __future__ import annotations

import base64
import json

import pytest

from economy.models import AgentToken
from economy.selectors import get_balance
from market.bundles import ResourceBundle
from market.services import place_bid, run_market_tick
from sandbox import worker, worker_tasks
from sandbox.docker_runner import LABEL_EXECUTION
from sandbox.models import Execution, Workspace
from tests.factories import make_execution, make_program_agent

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _pool_on(warm_worker: str) -> None:
    """These tests run with the warm pool on, filled before they start."""


POET = """
import bp, json
balance = bp.balance()
bp.submit_artifact(f"a poem by agent {bp.agent_id()}, who has {balance} credits")
with open("notes.txt", "a") as fh:
    fh.write("ran once\\n")
print(json.dumps({"balance": balance}))
"""


def test_a_won_bid_runs_in_a_container_and_its_result_is_recorded(
    live_worker, enqueued, docker_client, round_prices
) -> None:
    agent, _ = make_program_agent(code=POET, credits=1000)
    bid = place_bid(agent_id=agent.id, bundle=ResourceBundle(500, 128, 20), max_price=50)
    run_market_tick()

    execution = Execution.objects.get(bid=bid)
    assert execution.status == Execution.Status.QUEUED
    assert (execution.cpu_millicores, execution.memory_mb, execution.wall_seconds) == (500, 128, 20)
    assert enqueued == [execution.id]
    balance_before_run = get_balance(agent_id=agent.id)

    assert worker_tasks.run_execution(execution.id) == "SUCCEEDED"

    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED, (execution.error, execution.stderr)
    assert execution.exit_code == 0
    assert execution.worker == live_worker and execution.attempts == 1
    assert json.loads(execution.stdout) == {"balance": balance_before_run}
    assert execution.artifact == f"a poem by agent {agent.id}, who has {balance_before_run} credits"
    assert execution.started_at <= execution.finished_at
    assert execution.image.startswith("bp-agent-runtime:")
    assert execution.workspace_outcome == Execution.WorkspaceOutcome.SAVED
    files = Workspace.objects.get(agent=agent).files
    assert base64.b64decode(files["notes.txt"]) == b"ran once\n"
    assert base64.b64decode(files["agent.py"]) == POET.encode()
    # The execution's token was revoked with the result; the agent's own token still works.
    assert not AgentToken.objects.filter(execution_link__execution=execution, revoked_at__isnull=True).exists()
    assert AgentToken.objects.filter(agent=agent, revoked_at__isnull=True).count() == 1

    # A re-delivered message finds the execution finished: no second container, no second result.
    assert worker_tasks.run_execution(execution.id) == "skipped"
    execution.refresh_from_db()
    assert execution.attempts == 1 and execution.status == Execution.Status.SUCCEEDED
    assert base64.b64decode(Workspace.objects.get(agent=agent).files["notes.txt"]) == b"ran once\n"
    assert worker.wait_removals()  # the container is removed after the result, off the dispatch -> result path
    assert not docker_client.containers.list(all=True, filters={"label": f"{LABEL_EXECUTION}={execution.id}"})


HOSTILE = {
    "memory hog": (
        "print('allocating', flush=True)\nblob = b'x' * (512 * 1024 * 1024)\nprint('survived')\n",
        {"memory_mb": 64, "wall_seconds": 20},
        Execution.Status.OOM_KILLED,
    ),
    "spinner": ("print('spinning', flush=True)\nwhile True: pass\n", {"wall_seconds": 2}, Execution.Status.TIMED_OUT),
    "fork bomb": (
        "import os, sys\ntold = False\nwhile True:\n    try:\n        os.fork()\n    except OSError as exc:\n"
        "        if not told:\n            told = True\n            print('fork failed', exc.errno, flush=True)\n",
        {"wall_seconds": 3},
        Execution.Status.TIMED_OUT,
    ),
    "plain": ("print('next one is fine')\n", {"wall_seconds": 10}, Execution.Status.SUCCEEDED),
}


def test_hostile_programs_end_in_their_outcome_and_the_worker_serves_the_next(
    live_worker, enqueued, docker_client, settings
) -> None:
    settings.SANDBOX_PIDS_LIMIT = 32
    outcomes = {}
    for label, (code, bundle, _expected) in HOSTILE.items():
        agent, _ = make_program_agent(code=code)
        execution = make_execution(agent=agent, **bundle)
        worker_tasks.run_execution(execution.id)
        execution.refresh_from_db()
        outcomes[label] = execution
    assert {label: e.status for label, e in outcomes.items()} == {label: h[2] for label, h in HOSTILE.items()}
    assert outcomes["memory hog"].exit_code == 137
    assert "allocating" in outcomes["memory hog"].stdout and "survived" not in outcomes["memory hog"].stdout
    assert "spinning" in outcomes["spinner"].stdout
    assert "fork failed 11" in outcomes["fork bomb"].stdout  # EAGAIN: the pids limit held
    assert outcomes["plain"].stdout == "next one is fine\n"
    assert outcomes["spinner"].workspace_outcome == Execution.WorkspaceOutcome.UNCHANGED
    assert worker.wait_removals()
    assert not docker_client.containers.list(all=True, filters={"label": f"bp.worker={live_worker}"})
