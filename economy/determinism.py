"""Seeded draws of the economy: same seed and settings, same history (issue 11, exact replay).

Everything that decides (who wins a tie, which agent a shuffled reward goes to, the seed an execution's program gets
as ``BP_SEED``) is derived from the economy's seed (the ``EconomySeed`` row) and the identity of what is decided
(a tick, an execution), never from the wall clock, arrival order or a process-wide random generator.

The tie-break key of a bid is a keyed pseudo-random permutation of its id that the database computes itself
(integer ``%`` only, so PostgreSQL and SQLite agree): ``x = (id mod P + a) mod P; y = (x² + b) mod P;
key = (y² + a) mod P`` with P = 2³¹ - 1 and ``a``, ``b`` drawn from the seed and the tick. Products stay below 2⁶²
(no overflow on either database). Equal keys (rare) fall back to the id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db.models import BigIntegerField, ExpressionWrapper, F, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast

from economy.models import EconomySeed

PRIME = 2_147_483_647  # 2**31 - 1


def derive_seed(*parts: object) -> int:
    """A 63-bit integer from sha256 of the parts joined by ':' (e.g. ``derive_seed(seed, execution_id)``)."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def economy_seed() -> int:
    """The economy's seed (0 until one is set)."""
    return EconomySeed.objects.filter(id=1).values_list("seed", flat=True).first() or 0


def set_economy_seed(seed: int) -> int:
    """Set the economy's seed (a fresh economy does this once, before its first tick)."""
    EconomySeed.objects.update_or_create(id=1, defaults={"seed": int(seed)})
    return int(seed)


def execution_seed(execution_id: int, *, seed: int | None = None) -> int:
    """The ``BP_SEED`` of an execution: derived from the economy's seed and the execution id only."""
    return derive_seed(economy_seed() if seed is None else seed, execution_id)


@dataclass(frozen=True)
class TieBreak:
    """The seeded order among equal offers of one tick of one market."""

    a: int
    b: int

    @classmethod
    def for_tick(cls, market: str, tick_number: int, *, seed: int | None = None) -> TieBreak:
        drawn = derive_seed(economy_seed() if seed is None else seed, "tie-break", market, tick_number)
        return cls(a=drawn % PRIME, b=(drawn >> 31) % PRIME)

    def key(self, row_id: int) -> int:
        """The key in Python (the same value the SQL forms compute)."""
        x = (row_id % PRIME + self.a) % PRIME
        y = (x * x + self.b) % PRIME
        return (y * y + self.a) % PRIME

    def sql(self, column: str, *, percent: str = "%%") -> str:
        """The key as an SQL expression over an integer ``column`` (``percent`` is the modulo operator as the
        statement needs it written: ``%%`` where parameters are interpolated, ``%`` elsewhere)."""
        m = percent
        x = f"(((CAST({column} AS BIGINT) {m} {PRIME}) + {self.a}) {m} {PRIME})"
        y = f"(({x} * {x} + {self.b}) {m} {PRIME})"
        return f"(({y} * {y} + {self.a}) {m} {PRIME})"

    def expression(self, field: str = "id") -> Combinable:
        """The key as an ORM expression (for ``annotate``/``order_by``)."""
        x = (Cast(F(field), BigIntegerField()) % Value(PRIME) + Value(self.a)) % Value(PRIME)
        y = (x * x + Value(self.b)) % Value(PRIME)
        return ExpressionWrapper((y * y + Value(self.a)) % Value(PRIME), output_field=BigIntegerField())
