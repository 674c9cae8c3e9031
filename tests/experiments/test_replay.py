"""Exact replay: a seeded economy run twice (two processes, two SQLite files, real Docker) writes the same history,
byte for byte (bids, clearing prices, executions and their outcomes, artifacts, scores, balances, births, deaths)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TICKS = 5


def start_run(directory: Path, name: str) -> tuple[subprocess.Popen, Path]:
    history = directory / f"{name}.json"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{directory / name}.sqlite3"}
    command = [
        sys.executable, str(ROOT / "manage.py"), "run_economy", "--ticks", str(TICKS), "--seed", "7", "--quiet",
        "--cpu-millicores", "2000", "--memory-mb", "2048", "--history", str(history),
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process, history


def test_a_seeded_economy_replays_byte_for_byte(tmp_path: Path) -> None:
    runs = [start_run(tmp_path, name) for name in ("first", "second")]  # side by side: load must not matter
    for process, _ in runs:
        output, _ = process.communicate(timeout=900)
        assert process.returncode == 0, output
    first, second = (history.read_bytes() for _, history in runs)
    document = json.loads(first)
    assert document["exact"] is True, document["warnings"]
    tables = document["tables"]
    assert len(tables["market.Tick"]) == TICKS
    assert tables["sandbox.Execution"] and all(e["status"] == "SUCCEEDED" for e in tables["sandbox.Execution"])
    assert any(e["artifact"] for e in tables["sandbox.Execution"])
    assert any(r["score"] is not None for r in tables["attention.HumanReward"])
    assert len(tables["sandbox.Execution"]) >= TICKS and len(tables["economy.Transfer"]) > 20
    assert "created_at" not in tables["economy.Transfer"][0] and "key_hash" not in json.dumps(tables)
    assert first == second
