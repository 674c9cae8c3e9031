"""The market's initial resources, used by the data migration and by ``ensure_market_defaults``."""

# code, name, unit, price, floor, ceiling — prices in micro-credits per unit-second: 500 millicores and 64 MB for
# 5 s (or 250 millicores for 10 s) cost 25 + 0.3 credits at the start, within a few steps of where an economy
# paying 100 credits per judged point settles (a price far below its level climbs for dozens of ticks before it
# matters). Memory is rarely the scarce resource of small agents, so it starts near its floor.
RESOURCES = [
    ("cpu", "CPU", "millicore", 10_000, 8, 100_000_000),
    ("memory", "Memory", "MB", 1_000, 8, 100_000_000),
]
# The controller aims at this share of the supply allocated (most of the hosts busy, some room for newcomers).
TARGET_UTILIZATION = 0.8
# Weight of the newest tick in the utilization's moving average: a market of a few bundles a tick must react within
# a tick or two (an economy whose agents stop running stops earning, and a slow price lets it die out).
EMA_ALPHA = 0.5


def create_market_defaults(resource_model, state_model, clock_model) -> None:
    """Idempotently create the resource types, their market states and the clock (models may be historical)."""
    for code, name, unit, price, floor, ceiling in RESOURCES:
        resource, _ = resource_model.objects.get_or_create(code=code, defaults={"name": name, "unit": unit})
        state_model.objects.get_or_create(
            resource=resource,
            defaults={
                "price": price,
                "floor": floor,
                "ceiling": ceiling,
                "target_utilization": TARGET_UTILIZATION,
                "utilization_ema": TARGET_UTILIZATION,
                "ema_alpha": EMA_ALPHA,
            },
        )
    clock_model.objects.get_or_create(id=1)
