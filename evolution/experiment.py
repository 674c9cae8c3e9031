"""Experiments: arms x seeds of the embedded economy, each run its own process, SQLite file, API port and worker
(``manage.py experiment``). The runs are ``manage.py run_economy`` processes; this module starts them (as many at
once as ``jobs``), shows a progress bar per run, and merges what they wrote into ``ticks.csv``, ``summary.json``
and ``scores.png``.

``ticks.csv`` is built only from what the runs decided (seeded: two experiments with the same arguments write the
same file); ``summary.json`` adds the wall time and the settings.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings

from evolution.embedded import DEFAULT_JUDGE, DEFAULT_TARGET, EMBEDDED_ATTENTION_SLOTS
from evolution.history import write_ticks_csv
from evolution.programs import DEFAULT_PROGRAM, PROGRAMS
from evolution.services import SELECTION_WINDOW

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXPERIMENT_PROGRAM = "evolver" if "evolver" in PROGRAMS else DEFAULT_PROGRAM
DEFAULT_TICKS = 60
# The capacity each run offers its market, fixed so that results do not depend on the machine's cores.
DEFAULT_CPU_MILLICORES = 2000
DEFAULT_MEMORY_MB = 2048
REACHED_SCORES = range(1, 11)
# Settings that shape the economy, recorded with every experiment (any setting with these prefixes).
ECONOMY_SETTING_PREFIXES = ("MARKET_", "ATTENTION_", "REWARD_", "UPKEEP", "SPAWN_", "POPULATION_", "GENESIS_")


def parse_seeds(text: str) -> list[int]:
    """``"3"`` → 1..3; ``"2-5"`` → 2..5; ``"1,4,9"`` → those."""
    text = text.strip()
    try:
        if "," in text:
            seeds = [int(part) for part in text.split(",") if part.strip()]
        elif "-" in text:
            low, high = (int(part) for part in text.split("-", 1))
            seeds = list(range(low, high + 1))
        else:
            seeds = list(range(1, int(text) + 1))
    except ValueError as exc:
        raise ValueError(f"Seeds look like 5 (1-5), 2-5 or 1,4,9; got {text!r}.") from exc
    if not seeds or len(set(seeds)) != len(seeds) or any(seed < 0 for seed in seeds):
        raise ValueError(f"Seeds must be distinct non-negative integers; got {text!r}.")
    return seeds


@dataclass(frozen=True)
class ExperimentConfig:
    arms: list[str]
    seeds: list[int]
    ticks: int = DEFAULT_TICKS
    program: str = DEFAULT_EXPERIMENT_PROGRAM
    out: Path = Path("var/experiment")
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    judge: str = DEFAULT_JUDGE
    target: str = DEFAULT_TARGET
    attention_per_tick: int = 1
    attention_slots: int = EMBEDDED_ATTENTION_SLOTS
    cpu_millicores: int = DEFAULT_CPU_MILLICORES
    memory_mb: int = DEFAULT_MEMORY_MB
    quiet: bool = False

    @property
    def final_window(self) -> int:
        """The last ticks whose judged scores make a run's final best."""
        return max(1, min(10, self.ticks // 5))


@dataclass
class RunResult:
    arm: str
    seed: int
    returncode: int
    rows: list[dict]
    exact: bool
    warnings: list[str]
    log: Path
    seconds: float = 0.0  # the run's wall time (never part of ticks.csv)


def _run_paths(config: ExperimentConfig, arm: str, seed: int) -> dict[str, Path]:
    base = config.out.resolve() / "runs" / f"{arm}-seed{seed}"
    return {suffix: base.with_suffix(f".{suffix}") for suffix in ("sqlite3", "csv", "json", "log")}


def run_one(config: ExperimentConfig, arm: str, seed: int, bar) -> RunResult:
    """One run in its own process on its own SQLite file (made afresh)."""
    paths = _run_paths(config, arm, seed)
    paths["sqlite3"].parent.mkdir(parents=True, exist_ok=True)
    for path in paths.values():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    command = [
        sys.executable, str(ROOT / "manage.py"), "run_economy", "--quiet", "--progress",
        "--ticks", str(config.ticks), "--seed", str(seed), "--arm", arm, "--program", config.program,
        "--judge", config.judge, "--target", config.target, "--attention-per-tick", str(config.attention_per_tick),
        "--attention-slots", str(config.attention_slots),
        "--cpu-millicores", str(config.cpu_millicores), "--memory-mb", str(config.memory_mb),
        "--ticks-csv", str(paths["csv"]), "--history", str(paths["json"]),
    ]  # fmt: skip
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{paths['sqlite3']}"}
    started = time.monotonic()
    with open(paths["log"], "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        for line in process.stderr:
            if line.startswith("progress "):
                bar.update(int(line.split()[1]) - bar.n)
            else:
                log.write(line)
        returncode = process.wait()
    seconds = time.monotonic() - started
    rows: list[dict] = []
    if paths["csv"].exists():
        with open(paths["csv"], newline="") as handle:
            rows = list(csv.DictReader(handle))
    exact, warnings = False, ["the run wrote no history"]
    if paths["json"].exists():
        document = json.loads(paths["json"].read_text())
        exact, warnings = document["exact"], document["warnings"]
    return RunResult(arm, seed, returncode, rows, exact, warnings, paths["log"], seconds)


def run_experiment(config: ExperimentConfig) -> dict:
    """Run every arm and seed (``jobs`` at a time), then write ticks.csv, summary.json and scores.png under ``out``."""
    from tqdm import tqdm

    config.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    runs = [(arm, seed) for arm in config.arms for seed in config.seeds]
    lock = threading.Lock()
    tqdm.set_lock(lock)
    bars = [
        tqdm(total=config.ticks, desc=f"{arm} seed {seed}", position=index, disable=config.quiet, file=sys.stderr)
        for index, (arm, seed) in enumerate(runs)
    ]
    try:
        with ThreadPoolExecutor(max_workers=max(1, config.jobs)) as pool:
            results = list(pool.map(lambda job: run_one(config, job[1][0], job[1][1], bars[job[0]]), enumerate(runs)))
    finally:
        for bar in bars:
            bar.close()
    wall = time.monotonic() - started
    failed = [r for r in results if r.returncode != 0]
    rows = [row for result in results for row in result.rows]
    write_ticks_csv(config.out / "ticks.csv", rows)
    summary = summarize(config, rows, results=results, wall_seconds=wall)
    (config.out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    plot_scores(config, rows, config.out / "scores.png")
    if failed:
        raise RuntimeError(
            "runs failed: " + ", ".join(f"{r.arm} seed {r.seed} (exit {r.returncode}, log {r.log})" for r in failed)
        )
    return summary


def _number(value: str) -> float | None:
    return float(value) if value not in ("", None) else None


def summarize(config: ExperimentConfig, rows: list[dict], *, results: list[RunResult], wall_seconds: float) -> dict:
    """Per arm: the final best per seed (the best score judged in the last ``final_window`` ticks, 0 when none was),
    their mean, the mean selection differential over all ticks and seeds, and which seeds ever reached each score."""
    arms: dict[str, dict] = {}
    first_final = config.ticks - config.final_window + 1
    for arm in config.arms:
        final_best, differentials, reached = [], [], {str(score): [] for score in REACHED_SCORES}
        for seed in config.seeds:
            mine = [r for r in rows if r["arm"] == arm and int(r["seed"]) == seed]
            final = [_number(r["best_score"]) for r in mine if int(r["tick"]) >= first_final]
            final_best.append(int(max((s for s in final if s is not None), default=0)))
            differentials += [float(r["selection_differential"]) for r in mine]
            best_ever = max((_number(r["best_score"]) or 0 for r in mine), default=0)
            for score in REACHED_SCORES:
                if best_ever >= score:
                    reached[str(score)].append(seed)
        arms[arm] = {
            "final_best": final_best,
            "mean_final_best": round(statistics.fmean(final_best), 4) if final_best else 0.0,
            "mean_selection_differential": round(statistics.fmean(differentials), 6) if differentials else 0.0,
            "reached": reached,
        }
    summary: dict = {"arms": arms}
    if "rewarded" in arms and "shuffled" in arms:
        rewarded, shuffled = arms["rewarded"]["final_best"], arms["shuffled"]["final_best"]
        summary["comparison"] = {
            "rewarded_beats_shuffled_in_seeds": sum(r > s for r, s in zip(rewarded, shuffled, strict=True)),
            "mean_final_best_difference": round(
                arms["rewarded"]["mean_final_best"] - arms["shuffled"]["mean_final_best"], 4
            ),
        }
    summary["settings"] = {
        **{k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items() if k not in ("quiet", "jobs")},
        "final_window": config.final_window,
        "selection_window": SELECTION_WINDOW,
        "selection_differential": "covariance of children born and mean judged score, over the agents whose work "
        "from the window's ticks was judged",
        "economy": {
            name: getattr(settings, name)
            for name in sorted(dir(settings))
            if name.startswith(ECONOMY_SETTING_PREFIXES) and isinstance(getattr(settings, name), int | float | str)
        },
    }
    summary["runs"] = {
        "wall_seconds": round(wall_seconds, 1),
        "seconds_per_run": {f"{r.arm}-seed{r.seed}": round(r.seconds, 1) for r in results},
        "jobs": config.jobs,
        "exact": all(r.exact for r in results),
        "warnings": {f"{r.arm}-seed{r.seed}": r.warnings for r in results if r.warnings},
    }
    return summary


def plot_scores(config: ExperimentConfig, rows: list[dict], path: Path) -> None:
    """Best and mean judged score per arm over ticks: the median across seeds, with the band between the lowest and
    highest seed. A tick where nothing was judged carries the run's previous value forward."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ticks = list(range(1, config.ticks + 1))
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for column, axis in zip(("best_score", "mean_score"), axes, strict=True):
        for arm in config.arms:
            series = []
            for seed in config.seeds:
                by_tick = {
                    int(r["tick"]): _number(r[column]) for r in rows if r["arm"] == arm and int(r["seed"]) == seed
                }
                values, last = [], 0.0
                for tick in ticks:
                    value = by_tick.get(tick)
                    last = value if value is not None else last
                    values.append(last)
                series.append(values)
            if not series:
                continue
            median = [statistics.median(values) for values in zip(*series, strict=True)]
            low = [min(values) for values in zip(*series, strict=True)]
            high = [max(values) for values in zip(*series, strict=True)]
            (line,) = axis.plot(ticks, median, label=f"{arm} (median of {len(series)} seeds)")
            axis.fill_between(ticks, low, high, alpha=0.2, color=line.get_color())
        axis.set_title(f"{column.replace('_', ' ')} judged per tick")
        axis.set_xlabel("tick")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("score (0-10)")
    axes[0].legend(loc="upper left")
    figure.suptitle(f"{config.program}, {len(config.seeds)} seeds, target {config.target!r}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
