"""The pure evolver program, run as a process against the live API (what its container would do, without Docker):
it submits its phrase, bids for compute and for attention on the running execution, spawns a child that inherits its
phrase and strategy genes with mutations, and never asks for its scores, its ledger history or its messages."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.signals import request_started

from attention.models import AttentionBid
from economy.models import Agent
from evolution.programs import PROGRAMS, program_files
from evolution.services import create_genesis_agent
from market import services as market
from market.models import Bid
from sandbox import services as sandbox
from sandbox.models import Execution, Workspace
from tests.factories import make_worker

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "sandbox" / "runtime"
sys.path.insert(0, str(RUNTIME))  # the SDK the program imports (bp), for the unit tests of its functions
sys.path.insert(0, str(ROOT / "evolution" / "programs"))

import evolver  # noqa: E402

FORBIDDEN = ("/human/rewards", "/economic/history", "/social/messages", "/evolution/agents")


@pytest.fixture
def requests_seen():
    seen: list[tuple[str, str]] = []

    def record(sender, environ, **kwargs):
        seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))

    request_started.connect(record)
    yield seen
    request_started.disconnect(record)


def run_once(agent: Agent, url: str, tmp_path: Path, *, seed: int) -> tuple[Execution, subprocess.CompletedProcess]:
    """Win a market tick, claim the execution as a worker would, and run the workspace's agent.py as a process."""
    market.run_market_tick()
    execution = Execution.objects.filter(agent=agent, status=Execution.Status.QUEUED).latest("id")
    worker, _ = make_worker()
    spec = sandbox.claim_execution(execution_id=execution.id, worker=worker)
    workdir = tmp_path / f"run-{execution.id}"
    workdir.mkdir()
    for name, content in spec.files.items():
        (workdir / name).write_bytes(base64.b64decode(content))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(RUNTIME),
        "BP_API_URL": url,
        "BP_TOKEN": spec.token,
        "BP_AGENT_ID": str(agent.id),
        "BP_EXECUTION_ID": str(execution.id),
        "BP_SEED": str(seed),
    }
    done = subprocess.run(
        [sys.executable, "agent.py"], cwd=workdir, env=env, capture_output=True, text=True, timeout=60
    )
    execution.refresh_from_db()
    return execution, done


@pytest.mark.django_db(transaction=True)
def test_the_evolver_works_bids_and_spawns_without_reading_its_scores_or_messages(
    live_server, settings, requests_seen, tmp_path
):
    settings.SPAWN_MIN_ENDOWMENT = 50
    params = {"phrase_length": 6, "spawn_threshold": 200, "endowment_share": 0.3}
    parent = create_genesis_agent(
        endowment=2000, seed=5, files=program_files("evolver", seed=5, params=params), first_bid_price=50
    )

    execution, done = run_once(parent, live_server.url, tmp_path, seed=11)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "refused" not in done.stdout, done.stdout
    config = json.loads((tmp_path / f"run-{execution.id}" / "config.json").read_text())  # its genome, saved
    phrase = config["phrase"]
    assert len(phrase) == 6 and set(phrase) <= set(evolver.ALPHABET)
    assert execution.artifact == phrase
    # Compute for the next tick and attention for this (still running) execution.
    assert Bid.objects.filter(agent=parent, status=Bid.Status.PENDING).count() == 1
    assert AttentionBid.objects.filter(agent=parent, execution=execution, status="PENDING").count() == 1
    # A child: the phrase with few letters changed, every gene mutated within its bounds, generation 1.
    child = Agent.objects.get(parent=parent)
    assert child.generation == 1
    files = sandbox.decode_files(Workspace.objects.get(agent=child).files)
    assert files["agent.py"] == (ROOT / "evolution" / "programs" / PROGRAMS["evolver"].file).read_bytes()
    inherited = json.loads(files["config.json"])
    assert inherited["generation"] == 1
    assert len(inherited["phrase"]) == 6
    assert sum(a != b for a, b in zip(inherited["phrase"], phrase, strict=True)) <= 3
    parent_genes = evolver.genes_of(config)
    assert set(inherited["genes"]) == set(evolver.GENES)
    for name, (_, low, high) in evolver.GENES.items():
        assert low <= inherited["genes"][name] <= high
    assert inherited["genes"] != parent_genes
    assert Bid.objects.filter(agent=child, status=Bid.Status.PENDING).count() == 1  # its first bid, from its endowment

    # What it asked the API: never its scores, its history or its messages.
    paths = [path for _, path in requests_seen]
    assert ("POST", "/sandbox/artifact") in requests_seen
    assert ("POST", "/evolution/spawn") in requests_seen
    assert not [path for path in paths if path.startswith(FORBIDDEN)], paths


def test_genes_mutate_within_their_bounds_and_phrases_keep_their_length():
    import random

    rand = random.Random(1)
    genes = evolver.genes_of({"params": {"compute_share": 99, "mutation_rate": "bad"}})
    assert genes["compute_share"] == evolver.GENES["compute_share"][2]  # clamped to its highest
    assert genes["mutation_rate"] == evolver.GENES["mutation_rate"][0]  # unreadable: the default
    children = [evolver.mutate_genes(genes, rand) for _ in range(200)]
    for name, (_, low, high) in evolver.GENES.items():
        values = {child[name] for child in children}
        assert all(low <= value <= high for value in values)
        assert len(values) > 50  # each gene varies from child to child
    phrases = [evolver.mutate_phrase("WEASEL", 0.7, rand) for _ in range(500)]
    assert all(len(p) == 6 for p in phrases)
    changed = sum(p != "WEASEL" for p in phrases) / len(phrases)
    assert 0.5 < changed < 0.8  # one letter with probability 0.7 (sometimes to the same letter)


def test_the_evolver_bids_at_least_the_posted_cost_while_it_can_pay_it_the_fee_and_a_ticks_upkeep():
    cost, fee, share = 60, 1, 0.25
    assert evolver.compute_offer(1000, cost, fee, share) == 250  # its share, above the cost
    # A poor agent (a newborn after its first run) still bids the posted cost: its reward arrives after the run, so
    # it needs this second run to spend it.
    assert evolver.compute_offer(cost + fee + evolver.UPKEEP, cost, fee, share) == cost
    assert evolver.compute_offer(cost + fee + evolver.UPKEEP - 1, cost, fee, share) is None  # it cannot: no bid
    assert evolver.compute_offer(0, cost, fee, share) is None


def test_the_genesis_phrase_is_as_long_as_the_target_unless_the_program_params_say_otherwise():
    from evolution.embedded import DEFAULT_TARGET, EconomyConfig

    def params(config: EconomyConfig) -> dict:
        return json.loads(config.genesis_files()["config.json"])["params"]

    assert params(EconomyConfig(program="evolver"))["phrase_length"] == len(DEFAULT_TARGET)
    assert params(EconomyConfig(program="evolver", target="METHINKS IT IS LIKE A WEASEL"))["phrase_length"] == 28
    assert params(EconomyConfig(program="learner", target="HELLO"))["phrase_length"] == 5
    assert params(EconomyConfig(target="HELLO", program_params={"phrase_length": 9}))["phrase_length"] == 9
