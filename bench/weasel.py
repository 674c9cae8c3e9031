"""The weasel experiment: does the economy evolve better work, with nobody programming the outcome?

The scripted judge scores artifacts by closeness to a hidden target phrase (Dawkins' weasel); the genesis program
mutates the phrase it produces, keeps what the judges paid most for, and hands its best phrase to its children.
Judges' scores are minted into credits, credits buy compute, attention and children, upkeep kills the broke. A seeded
run prints the mean and best judged score by generation and by stretch of ticks: evolution shows as a rise.

    .venv/bin/python bench/weasel.py [--ticks 60] [--seed 1] [--target WEASEL]

It runs the embedded economy (SQLite in var/weasel.sqlite3, made afresh) with real Docker sandboxes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("BP_INSECURE_DEV_KEY", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", default="WEASEL")
    parser.add_argument("--mutation-rate", type=float, default=None, help="The genesis program's mutation rate.")
    parser.add_argument("--program", default="evolver", help="The genesis program (evolver or learner).")
    parser.add_argument("--database", default="var/weasel.sqlite3", help="SQLite file (made afresh).")
    args = parser.parse_args()

    database = ROOT / args.database
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{database.relative_to(ROOT)}"

    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Avg, Count, Max

    from attention.models import HumanReward
    from evolution.embedded import EconomyConfig, EmbeddedEconomy, score_by_generation

    call_command("migrate", verbosity=0)
    params = {"phrase_length": len(args.target)}
    if args.mutation_rate is not None or args.program == "learner":
        params["mutation_rate"] = args.mutation_rate or 0.0  # the learner's default here: no random jumps
    config = EconomyConfig(seed=args.seed, target=args.target, program=args.program, program_params=params)
    economy = EmbeddedEconomy(config)
    economy.create_genesis()
    economy.start()
    print(f"target {args.target!r}, program {args.program}, seed {args.seed}, {args.ticks} ticks")
    print(economy.HEADER)
    try:
        for _ in range(args.ticks):
            print(economy.row(economy.run_tick()), flush=True)
    finally:
        economy.stop()

    print("\njudged score by generation (the artifact's author):")
    print(f"{'generation':>10} {'mean':>6} {'best':>5} {'judged':>7}")
    for row in score_by_generation():
        print(f"{row['generation']:>10} {row['mean']:>6.2f} {row['best']:>5} {row['count']:>7}")
    print("\njudged score by stretch of ticks:")
    print(f"{'ticks':>10} {'mean':>6} {'best':>5} {'judged':>7}")
    stretch = max(1, args.ticks // 4)
    for start in range(1, args.ticks + 1, stretch):
        window = HumanReward.objects.filter(
            score__isnull=False, execution__bid__tick_number__gte=start, execution__bid__tick_number__lt=start + stretch
        ).aggregate(mean=Avg("score"), best=Max("score"), count=Count("id"))
        if window["count"]:
            label = f"{start}-{start + stretch - 1}"
            print(f"{label:>10} {window['mean']:>6.2f} {window['best']:>5} {window['count']:>7}")
    best = HumanReward.objects.filter(score__isnull=False).order_by("-score", "id").select_related("execution").first()
    if best:
        print(f"\nbest artifact: {best.execution.artifact!r} (score {best.score}, generation {best.agent.generation})")


if __name__ == "__main__":
    main()
