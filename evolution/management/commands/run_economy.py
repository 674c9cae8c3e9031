import signal
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from economy.determinism import economy_seed
from economy.models import Agent
from evolution.arms import ARMS, get_arm
from evolution.embedded import (
    DEFAULT_JUDGE,
    DEFAULT_TARGET,
    EconomyConfig,
    EmbeddedEconomy,
)
from evolution.history import export_history, tick_rows, write_ticks_csv
from evolution.management.options import add_economy_options
from evolution.programs import DEFAULT_PROGRAM, UnknownProgram, program_files


class Command(BaseCommand):
    help = (
        "Run the whole economy in this process (the embedded default): the API on loopback for the agents' "
        "containers, market, attention and life ticks in a loop, executions in Docker, the scripted judge."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--ticks", type=int, default=30, help="Stop after this many ticks (0: until Ctrl-C).")
        parser.add_argument("--seed", type=int, default=0, help="The economy's seed (a fresh economy replays exactly).")
        parser.add_argument("--port", type=int, default=0, help="API port on 127.0.0.1 (0: any free port).")
        parser.add_argument(
            "--parallel", type=int, default=1, help="Executions run at once (> 1 is faster but not exact)."
        )
        parser.add_argument(
            "--judge",
            default=None,
            help=f"module:function scoring artifacts (default: ATTENTION_JUDGE, else {DEFAULT_JUDGE}); "
            "'human' leaves the queue to judges in the admin.",
        )
        parser.add_argument(
            "--target", default=None, help=f"The phrase the target judge rewards (default: {DEFAULT_TARGET!r})."
        )
        add_economy_options(parser, program=DEFAULT_PROGRAM, cpu_millicores=None, memory_mb=None)
        parser.add_argument("--arm", default="rewarded", help=f"Who a score pays: {', '.join(sorted(ARMS))}.")
        parser.add_argument("--no-genesis", action="store_true", help="Do not create a genesis agent when none lives.")
        parser.add_argument("--history", default=None, help="Write the run's canonical history (JSON) here.")
        parser.add_argument("--ticks-csv", default=None, help="Write the per-tick statistics (CSV) here.")
        parser.add_argument("--quiet", action="store_true", help="No per-tick rows.")
        parser.add_argument("--progress", action="store_true", help="Print 'progress N' to stderr after each tick.")

    def handle(self, *args, **options) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        judge = options["judge"] or settings.ATTENTION_JUDGE or DEFAULT_JUDGE
        try:
            program_files(options["program"])
            config = EconomyConfig(
                seed=options["seed"],
                program=options["program"],
                judge=judge,
                target=options["target"] or settings.ATTENTION_JUDGE_TARGET or DEFAULT_TARGET,
                arm=get_arm(options["arm"]),
                attention_per_tick=options["attention_per_tick"],
                attention_slots=options["attention_slots"],
                parallel=options["parallel"],
                cpu_millicores=options["cpu_millicores"],
                memory_mb=options["memory_mb"],
                port=options["port"],
            )
        except (UnknownProgram, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        economy = EmbeddedEconomy(config)
        out = (lambda line: None) if options["quiet"] else self.stdout.write
        if not options["no_genesis"] and not Agent.objects.filter(status=Agent.Status.ALIVE).exists():
            agent = economy.create_genesis()
            out(f"genesis agent {agent.id} created ({config.program}, seed {config.seed}, arm {config.arm.name})")
        stopping = {"now": False}

        def on_interrupt(signum, frame) -> None:
            if stopping["now"]:
                raise KeyboardInterrupt
            stopping["now"] = True
            self.stdout.write("stopping after this tick (Ctrl-C again to stop at once)")

        ticks = options["ticks"]
        previous = signal.signal(signal.SIGINT, on_interrupt)
        try:
            economy.start()
            out(f"API on http://127.0.0.1:{economy.port}; judge: {judge}; economy seed {economy_seed()}")
            out(economy.HEADER)
            done = 0
            while not stopping["now"] and (ticks == 0 or done < ticks):
                report = economy.run_tick()
                out(economy.row(report))
                for warning in report.warnings:
                    self.stderr.write(f"warning: {warning}")
                done += 1
                if options["progress"]:
                    print(f"progress {done}", file=sys.stderr, flush=True)
                if not Agent.objects.filter(status=Agent.Status.ALIVE).exists() and not options["ticks_csv"]:
                    out("the population died out")
                    break
        except KeyboardInterrupt:
            self.stdout.write("interrupted")
        finally:
            signal.signal(signal.SIGINT, previous)
            removed = economy.stop()
            if removed:
                self.stdout.write(f"removed leftover containers of executions {removed}")
        if options["ticks_csv"]:
            write_ticks_csv(options["ticks_csv"], tick_rows(economy.reports, arm=config.arm.name, seed=config.seed))
        if options["history"]:
            export_history(options["history"], warnings=economy.warnings)
        if not economy.exact:
            self.stderr.write("warning: this run is not guaranteed to replay exactly: " + "; ".join(economy.warnings))
        out(economy.summary())
