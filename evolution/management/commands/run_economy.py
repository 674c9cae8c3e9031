import signal

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from economy.models import Agent
from evolution.embedded import EMBEDDED_ATTENTION_SLOTS, EmbeddedEconomy
from evolution.programs import DEFAULT_PROGRAM, program_names
from evolution.services import create_genesis_agent, genesis_files

DEFAULT_JUDGE = "attention.judges:target_judge"
DEFAULT_TARGET = "METHINKS IT IS LIKE A WEASEL"


class Command(BaseCommand):
    help = (
        "Run the whole economy in this process (the embedded default): the API on loopback for the agents' "
        "containers, market, attention and life ticks in a loop, executions in Docker, the scripted judge."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--ticks", type=int, default=30, help="Stop after this many ticks (0: until Ctrl-C).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the genesis program (reproducible runs).")
        parser.add_argument("--port", type=int, default=0, help="API port on 127.0.0.1 (0: any free port).")
        parser.add_argument("--parallel", type=int, default=2, help="Executions run at once.")
        parser.add_argument("--attention-per-tick", type=int, default=1, help="Attention ticks per market tick.")
        parser.add_argument(
            "--attention-slots", type=int, default=EMBEDDED_ATTENTION_SLOTS, help="Artifacts judged per attention tick."
        )
        parser.add_argument(
            "--program", default=DEFAULT_PROGRAM, choices=program_names(), help="The genesis agent's program."
        )
        parser.add_argument(
            "--judge",
            default=None,
            help=f"module:function scoring artifacts (default: ATTENTION_JUDGE, else {DEFAULT_JUDGE}); "
            "'human' leaves the queue to judges in the admin.",
        )
        parser.add_argument("--no-genesis", action="store_true", help="Do not create a genesis agent when none lives.")

    def handle(self, *args, ticks: int, seed: int, port: int, parallel: int, attention_per_tick: int,
               attention_slots: int, program: str, judge: str | None, no_genesis: bool, **options) -> None:  # fmt: skip
        call_command("migrate", verbosity=0, interactive=False)
        # This process runs the executions itself; nothing is sent to Celery.
        settings.SANDBOX_DISPATCH = "embedded"
        judge = judge or settings.ATTENTION_JUDGE or DEFAULT_JUDGE
        settings.ATTENTION_JUDGE = "" if judge == "human" else judge
        if not settings.ATTENTION_JUDGE_TARGET:
            settings.ATTENTION_JUDGE_TARGET = DEFAULT_TARGET
        if not no_genesis and not Agent.objects.filter(status=Agent.Status.ALIVE).exists():
            agent = create_genesis_agent(seed=seed, files=genesis_files(seed=seed, program=program))
            self.stdout.write(f"genesis agent {agent.id} created (program {program}, seed {seed})")
        economy = EmbeddedEconomy(
            port=port, parallel=parallel, attention_per_tick=attention_per_tick, attention_slots=attention_slots
        )
        stopping = {"now": False}

        def on_interrupt(signum, frame) -> None:
            if stopping["now"]:
                raise KeyboardInterrupt
            stopping["now"] = True
            self.stdout.write("stopping after this tick (Ctrl-C again to stop at once)")

        previous = signal.signal(signal.SIGINT, on_interrupt)
        try:
            economy.start()
            self.stdout.write(f"API on http://127.0.0.1:{economy.port}; judge: {settings.ATTENTION_JUDGE or 'human'}")
            self.stdout.write(economy.HEADER)
            done = 0
            while not stopping["now"] and (ticks == 0 or done < ticks):
                self.stdout.write(economy.row(economy.run_tick()))
                done += 1
                if not Agent.objects.filter(status=Agent.Status.ALIVE).exists():
                    self.stdout.write("the population died out")
                    break
        except KeyboardInterrupt:
            self.stdout.write("interrupted")
        finally:
            signal.signal(signal.SIGINT, previous)
            removed = economy.stop()
            if removed:
                self.stdout.write(f"removed leftover containers of executions {removed}")
        self.stdout.write(economy.summary())
