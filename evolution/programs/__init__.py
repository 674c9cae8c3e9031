"""The genesis programs an economy can start from (agent programs: standard library and the ``bp`` SDK only).

``program_files(name, seed=..., params=...)`` is the one place that turns a program's name into the workspace of a
genesis agent (``agent.py`` and its ``config.json``); ``manage.py run_economy --program`` and ``manage.py
experiment --program`` resolve names here. Register a program by adding it to ``PROGRAMS``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

PROGRAMS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Program:
    file: str  # in this directory
    description: str
    params: dict = field(default_factory=dict)  # defaults given to the genesis agent (its own defaults otherwise)


PROGRAMS: dict[str, Program] = {
    "learner": Program(
        file="genesis_agent.py",
        description="learns from its judged scores and its kin's messages; children inherit mutated parameters",
    ),
    "evolver": Program(
        file="evolver.py",
        description="never reads its scores or messages: a child copies its parent's phrase and strategy genes with "
        "mutations, so any improvement comes from selection by money alone",
    ),
}
DEFAULT_PROGRAM = "learner"


class UnknownProgram(ValueError):
    pass


def program_names() -> list[str]:
    return sorted(PROGRAMS)


def program_files(name: str = DEFAULT_PROGRAM, *, seed: int = 0, params: dict | None = None) -> dict[str, bytes]:
    """The workspace of a genesis agent running program ``name``: its code and ``config.json`` (the seed, generation
    0, and ``params`` over the program's registered defaults)."""
    program = PROGRAMS.get(name)
    if program is None:
        raise UnknownProgram(f"Unknown program {name!r}; known: {', '.join(program_names())}.")
    config = {"seed": seed, "generation": 0, "params": {**program.params, **(params or {})}}
    return {
        "agent.py": (PROGRAMS_DIR / program.file).read_bytes(),
        "config.json": json.dumps(config, indent=2).encode(),
    }
