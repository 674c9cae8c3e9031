"""The market's initial resources, used by the data migration and by ``ensure_market_defaults``."""

# code, name, unit, price, floor, ceiling — prices in micro-credits per unit-second: 500 millicores and 128 MB
# for 10 s cost about 0.5 + 0.5 credits at the start.
RESOURCES = [
    ("cpu", "CPU", "millicore", 100, 8, 100_000),
    ("memory", "Memory", "MB", 400, 8, 400_000),
]


def create_market_defaults(resource_model, state_model, clock_model) -> None:
    """Idempotently create the resource types, their market states and the clock (models may be historical)."""
    for code, name, unit, price, floor, ceiling in RESOURCES:
        resource, _ = resource_model.objects.get_or_create(code=code, defaults={"name": name, "unit": unit})
        state_model.objects.get_or_create(
            resource=resource, defaults={"price": price, "floor": floor, "ceiling": ceiling}
        )
    clock_model.objects.get_or_create(id=1)
