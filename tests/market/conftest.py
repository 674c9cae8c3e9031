"""The market tests' arithmetic is written for round prices: CPU 100 and memory 400 micro-credits per unit-second,
target utilization 0.5 with a moving average weight of 0.3 starting at 0.5 (the product's defaults, chosen for the
economy's dynamics, are in ``market/defaults.py``)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def round_prices(db):
    from market.models import MarketState

    for code, price in (("cpu", 100), ("memory", 400)):
        MarketState.objects.filter(resource__code=code).update(
            price=price, target_utilization=0.5, ema_alpha=0.3, utilization_ema=0.5
        )
