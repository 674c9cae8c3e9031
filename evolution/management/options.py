"""Command-line options ``run_economy`` and ``experiment`` share (the same names, meanings and checks)."""

from __future__ import annotations

from evolution.embedded import EMBEDDED_ATTENTION_SLOTS
from evolution.programs import program_names


def add_economy_options(parser, *, program: str, cpu_millicores: int | None, memory_mb: int | None) -> None:
    """--program, --attention-per-tick, --attention-slots, --cpu-millicores and --memory-mb, with these defaults."""
    parser.add_argument("--program", default=program, help=f"The genesis program: {', '.join(program_names())}.")
    parser.add_argument("--attention-per-tick", type=int, default=1, help="Attention ticks per market tick.")
    parser.add_argument(
        "--attention-slots", type=int, default=EMBEDDED_ATTENTION_SLOTS, help="Artifacts judged per attention tick."
    )
    parser.add_argument(
        "--cpu-millicores", type=int, default=cpu_millicores, help="CPU offered to the market per tick."
    )
    parser.add_argument("--memory-mb", type=int, default=memory_mb, help="Memory offered to the market per tick.")
