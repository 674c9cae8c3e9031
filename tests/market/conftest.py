"""The market tests' arithmetic is written for round prices (``tests/conftest.py``'s ``round_prices``)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _round_prices(round_prices):
    return round_prices
