"""Attention tests run on a pinned scale: reserve 10 credits (floor 5), 10 credits per point of a score."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _attention_scale(request: pytest.FixtureRequest, settings) -> None:
    settings.ATTENTION_RESERVE_PRICE = 10
    settings.ATTENTION_PRICE_FLOOR = 5
    settings.ATTENTION_PRICE_CEILING = 1_000_000
    settings.REWARD_PER_POINT = 10
    settings.ATTENTION_JUDGE = ""
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("db")
    from attention.models import AttentionState

    AttentionState.objects.update_or_create(
        id=1,
        defaults={
            "open_tick": 1,
            "price": 10,
            "floor": 5,
            "ceiling": 1_000_000,
            "target_utilization": 0.8,
            "ema_alpha": 0.3,
            "utilization": 0.0,
            "utilization_ema": 0.8,
        },
    )
