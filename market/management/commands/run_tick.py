from bidbook.commands import RunTickCommand
from market.services import run_market_tick


class Command(RunTickCommand):
    help = "Run one market tick now and print its summary as JSON."
    run_tick = staticmethod(run_market_tick)
    summary = {name: name for name in ["bids", "winners", "clearing_multiple", "revenue", "prices", "next_prices"]}
