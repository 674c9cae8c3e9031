from attention.services import run_attention_tick
from bidbook.commands import RunTickCommand


class Command(RunTickCommand):
    help = "Run one attention tick now (sell the judge's slot) and print its summary as JSON."
    run_tick = staticmethod(run_attention_tick)
    summary = {
        "bids": "bids",
        "winner_bid": "winner_id",
        **{name: name for name in ["price", "reserve", "next_price", "utilization_ema"]},
    }
