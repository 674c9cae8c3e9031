import json

from django.core.management.base import BaseCommand

from market.services import run_market_tick


class Command(BaseCommand):
    help = "Run one market tick now and print its summary as JSON."

    def handle(self, *args, **options) -> None:
        tick = run_market_tick()
        self.stdout.write(
            json.dumps(
                {
                    "tick": tick.number,
                    "bids": tick.bids,
                    "winners": tick.winners,
                    "clearing_multiple": tick.clearing_multiple,
                    "revenue": tick.revenue,
                    "prices": tick.prices,
                    "next_prices": tick.next_prices,
                }
            )
        )
