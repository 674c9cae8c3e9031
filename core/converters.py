"""URL converters for ids: digits that fit a 64-bit primary key (longer ones simply do not match: a JSON 404)."""

from __future__ import annotations

MAX_ID = 2**63 - 1


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError("id out of range")  # Django then treats the path as not matching
        return number

    def to_url(self, value: int) -> str:
        return str(value)
