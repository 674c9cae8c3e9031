import json

from django.core.management.base import BaseCommand

from attention.services import run_attention_tick


class Command(BaseCommand):
    help = "Run one attention tick now (sell the judge's slot) and print its summary as JSON."

    def handle(self, *args, **options) -> None:
        tick = run_attention_tick()
        self.stdout.write(
            json.dumps(
                {
                    "tick": tick.number,
                    "bids": tick.bids,
                    "winner_bid": tick.winner_id,
                    "price": tick.price,
                    "reserve": tick.reserve,
                    "next_price": tick.next_price,
                    "utilization_ema": tick.utilization_ema,
                }
            )
        )
