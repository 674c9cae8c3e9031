"""A run's history as data: the canonical export (exact replay) and the per-tick statistics (experiments).

The export holds what the economy decided and nothing the clock or the machine did: every row of the tables below,
ordered by id, without timestamps, tokens, secrets, worker names, image tags or idempotency keys (the SDK draws a
fresh UUID per transfer). Two runs of a seeded economy with the same settings write the same bytes; where that
cannot hold (an execution timed out on a loaded machine, executions ran concurrently) the export says so
(``"exact": false`` and the reasons).
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import models

from attention.models import AttentionBid, AttentionState, AttentionTick, HumanReward
from economy.models import Account, Agent, EconomySeed, Hold, Transfer
from evolution.models import LifeEvent, Message, PopulationStats
from market.models import Bid, MarketClock, MarketState, Tick
from sandbox.models import Execution, Workspace

if TYPE_CHECKING:
    from evolution.embedded import TickReport

EXPORTED = [
    EconomySeed, Agent, Account, Transfer, Hold, MarketClock, MarketState, Bid, Tick, Execution, Workspace,
    AttentionState, AttentionBid, AttentionTick, HumanReward, LifeEvent, Message, PopulationStats,
]  # fmt: skip
# Never in the export: what the clock, the machine or a fresh secret decided.
LEFT_OUT = {"key_hash", "idempotency_key", "request_hash", "worker", "worker_token", "image", "updated_at"}

TICK_COLUMNS = [
    "arm", "seed", "tick", "alive", "births", "deaths", "max_generation", "minted", "burned", "best_score",
    "mean_score", "selection_differential", "diversity",
]  # fmt: skip


def _value(field: models.Field, row: models.Model) -> object:
    value = getattr(row, field.attname)
    if field.name == "files" and isinstance(value, dict):  # a workspace: its digest
        return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
    return value


def history() -> dict:
    """Every exported table as a list of rows (field name to value), by primary key."""
    tables = {}
    for model in EXPORTED:
        fields = [
            f
            for f in model._meta.concrete_fields
            if not isinstance(f, models.DateTimeField | models.DateField) and f.name not in LEFT_OUT
        ]
        tables[model._meta.label] = [
            {f.attname: _value(f, row) for f in fields} for row in model.objects.order_by("pk").iterator()
        ]
    return tables


def export_history(path: str | Path, *, warnings: list[str]) -> str:
    """Write the canonical history (sorted keys, one table per model) to ``path``; return its sha256."""
    document = {"exact": not warnings, "warnings": list(warnings), "tables": history()}
    data = json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False).encode() + b"\n"
    Path(path).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def tick_rows(reports: list[TickReport], *, arm: str, seed: int) -> list[dict]:
    """The per-tick statistics of a run (scores are those judged during the tick)."""
    rows = []
    for report in reports:
        scores = report.scored
        rows.append(
            {
                "arm": arm,
                "seed": seed,
                "tick": report.tick,
                "alive": report.alive,
                "births": report.births,
                "deaths": report.deaths,
                "max_generation": report.max_generation,
                "minted": report.minted,
                "burned": report.burned,
                "best_score": max(scores) if scores else "",
                "mean_score": f"{sum(scores) / len(scores):.4f}" if scores else "",
                "selection_differential": f"{report.selection_differential:.6f}",
                "diversity": report.diversity,
            }
        )
    return rows


def write_ticks_csv(path: str | Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TICK_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
