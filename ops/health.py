"""``GET /healthz``: is this web process able to run the economy? JSON, 200 when healthy and 503 when not.

Checks the database (``SELECT 1``), Redis (``PING`` on the Celery broker, where the ticks and sandbox queues live)
and the age of the last market tick (beat and the ticks worker are alive when ticks keep coming). Open to anyone:
it says only whether each part works, and how old the last tick is.
"""

from __future__ import annotations

import time

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from market.models import Tick


def method_not_allowed(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(
        {"code": "method_not_allowed", "detail": f"Method {request.method} is not allowed here; use GET."}, status=405
    )
    response["Allow"] = "GET, HEAD"
    return response


def _timed(check) -> dict:
    started = time.monotonic()
    try:
        result = check() or {}
        result.setdefault("ok", True)
    except Exception as exc:  # a health check reports every failure instead of raising
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "vendor": connection.vendor}


def check_redis() -> dict:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return {"ok": True}


def last_tick_age() -> tuple[int | None, float | None]:
    """The number of the newest market tick and its age in seconds (None, None before the first tick)."""
    row = Tick.objects.order_by("-number").values("number", "started_at", "finished_at").first()
    if row is None:
        return None, None
    when = row["finished_at"] or row["started_at"]
    return row["number"], max(0.0, (timezone.now() - when).total_seconds())


def check_market_tick() -> dict:
    limit = settings.HEALTH_MAX_TICK_AGE_SECONDS
    number, age = last_tick_age()
    if number is None:
        return {"ok": False, "error": "no market tick yet", "max_age_seconds": limit}
    return {"ok": age <= limit, "tick": number, "age_seconds": round(age, 1), "max_age_seconds": limit}


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(request)
    checks = {"database": _timed(check_database), "redis": _timed(check_redis)}
    # Without the database there is no tick to look at.
    checks["market_tick"] = _timed(check_market_tick) if checks["database"]["ok"] else {"ok": False, "skipped": True}
    failing = sorted(name for name, result in checks.items() if not result["ok"])
    body: dict = {"status": "unhealthy" if failing else "ok", "checks": checks}
    if failing:
        body.update(code="unhealthy", detail=f"Failing: {', '.join(failing)}.")
    return JsonResponse(body, status=503 if failing else 200)
