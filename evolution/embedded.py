"""The embedded economy: one process drives the same tick services in a loop on the default database (SQLite),
serves the API on loopback for the agents' containers, and runs executions through the same sandbox worker code
that Celery workers use (``sandbox.worker.run_execution``, over HTTP with a worker token)."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import close_old_connections
from django.db.models import Avg, Count, Max

from attention import services as attention
from attention.models import AttentionState, HumanReward
from attention.rewards import PAY_AUTHOR, RewardPolicy
from economy.models import Agent
from economy.selectors import ledger_violations
from evolution import services as life
from evolution.models import PopulationStats
from market import services as market
from market.models import MarketState
from sandbox import services as sandbox
from sandbox.docker_runner import reap_containers
from sandbox.models import Execution
from sandbox.worker import WorkerConfig, prepare_runtime_image, run_execution


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _ThreadingServer(ThreadedWSGIServer):
    """Django's threaded WSGI server: every request runs in its own thread, whose database connections are closed
    when the request ends (a thread's connection would otherwise outlive it)."""


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


# Artifacts judged per tick: each attention tick sells this many slots, more than the executions a tick runs on one
# machine, so every run that bids the reserve is judged (the scripted judge is a function, so judging is cheap): a
# newborn is evaluated in its first tick, and compute, not attention, decides who is seen.
EMBEDDED_ATTENTION_SLOTS = 8


class EmbeddedEconomy:
    def __init__(
        self,
        *,
        port: int = 0,
        parallel: int = 2,
        attention_per_tick: int = 1,
        attention_slots: int | None = None,
        rewards: RewardPolicy = PAY_AUTHOR,
    ) -> None:
        self.port = port
        self.parallel = parallel
        self.attention_per_tick = attention_per_tick
        self.attention_slots = EMBEDDED_ATTENTION_SLOTS if attention_slots is None else attention_slots
        self.rewards = rewards
        self.server: WSGIServer | None = None
        self.config: WorkerConfig | None = None
        self.docker = None
        self.reports: list[TickReport] = []

    # --- life cycle --------------------------------------------------------------------------------------------

    def start(self) -> None:
        import docker

        self.docker = docker.from_env()
        prepare_runtime_image(self.docker)
        self.server = make_server("127.0.0.1", self.port, WSGIHandler(), _ThreadingServer, _QuietHandler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, name="bp-api", daemon=True).start()
        name = f"embedded-{os.getpid()}-{int(time.time())}"
        _, raw = sandbox.issue_worker_token(name=name)
        self.config = WorkerConfig(
            api_url=f"http://127.0.0.1:{self.port}",
            token=raw,
            name=name,
            cpu_millicores=settings.BP_WORKER_CPU_MILLICORES,
            memory_mb=settings.BP_WORKER_MEMORY_MB,
            staging_dir=settings.SANDBOX_STAGING_DIR,
        )
        market.report_worker_capacity(
            name=name, cpu_millicores=self.config.cpu_millicores, memory_mb=self.config.memory_mb
        )

    def stop(self) -> list[str]:
        removed: list[str] = []
        if self.docker is not None and self.config is not None:
            removed = reap_containers(self.docker, worker_name=self.config.name, deployment=self.config.deployment_id)
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        return removed

    # --- one tick ----------------------------------------------------------------------------------------------

    def run_tick(self) -> TickReport:
        tick = market.run_market_tick()
        queued = list(
            Execution.objects.filter(bid__tick_number=tick.number, status=Execution.Status.QUEUED).values_list(
                "id", flat=True
            )
        )
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            list(
                pool.map(
                    lambda execution_id: run_execution(execution_id, config=self.config, client=self.docker), queued
                )
            )
        close_old_connections()
        outcomes = Counter(Execution.objects.filter(bid__tick_number=tick.number).values_list("status", flat=True))
        scored: list[int] = []
        for _ in range(self.attention_per_tick):
            attention.run_attention_tick(slots=self.attention_slots)
            scored += attention.run_scripted_judge(rewards=self.rewards)
        stats = life.run_life_tick(tick=tick.number) or PopulationStats.objects.get(tick=tick.number)
        problems = ledger_violations()
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
            scored=list(HumanReward.objects.filter(id__in=scored).values_list("score", flat=True)),
        )
        self.reports.append(report)
        return report

    def _run_one(self, execution_id: int) -> str:
        return run_execution(execution_id, config=self.config, client=self.docker)

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

    def summary(self) -> str:
        outcomes = sum((r.outcomes for r in self.reports), Counter())
        lines = [
            f"ticks: {len(self.reports)}; births: {sum(r.births for r in self.reports)}; "
            f"deaths: {sum(r.deaths for r in self.reports)}; max generation: "
            f"{Agent.objects.aggregate(m=Max('generation'))['m'] or 0}; alive at the end: "
            f"{Agent.objects.filter(status=Agent.Status.ALIVE).count()}",
            "executions: " + (", ".join(f"{k.lower()} {v}" for k, v in sorted(outcomes.items())) or "none"),
            "judged scores by generation (mean / best / count):",
        ]
        for row in score_by_generation():
            lines.append(f"  generation {row['generation']:>2}: {row['mean']:5.2f} / {row['best']:>2} / {row['count']}")
        return "\n".join(lines)


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
