"""What every benchmark shares: rows of the one table ``make bench`` prints, bench database names, ports."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit


@dataclass
class Row:
    """One line of the table: a figure, the baseline measured in the same run, their ratio and the target."""

    name: str
    figure: float
    baseline_name: str
    baseline: float
    unit: str
    target: str
    met: bool | None = None  # None: no target to meet (a figure shown for context)

    @property
    def ratio(self) -> float:
        return self.figure / self.baseline if self.baseline else float("nan")


def _fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value * 1000:.0f} ms"
    if unit == "s":
        return f"{value:.3f} s"
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.2f} {unit}"


def table(rows: list[Row]) -> str:
    header = ("figure", "value", "baseline (same run)", "baseline value", "ratio", "target", "")
    lines = [
        (
            r.name,
            _fmt(r.figure, r.unit),
            r.baseline_name,
            _fmt(r.baseline, r.unit),
            f"{r.ratio:.2f}",
            r.target,
            "" if r.met is None else ("met" if r.met else "NOT met"),
        )
        for r in rows
    ]
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(len(header))]
    out = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) + " |" for line in lines]
    return "\n".join(out)


def server() -> tuple[str, str, str, str]:
    """host, port, user and database name of DATABASE_URL (PostgreSQL)."""
    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bp"))
    if not url.scheme.startswith("postgres"):
        raise SystemExit("this benchmark needs DATABASE_URL=postgres://...")
    return url.hostname or "127.0.0.1", str(url.port or 5432), url.username or "postgres", url.path.lstrip("/") or "bp"


def bench_database(suffix: str) -> str:
    """A fresh database ``<DATABASE_URL's name>_<suffix>`` on the same server (so that two clones benchmarking on one
    server do not share one); returns its URL."""
    host, port, user, name = server()
    db = f"{name}_{suffix}"
    for sql in (f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", f"CREATE DATABASE {db}"):
        subprocess.run(["psql", "-q", "-h", host, "-p", port, "-U", user, "-d", "postgres", "-c", sql], check=True)
    return f"postgres://{user}@{host}:{port}/{db}"


def free_port() -> int:
    """``BENCH_PORT`` when set (shared machines hand out port ranges), else any free loopback port."""
    if os.environ.get("BENCH_PORT"):
        return int(os.environ["BENCH_PORT"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own local server
            return
        except urllib.error.HTTPError:
            return  # 4xx: the server answers
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server at {url} did not start")


def emit(rows: list[Row]) -> None:
    """Print the rows as a table; with ``BENCH_JSON=path`` also write them there (``bench/all.py`` collects them)."""
    print(table(rows), flush=True)
    path = os.environ.get("BENCH_JSON")
    if path:
        with open(path, "w") as fh:
            json.dump([asdict(r) for r in rows], fh)


def clients_bench_main(run: Callable[..., list[Row]], *, description: str, clients: int, seconds: float, rounds: int):
    """The command line of a benchmark of concurrent client processes (``--clients``, ``--seconds`` of the defaults'
    type, ``--rounds``): run it in forked processes and print its rows."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--clients", type=int, default=clients)
    parser.add_argument("--seconds", type=type(seconds), default=seconds)
    parser.add_argument("--rounds", type=int, default=rounds)
    args = parser.parse_args()
    mp.set_start_method("fork")
    emit(run(clients=args.clients, seconds=args.seconds, rounds=args.rounds))


def load(path: str) -> list[Row]:
    with open(path) as fh:
        return [Row(**r) for r in json.load(fh)]
