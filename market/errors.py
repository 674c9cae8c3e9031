from core.errors import DomainError


class InvalidBundle(DomainError, code="invalid_bundle"):
    default_detail = "The bundle is outside the allowed limits."


class BidBelowReserve(DomainError, code="bid_below_reserve"):
    default_detail = "The maximum price is below the bundle's cost at posted prices."


class UnknownBid(DomainError, code="unknown_bid", status=404):
    default_detail = "No such bid."


class BidClosed(DomainError, code="bid_closed", status=409):
    default_detail = "The bid's tick has closed; it can no longer be cancelled."


class InvalidMaxPrice(DomainError, code="invalid_max_price"):
    default_detail = "max_price is above the market's maximum bid."


class InvalidCapacity(DomainError, code="invalid_capacity"):
    default_detail = "A worker host's capacity must lie within the configured bounds."
