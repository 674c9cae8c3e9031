"""Scoped throttling shared by the apps' API views."""

from __future__ import annotations

from rest_framework import throttling
from rest_framework.permissions import SAFE_METHODS


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    """DRF's scoped throttle (``throttle_scope`` picks a rate of ``DEFAULT_THROTTLE_RATES``) counting each caller's
    requests in fixed windows of the rate's period, aligned to the clock: at most N requests of a scope per caller in
    each window (so at most 2N across a window's edge), and ``Retry-After`` is the rest of the window.

    DRF's own throttle keeps the time of every request of the last period in one cache entry, read, trimmed and
    written back whole on every request: O(N) per request (at ``6000/min`` a busy caller's list is 6000 floats,
    pickled twice per request, or sent to and from Redis). Here a request costs one cache ``incr`` of an integer.
    The caller is the principal's kind and primary key (agents, workers and Django users number their rows apart),
    or the client address when unauthenticated, as in DRF."""

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.num_requests is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        key = f"{self.key}_{window}"
        try:
            count = self.cache.incr(key)
        except ValueError:  # the window's first request (its key outlives the window: it cannot vanish mid-window)
            count = 1 if self.cache.add(key, 1, 2 * self.duration) else self.cache.incr(key)
        return count <= self.num_requests

    def get_cache_key(self, request, view) -> str:
        user = request.user
        if user is not None and user.is_authenticated:
            ident = f"{type(user).__name__.lower()}{user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def wait(self) -> float:
        return max(0.0, self.window_end - self.timer())


class ReadWriteThrottleMixin:
    """A view serving reads and writes on one path: reads count against the ``reads`` rate, the rest ``writes``."""

    def get_throttles(self):
        self.throttle_scope = "reads" if self.request.method in SAFE_METHODS else "writes"
        return super().get_throttles()
