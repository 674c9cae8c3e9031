"""Exact replay at experiment scale: two runs of ``manage.py experiment --arms rewarded --seeds 1 --ticks 20``,
side by side (so each sees the other's load), must write identical ``ticks.csv`` files.

    .venv/bin/python bench/replay.py [--ticks 20] [--program learner]

Prints each run's wall time and whether the files are identical; exits 1 when they differ. (The byte-for-byte
history test in ``make test`` covers a 5-tick economy; this one is longer, so it lives in ``make bench``.)
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--program", default=None, help="Default: the experiment's default program.")
    args = parser.parse_args()
    outs = [ROOT / "var" / f"replay-{name}" for name in ("a", "b")]
    started = time.monotonic()
    processes = []
    for out in outs:
        command = [sys.executable, str(ROOT / "manage.py"), "experiment", "--arms", "rewarded", "--seeds", "1"]
        command += ["--ticks", str(args.ticks), "--out", str(out), "--quiet", "--jobs", "1"]
        if args.program:
            command += ["--program", args.program]
        processes.append((out, time.monotonic(), subprocess.Popen(command, cwd=ROOT, env=os.environ.copy())))
    failed = False
    for out, begun, process in processes:
        code = process.wait()
        print(f"{out.name}: exit {code}, {time.monotonic() - begun:.0f} s")
        failed |= code != 0
    same = not failed and filecmp.cmp(outs[0] / "ticks.csv", outs[1] / "ticks.csv", shallow=False)
    print(f"both runs side by side: {time.monotonic() - started:.0f} s")
    print(f"ticks.csv identical: {'yes' if same else 'NO'}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
