from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evolution.arms import ARMS, DEFAULT_ARMS
from evolution.embedded import DEFAULT_JUDGE, DEFAULT_TARGET
from evolution.experiment import (
    DEFAULT_CPU_MILLICORES,
    DEFAULT_EXPERIMENT_PROGRAM,
    DEFAULT_MEMORY_MB,
    DEFAULT_TICKS,
    ExperimentConfig,
    parse_seeds,
    run_experiment,
)
from evolution.management.options import add_economy_options
from evolution.programs import PROGRAMS, program_names


class Command(BaseCommand):
    help = (
        "Run arms x seeds of the embedded economy (each run its own process and SQLite file, several at once) and "
        "write DIR/ticks.csv, DIR/summary.json and DIR/scores.png."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--arms", default=",".join(DEFAULT_ARMS), help=f"Comma-separated: {', '.join(ARMS)}.")
        parser.add_argument("--seeds", default="5", help="5 means 1-5; or 2-5; or 1,4,9.")
        parser.add_argument("--ticks", type=int, default=DEFAULT_TICKS, help="Ticks per run.")
        parser.add_argument("--out", default="var/experiment", help="Output directory (runs/ holds each run's files).")
        parser.add_argument("--jobs", type=int, default=None, help="Runs at once (default: the machine's cores).")
        parser.add_argument("--judge", default=DEFAULT_JUDGE, help="module:function scoring artifacts.")
        parser.add_argument("--target", default=DEFAULT_TARGET, help="The phrase the target judge rewards.")
        add_economy_options(
            parser,
            program=DEFAULT_EXPERIMENT_PROGRAM,
            cpu_millicores=DEFAULT_CPU_MILLICORES,
            memory_mb=DEFAULT_MEMORY_MB,
        )
        parser.add_argument("--quiet", action="store_true", help="No progress bars.")

    def handle(self, *args, **options) -> None:
        arms = [arm.strip() for arm in options["arms"].split(",") if arm.strip()]
        unknown = [arm for arm in arms if arm not in ARMS]
        if not arms or unknown or len(set(arms)) != len(arms):
            raise CommandError(f"--arms: distinct names among {', '.join(ARMS)}; got {options['arms']!r}.")
        if options["program"] not in PROGRAMS:
            raise CommandError(f"--program: one of {', '.join(program_names())}; got {options['program']!r}.")
        if options["ticks"] < 1:
            raise CommandError("--ticks must be at least 1.")
        try:
            seeds = parse_seeds(options["seeds"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        extra = {"jobs": options["jobs"]} if options["jobs"] else {}
        config = ExperimentConfig(
            arms=arms,
            seeds=seeds,
            ticks=options["ticks"],
            program=options["program"],
            out=Path(options["out"]),
            judge=options["judge"],
            target=options["target"],
            attention_per_tick=options["attention_per_tick"],
            attention_slots=options["attention_slots"],
            cpu_millicores=options["cpu_millicores"],
            memory_mb=options["memory_mb"],
            quiet=options["quiet"],
            **extra,
        )
        try:
            summary = run_experiment(config)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        for arm, figures in summary["arms"].items():
            self.stdout.write(
                f"{arm:>10}: final best per seed {figures['final_best']}, mean {figures['mean_final_best']}, "
                f"mean selection differential {figures['mean_selection_differential']}"
            )
        if "comparison" in summary:
            comparison = summary["comparison"]
            self.stdout.write(
                f"rewarded beats shuffled in {comparison['rewarded_beats_shuffled_in_seeds']} of {len(seeds)} seeds; "
                f"mean final best differs by {comparison['mean_final_best_difference']}"
            )
        runs = summary["runs"]
        self.stdout.write(f"wall time {runs['wall_seconds']} s; exact: {'yes' if runs['exact'] else 'no'}")
        self.stdout.write(f"wrote {config.out}/ticks.csv, summary.json, scores.png")
