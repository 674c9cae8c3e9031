"""Scoped throttling shared by the apps' API views."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS


class ReadWriteThrottleMixin:
    """A view serving reads and writes on one path: reads count against the ``reads`` rate, the rest ``writes``."""

    def get_throttles(self):
        self.throttle_scope = "reads" if self.request.method in SAFE_METHODS else "writes"
        return super().get_throttles()
