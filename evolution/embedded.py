"""The embedded economy: one process drives the same tick services in a loop on the default database (SQLite),
serves the API on loopback for the agents' containers, and runs executions through the same sandbox worker code
that Celery workers use (``sandbox.worker.run_execution``, over HTTP with a worker token)."""

from __future__ import annotations

import functools
import inspect
import logging
import os
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import close_old_connections
from django.db.models import Avg, Count, Max, Q

from attention import services as attention
from attention.models import AttentionState, HumanReward
from attention.services import load_scorer
from economy.determinism import TieBreak, set_economy_seed
from economy.models import Agent
from economy.selectors import ledger_violations
from evolution import services as life
from evolution.arms import ARMS, Arm
from evolution.models import PopulationStats
from evolution.programs import DEFAULT_PROGRAM, program_files
from evolution.services import create_genesis_agent
from market import services as market
from market.models import MarketState, ResourceType
from sandbox import services as sandbox
from sandbox.docker_runner import Stopwatch, reap_containers
from sandbox.models import Execution
from sandbox.worker import WorkerConfig, close_pools, prepare_runtime_image, run_execution, start_pool

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _ThreadingServer(ThreadedWSGIServer):
    """Django's threaded WSGI server: every request runs in its own thread, whose database connections are closed
    when the request ends (a thread's connection would otherwise outlive it)."""


DEFAULT_JUDGE = "attention.judges:target_judge"
# Dawkins' WEASEL: six letters, so one more matched letter moves the judge's score by 1-2 points (with the 28 letters
# of "METHINKS IT IS LIKE A WEASEL" a letter is worth ~0.36 of a point and most improvements round away).
DEFAULT_TARGET = "WEASEL"
INEXACT_STATUSES = (Execution.Status.TIMED_OUT, Execution.Status.LOST)

# Artifacts judged per tick: each attention tick sells this many slots, more than the executions a tick runs on one
# machine (8 evolver bundles on 2 cores), so every run that bids the reserve is judged (the scripted judge is a
# function, so judging is cheap) and the reserve stays at its floor: a newborn is evaluated in its first tick, and
# compute, not attention, decides who is seen.
EMBEDDED_ATTENTION_SLOTS = 16


@dataclass(frozen=True)
class EconomyConfig:
    """Everything an embedded economy is run with, passed explicitly (no setting is changed at run time).

    ``seed`` is stored as the economy's seed (every seeded draw derives from it); ``judge`` is a ``module:function``
    scorer (``"human"``: the queue is left to people) and ``target`` the phrase a scorer taking ``target`` is given;
    ``arm`` decides who is paid for a score (see ``evolution.arms``); ``attention_slots`` is how many artifacts
    each of the ``attention_per_tick`` attention ticks sells; ``parallel`` > 1 runs a tick's executions
    concurrently (faster, but then the run is not exact: their effects depend on timing); ``cpu_millicores`` and
    ``memory_mb`` are the capacity offered to the market (default: this host's, from the settings; fix them to
    compare runs across machines)."""

    seed: int = 0
    program: str = DEFAULT_PROGRAM
    program_params: dict = field(default_factory=dict)
    judge: str = DEFAULT_JUDGE
    target: str = DEFAULT_TARGET
    arm: Arm = ARMS["rewarded"]
    attention_per_tick: int = 1
    attention_slots: int = EMBEDDED_ATTENTION_SLOTS
    parallel: int = 1
    cpu_millicores: int | None = None
    memory_mb: int | None = None
    port: int = 0

    def scorer(self) -> Callable[[str], int] | None:
        """The scoring function (None for human judges), given ``target`` when it takes one."""
        if self.judge == "human":
            return None
        scorer = load_scorer(self.judge)
        try:
            takes_target = "target" in inspect.signature(scorer).parameters
        except (TypeError, ValueError):
            takes_target = False
        return functools.partial(scorer, target=self.target) if takes_target else scorer

    def genesis_files(self) -> dict[str, bytes]:
        """The genesis workspace. Its random first phrase is as long as the target (the judge compares texts of
        about the target's length; both programs only substitute letters, so the length is set at genesis)."""
        params = {"phrase_length": len(self.target), **self.program_params, **self.arm.program_params}
        return program_files(self.program, seed=self.seed, params=params)


@dataclass
class TickReport:
    tick: int
    alive: int
    births: int
    deaths: int
    max_generation: int
    cpu_price: int
    memory_price: int
    attention_price: int
    outcomes: Counter
    credits: int
    gini: float
    scored: list[int] = field(default_factory=list)
    minted: int = 0
    burned: int = 0
    selection_differential: float = 0.0
    diversity: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase (never part of the history)


class EmbeddedEconomy:
    def __init__(self, config: EconomyConfig | None = None) -> None:
        self.config = config or EconomyConfig()
        self.port = self.config.port
        self.server: WSGIServer | None = None
        self.worker: WorkerConfig | None = None
        self.docker = None
        self.reports: list[TickReport] = []
        self._scorer = self.config.scorer()

    @property
    def exact(self) -> bool:
        """False once anything timing-dependent happened (concurrent executions, a timeout, a lost execution)."""
        return self.config.parallel <= 1 and not any(report.warnings for report in self.reports)

    @property
    def warnings(self) -> list[str]:
        notes = ["executions ran concurrently (--parallel > 1)"] if self.config.parallel > 1 else []
        return notes + [warning for report in self.reports for warning in report.warnings]

    # --- life cycle --------------------------------------------------------------------------------------------

    def seed_economy(self) -> None:
        """Record the economy's seed (before the first tick: every seeded draw derives from it)."""
        set_economy_seed(self.config.seed)

    def create_genesis(self) -> Agent:
        self.seed_economy()
        return create_genesis_agent(seed=self.config.seed, files=self.config.genesis_files())

    def start(self) -> None:
        import docker

        self.docker = docker.from_env()
        prepare_runtime_image(self.docker)
        self.server = make_server("127.0.0.1", self.port, WSGIHandler(), _ThreadingServer, _QuietHandler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, name="bp-api", daemon=True).start()
        name = f"embedded-{os.getpid()}-{secrets.token_hex(3)}"  # labels containers; never enters the history
        _, raw = sandbox.issue_worker_token(name=name)
        self.worker = WorkerConfig(
            api_url=f"http://127.0.0.1:{self.port}",
            token=raw,
            name=name,
            cpu_millicores=self.config.cpu_millicores or settings.BP_WORKER_CPU_MILLICORES,
            memory_mb=self.config.memory_mb or settings.BP_WORKER_MEMORY_MB,
            staging_dir=settings.SANDBOX_STAGING_DIR,
            pool_size=settings.SANDBOX_POOL_SIZE,
        )
        start_pool(
            self.worker,
            self.docker,
            workspace_max_bytes=settings.SANDBOX_WORKSPACE_MAX_BYTES,
            log_cap=settings.SANDBOX_LOG_CAP,
        )

    def stop(self) -> list[str]:
        removed: list[str] = []
        close_pools()
        if self.docker is not None and self.worker is not None:
            removed = reap_containers(self.docker, worker_name=self.worker.name, deployment=self.worker.deployment_id)
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        return removed

    # --- one tick ----------------------------------------------------------------------------------------------

    def run_tick(self) -> TickReport:
        # The supply is this economy's own capacity, given explicitly: it never depends on heartbeats and clocks.
        supply = {ResourceType.CPU: self.worker.cpu_millicores, ResourceType.MEMORY: self.worker.memory_mb}
        clock = Stopwatch()
        tick = market.run_market_tick(enqueue=False, supply=supply)
        clock.lap("market")
        queued = canonical_order(
            tick.number,
            Execution.objects.filter(bid__tick_number=tick.number, status=Execution.Status.QUEUED).values_list(
                "id", flat=True
            ),
        )
        if self.config.parallel > 1:
            with ThreadPoolExecutor(max_workers=self.config.parallel) as pool:
                list(pool.map(self._run_one, queued))
        else:
            # One after the other in the tick's seeded order: what one program does (pay, message, spawn) is seen
            # by the next in the same order on every run.
            for execution_id in queued:
                self._run_one(execution_id)
        close_old_connections()
        clock.lap("executions")
        executions = Execution.objects.filter(bid__tick_number=tick.number)
        outcomes = Counter(executions.values_list("status", flat=True))
        warnings = [
            f"tick {tick.number}: execution {execution_id} {status.lower()} ({error[:80] or 'no error'}): its outcome"
            " may depend on the machine's load, so this run is not guaranteed to replay exactly"
            for execution_id, status, error in executions.filter(
                Q(status__in=INEXACT_STATUSES) | Q(error__startswith="sandbox error") | Q(attempts__gt=1)
            )
            .order_by("id")
            .values_list("id", "status", "error")
        ]
        for warning in warnings:
            log.warning(warning)
        scored: list[int] = []
        for _ in range(self.config.attention_per_tick):
            attention.run_attention_tick(slots=self.config.attention_slots)
            if self._scorer is not None:
                scored += attention.run_scripted_judge(
                    scorer=self._scorer, name=self.config.judge, rewards=self.config.arm.rewards
                )
        clock.lap("attention")
        stats = life.run_life_tick(tick=tick.number) or PopulationStats.objects.get(tick=tick.number)
        clock.lap("life")
        problems = ledger_violations()
        clock.lap("ledger check")
        if problems:
            raise RuntimeError(f"ledger check failed after tick {tick.number}: {problems[0]}")
        prices = dict(MarketState.objects.values_list("resource__code", "price"))
        report = TickReport(
            tick=tick.number,
            alive=stats.alive,
            births=stats.births,
            deaths=stats.deaths,
            max_generation=stats.max_generation,
            cpu_price=prices["cpu"],
            memory_price=prices["memory"],
            attention_price=AttentionState.objects.values_list("price", flat=True).first() or 0,
            outcomes=outcomes,
            credits=stats.credits_in_circulation,
            gini=stats.gini,
            scored=list(HumanReward.objects.filter(id__in=scored).order_by("id").values_list("score", flat=True)),
            minted=stats.minted_in_tick,
            burned=stats.burned_in_tick,
            selection_differential=stats.selection_differential,
            diversity=stats.diversity,
            warnings=warnings,
            seconds=clock.laps,
        )
        self.reports.append(report)
        return report

    def _run_one(self, execution_id: int) -> str:
        return run_execution(execution_id, config=self.worker, client=self.docker)

    # --- output ------------------------------------------------------------------------------------------------

    HEADER = (
        f"{'tick':>5} {'alive':>5} {'born':>4} {'died':>4} {'gen':>3} {'cpu$':>6} {'mem$':>6} {'attn$':>5} "
        f"{'runs ok/other':>13} {'credits':>9} {'gini':>5} {'scores':<12}"
    )

    def row(self, r: TickReport) -> str:
        ok = r.outcomes.get(Execution.Status.SUCCEEDED, 0)
        other = sum(r.outcomes.values()) - ok
        scores = ",".join(map(str, r.scored)) or "-"
        return (
            f"{r.tick:>5} {r.alive:>5} {r.births:>4} {r.deaths:>4} {r.max_generation:>3} {r.cpu_price:>6} "
            f"{r.memory_price:>6} {r.attention_price:>5} {f'{ok}/{other}':>13} {r.credits:>9} {r.gini:>5.2f} "
            f"{scores:<12}"
        )

    def _phase_seconds(self) -> dict[str, float]:
        return _sum_phases(self.reports)

    def summary(self) -> str:
        outcomes = sum((r.outcomes for r in self.reports), Counter())
        lines = [
            f"ticks: {len(self.reports)}; births: {sum(r.births for r in self.reports)}; "
            f"deaths: {sum(r.deaths for r in self.reports)}; "
            f"max generation: {Agent.objects.aggregate(m=Max('generation'))['m'] or 0}; alive at the end: "
            f"{Agent.objects.filter(status=Agent.Status.ALIVE).count()}",
            f"minted: {sum(r.minted for r in self.reports)}; burned: {sum(r.burned for r in self.reports)}; "
            f"exact replay: {'yes' if self.exact else 'NO (' + '; '.join(self.warnings[:3]) + ')'}",
            "wall time: "
            + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self._phase_seconds().items())
            + f" (executions: {sum(sum(r.outcomes.values()) for r in self.reports)})",
            "executions: " + (", ".join(f"{k.lower()} {v}" for k, v in sorted(outcomes.items())) or "none"),
            "judged scores by generation (mean / best / count):",
        ]
        for row in score_by_generation():
            lines.append(f"  generation {row['generation']:>2}: {row['mean']:5.2f} / {row['best']:>2} / {row['count']}")
        return "\n".join(lines)


def _sum_phases(reports: list[TickReport]) -> dict[str, float]:
    total: dict[str, float] = {}
    for report in reports:
        for name, seconds in report.seconds.items():
            total[name] = total.get(name, 0.0) + seconds
    return total


def canonical_order(tick_number: int, execution_ids) -> list[int]:
    """A tick's executions in the order they run: a draw seeded by the economy's seed and the tick (not arrival)."""
    tie = TieBreak.for_tick("executions", tick_number)
    return sorted(execution_ids, key=lambda execution_id: (tie.key(execution_id), execution_id))


def score_by_generation() -> list[dict]:
    """Mean and best judged score of the artifacts of each generation."""
    rows = (
        HumanReward.objects.filter(score__isnull=False)
        .values("agent__generation")
        .annotate(mean=Avg("score"), best=Max("score"), count=Count("id"))
        .order_by("agent__generation")
    )
    return [
        {"generation": row["agent__generation"], "mean": row["mean"], "best": row["best"], "count": row["count"]}
        for row in rows
    ]
