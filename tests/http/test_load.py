"""A bounded loopback load test (issue 9, CI load): a few hundred simulated agents call balance, transfer, bids and
messages against the app under gunicorn for ``BP_LOAD_SECONDS`` (60) while market, attention and life ticks run.

Ticks run in a process of their own (``tests/http/ticker.py``) every ``TICK_SECONDS``; the executions they create
stay queued (nothing is dispatched: the sandbox is not under test here, and CI's Docker time goes to the sandbox
suites). It requires 0 answers of 5xx, every 4xx a coded JSON error, and the ledger sound afterwards
(``ledger_check``); it prints throughput and latency percentiles per call beside a same-run single-client baseline
(the README quotes a run).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict

import pytest
import requests
from django.core.management import call_command

from economy.selectors import ledger_violations
from tests.factories import make_agent
from tests.http.conftest import ROOT, database_url, start_gunicorn, stop

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AGENTS = int(os.environ.get("BP_LOAD_AGENTS", "200"))
SECONDS = float(os.environ.get("BP_LOAD_SECONDS", "60"))
TICK_SECONDS = 2.0
THINK = (0.05, 0.6)  # seconds an agent waits between calls


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


@pytest.mark.usefixtures("postgres_only")
def test_a_few_hundred_agents_for_a_minute_no_5xx_and_a_sound_ledger(tmp_path):
    server = start_gunicorn(tmp_path, workers=2, threads=8)
    population = [make_agent(credits=100_000) for _ in range(AGENTS)]
    ids = [agent.id for agent, _ in population]
    samples: dict[str, list[float]] = defaultdict(list)
    statuses: Counter = Counter()
    bad: list[tuple[str, int, str]] = []
    refusals: Counter = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS

    def agent_loop(index: int) -> None:
        agent, token = population[index]
        rng = random.Random(index)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        my_samples: dict[str, list[float]] = defaultdict(list)
        my_statuses: Counter = Counter()
        my_bad: list[tuple[str, int, str]] = []
        my_refusals: Counter = Counter()
        open_bids: list[int] = []
        n = 0
        time.sleep(rng.uniform(0, 1))  # agents do not all start at once
        while time.monotonic() < stop_at:
            n += 1
            roll = rng.random()
            other = rng.choice(ids)
            if roll < 0.3:
                name, method, path, body, headers = "balance", "GET", f"/economic/balance/{agent.id}", None, {}
            elif roll < 0.5:
                name, method, path = "transfer", "POST", "/economic/transfer"
                body = {"from_id": agent.id, "to_id": other, "amount": rng.randint(1, 5)}
                headers = {"Idempotency-Key": f"load-{index}-{n}"}
            elif roll < 0.65:
                name, method, path, headers = "bid", "POST", "/market/bids", {}
                body = {"cpu_millicores": 50, "memory_mb": 16, "wall_seconds": 1, "max_price": rng.randint(1, 20)}
            elif roll < 0.72 and open_bids:
                name, method, path, body, headers = "cancel", "DELETE", f"/market/bids/{open_bids.pop()}", None, {}
            elif roll < 0.85:
                name, method, path, headers = "message", "POST", "/social/messages", {}
                body = {"to_id": other, "body": f"hello from {agent.id}"}
            else:
                name, method, path, body, headers = "messages", "GET", "/social/messages", None, {}
            started = time.monotonic()
            try:
                response = session.request(method, server.url + path, json=body, headers=headers, timeout=30)
            except requests.RequestException as exc:
                my_bad.append((name, 0, repr(exc)))
                continue
            my_samples[name].append(time.monotonic() - started)
            my_statuses[response.status_code] += 1
            if response.status_code >= 400:
                try:
                    code = response.json().get("code")
                except ValueError:
                    code = None
                coded = isinstance(code, str)
                my_refusals[f"{name}:{code}"] += 1
                if response.status_code >= 500 or not coded:
                    my_bad.append((name, response.status_code, response.text[:200]))
            elif name == "bid":
                open_bids.append(response.json()["id"])
            time.sleep(rng.uniform(*THINK))
        with lock:
            for key, values in my_samples.items():
                samples[key].extend(values)
            statuses.update(my_statuses)
            bad.extend(my_bad)
            refusals.update(my_refusals)

    # Same-run baseline: one client alone, sequential balance reads (the machine is shared: quote ratios).
    baseline_session = requests.Session()
    baseline_session.headers["Authorization"] = f"Bearer {population[0][1]}"
    alone = []
    for _ in range(40):
        started = time.monotonic()
        assert baseline_session.get(f"{server.url}/economic/balance/{ids[0]}", timeout=30).status_code == 200
        alone.append(time.monotonic() - started)
    alone.sort()
    stop_at = time.monotonic() + SECONDS

    threads = [threading.Thread(target=agent_loop, args=(i,), daemon=True) for i in range(AGENTS)]
    began = time.monotonic()
    ticker = subprocess.Popen(
        [sys.executable, "-m", "tests.http.ticker", str(SECONDS), str(TICK_SECONDS)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(SECONDS + 60)
        ticker_output, _ = ticker.communicate(timeout=120)
    finally:
        if ticker.poll() is None:
            ticker.kill()
        stop(server)
    tick_seconds = [float(line.split()[2]) for line in ticker_output.splitlines() if line.startswith("tick ")]
    ticks = len(tick_seconds)
    elapsed = time.monotonic() - began
    total = sum(statuses.values())
    every = sorted(v for values in samples.values() for v in values)
    print(f"\nload: {AGENTS} agents, {elapsed:.0f} s, {ticks} ticks, {total} requests, {total / elapsed:.0f} req/s")
    print(f"statuses: {dict(sorted(statuses.items()))}; refusals: {dict(refusals)}")
    print("ticks (seconds: all, market, attention):", [line for line in ticker_output.splitlines() if "tick" in line])
    print(f"{'call':<10}{'count':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name, values in [*sorted(samples.items()), ("all", every)]:
        values = sorted(values)
        p50, p95, p99 = (1000 * percentile(values, q) for q in (0.5, 0.95, 0.99))
        print(f"{name:<10}{len(values):>8}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}")
    base = 1000 * percentile(alone, 0.5)
    loaded = 1000 * percentile(sorted(samples["balance"]), 0.5)
    print(f"baseline: one client alone, balance p50 {base:.1f} ms; under load {loaded:.1f} ms ({loaded / base:.1f}x)")

    assert not any(t.is_alive() for t in threads), "an agent thread did not finish"
    # No speed threshold (speed targets live in bench/): every kind of call was answered and ticks ran meanwhile.
    assert set(samples) == {"balance", "transfer", "bid", "cancel", "message", "messages"}, set(samples)
    assert ticker.returncode == 0, ticker_output[-3000:]
    # Liveness, not speed: bids must not starve the market tick (its first tick once waited the whole minute).
    assert ticks >= max(2, SECONDS / TICK_SECONDS / 6), f"only {ticks} ticks ran: {ticker_output[-2000:]}"
    assert bad == [], f"{len(bad)} bad answers, e.g. {bad[:5]}"
    assert not [s for s in statuses if s >= 500]
    assert ledger_violations() == []
    call_command("ledger_check")
