"""Run market, attention and life ticks every few seconds for a while, in a process of its own (the load test's
ticker: in the test process it would compete for the GIL with the simulated agents' threads).

Usage: ``python -m tests.http.ticker SECONDS PERIOD`` with ``DATABASE_URL`` set; prints one line per tick with its
duration, and ``ticks N`` at the end. Executions the market creates stay queued (``SANDBOX_DISPATCH=embedded``).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["SANDBOX_DISPATCH"] = "embedded"


def main(seconds: float, period: float) -> int:
    import django

    django.setup()
    from attention.services import run_attention_tick
    from evolution.services import run_life_tick
    from market.services import run_market_tick

    stop_at = time.monotonic() + seconds
    ticks = 0
    while time.monotonic() < stop_at:
        started = time.monotonic()
        run_market_tick()
        market = time.monotonic() - started
        run_attention_tick()
        attention = time.monotonic() - started - market
        ticks += 1
        run_life_tick(tick=ticks)
        took = time.monotonic() - started
        print(f"tick {ticks} {took:.2f} market {market:.2f} attention {attention:.2f}", flush=True)
        time.sleep(max(0.0, period - took))
    print(f"ticks {ticks}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]), float(sys.argv[2])))
