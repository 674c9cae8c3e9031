"""``manage.py experiment``: a tiny experiment (1 arm x 1 seed x 3 ticks, real Docker) writes ticks.csv,
summary.json and scores.png; bad arguments are refused before anything runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from evolution.experiment import parse_seeds
from evolution.history import TICK_COLUMNS

TICKS = 3


@pytest.mark.docker
@pytest.mark.slow
def test_a_tiny_experiment_writes_its_three_files(tmp_path: Path) -> None:
    call_command(
        "experiment", arms="shuffled", seeds="1", ticks=TICKS, program="learner", out=str(tmp_path), quiet=True
    )

    with open(tmp_path / "ticks.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == TICK_COLUMNS
    assert [(r["arm"], r["seed"], r["tick"]) for r in rows] == [("shuffled", "1", str(t)) for t in range(1, 4)]
    assert all(int(r["alive"]) >= 1 for r in rows)
    assert sum(int(r["births"]) for r in rows) >= 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    arm = summary["arms"]["shuffled"]
    assert set(arm) == {"final_best", "mean_final_best", "mean_selection_differential", "reached"}
    assert len(arm["final_best"]) == 1 and arm["mean_final_best"] == arm["final_best"][0]
    assert set(arm["reached"]) == {str(s) for s in range(1, 11)}
    assert summary["settings"]["arms"] == ["shuffled"] and summary["settings"]["ticks"] == TICKS
    assert summary["settings"]["economy"]["REWARD_PER_POINT"] > 0
    assert summary["runs"]["exact"] is True
    assert set(summary["runs"]["seconds_per_run"]) == {"shuffled-seed1"}  # each run's wall time, for speed
    assert summary["runs"]["seconds_per_run"]["shuffled-seed1"] > 0
    assert (tmp_path / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "runs" / "shuffled-seed1.sqlite3").exists()


@pytest.mark.parametrize(
    "options",
    [{"arms": "rewarded,nope"}, {"arms": "rewarded,rewarded"}, {"seeds": "x"}, {"ticks": 0}, {"program": "nope"}],
)
def test_bad_arguments_are_refused(tmp_path: Path, options: dict) -> None:
    with pytest.raises(CommandError):
        call_command("experiment", out=str(tmp_path), quiet=True, **options)
    assert not (tmp_path / "ticks.csv").exists()


def test_seeds_read_as_a_count_a_range_or_a_list() -> None:
    assert parse_seeds("3") == [1, 2, 3]
    assert parse_seeds("2-4") == [2, 3, 4]
    assert parse_seeds("1,4,9") == [1, 4, 9]
    with pytest.raises(ValueError, match="distinct"):
        parse_seeds("1,1")
