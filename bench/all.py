"""``make bench``: every benchmark, each in its own process on the same machine in one run, then ONE table — figure,
baseline measured in the same run, ratio, target. Prints the date and the machine the table was measured on.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bp .venv/bin/python bench/all.py [--quick] [--only ledger,api]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Row, load, table  # noqa: E402

BENCHES = {
    "ledger": ["bench/ledger.py"],
    "tick": ["bench/tick.py"],
    "execution": ["bench/execution.py"],
    "api": ["bench/api.py"],
}
QUICK = {
    "ledger": ["--seconds", "4", "--rounds", "1"],
    "tick": ["--sizes", "10000,100000"],
    "execution": ["--rounds", "5", "--batch", "12", "--batches", "1"],
    "api": ["--seconds", "3", "--rounds", "1"],
}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // (1024 * 1024)
    except (OSError, ValueError, IndexError):
        mem = 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    system = f"{platform.system()} {platform.release()}"
    return f"{platform.node()}: {os.cpu_count()} x {cpu}, {mem} GiB, {system}; load average {load:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (a smoke test of the benchmarks)")
    parser.add_argument("--only", default=",".join(BENCHES))
    args = parser.parse_args()
    started = dt.datetime.now(dt.UTC)
    rows: list[Row] = []
    failed: list[str] = []
    for name in args.only.split(","):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, *BENCHES[name], *(QUICK[name] if args.quick else [])]
            print(f"== {name}: {' '.join(command[1:])}", flush=True)
            done = subprocess.run(command, cwd=ROOT, env={**os.environ, "BENCH_JSON": out.name}, check=False)
            if done.returncode != 0:
                failed.append(name)
                continue
            rows += load(out.name)
    print()
    print(f"measured {started:%Y-%m-%d %H:%M} UTC on {machine()}")
    print(table(rows))
    if failed:
        sys.exit(f"benchmarks that failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
