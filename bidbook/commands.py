"""The ``run_tick`` management commands of both markets: run one tick now and print its summary as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import ClassVar

from django.core.management.base import BaseCommand


class RunTickCommand(BaseCommand):
    run_tick: ClassVar[Callable[[], object]]
    # JSON key -> the tick row's attribute ("tick" is always its number)
    summary: ClassVar[dict[str, str]]

    def handle(self, *args, **options) -> None:
        tick = type(self).run_tick()
        fields = {"tick": "number", **self.summary}
        self.stdout.write(json.dumps({key: getattr(tick, attribute) for key, attribute in fields.items()}))
