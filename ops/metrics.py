"""Prometheus metrics (prometheus-client): ``GET /metrics`` in the text exposition format.

What is exported:

- ``bp_http_request_duration_seconds{method,route,status}``: latency of every request this web service answered
  (a histogram; under gunicorn with several workers, set ``PROMETHEUS_MULTIPROC_DIR`` — ``config/gunicorn.conf.py``
  does — so that every worker's requests are counted whichever worker answers the scrape);
- read from the database and Redis at scrape time, so every process agrees: the market tick number, its age and its
  lag behind the beat period, the depth of each Celery queue, executions by status, lost executions and the credits
  refunded for them, credits minted, burned and in circulation, living agents and the judges' queue.

Who may read it: requests from ``METRICS_ALLOWED_IPS`` (default loopback only: a Prometheus on the same host, or
a reverse proxy that forwards only what it is told), requests with ``Authorization: Bearer $METRICS_TOKEN`` when
that is set, and logged-in staff. Everyone else gets a JSON 403.
"""

from __future__ import annotations

import hmac
import os
import time

from django.conf import settings
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from ops.health import method_not_allowed

REQUEST_LATENCY = Histogram(
    "bp_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, URL route and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CELERY_QUEUES = ("ticks", "default", "sandbox")
# kombu's Redis transport keeps priorities 3, 6 and 9 of a queue in lists beside the queue's own name.
_PRIORITY_SEPARATOR = "\x06\x16"


class RequestMetricsMiddleware:
    """Times every request; the route is the URL pattern (``economy/agents/<id:agent_id>``), never the raw path."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.route or match.view_name) if match else "<unmatched>"
        if request.path.startswith(f"/{settings.STATIC_URL.strip('/')}/"):
            route = "<static>"
        REQUEST_LATENCY.labels(request.method, route, str(response.status_code)).observe(time.perf_counter() - started)
        return response


class EconomyCollector:
    """Gauges read from the database and Redis at every scrape."""

    def collect(self):
        from attention.models import HumanReward
        from economy.models import Account, Agent, Hold
        from market.models import Tick
        from ops.health import last_tick_age
        from sandbox.models import Execution

        number, age = last_tick_age()
        yield _gauge("bp_market_tick_number", "Number of the newest market tick (0 before the first).", number or 0)
        if age is not None:
            yield _gauge("bp_market_tick_age_seconds", "Seconds since the newest market tick finished.", age)
            yield _gauge(
                "bp_market_tick_lag_seconds",
                "How late the next market tick is: the newest tick's age beyond one beat period (0 when on time).",
                max(0.0, age - settings.MARKET_TICK_SECONDS),
            )
        depth = GaugeMetricFamily("bp_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"])
        for queue, length in queue_depths().items():
            depth.add_metric([queue], length)
        yield depth
        executions = GaugeMetricFamily("bp_executions", "Executions by status.", labels=["status"])
        counts = dict(Execution.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        for status in Execution.Status.values:
            executions.add_metric([status], counts.get(status, 0))
        yield executions
        yield _gauge("bp_executions_lost", "Executions whose worker vanished (LOST).", counts.get("LOST", 0))
        refunded = Execution.objects.aggregate(total=Sum("refunded"))["total"] or 0
        yield _gauge("bp_credits_refunded", "Credits refunded for lost executions.", refunded)
        system = dict(Account.objects.filter(system__isnull=False).values_list("system", "balance"))
        yield _gauge("bp_credits_minted", "All credits ever minted.", -system.get(Account.System.MINT, 0))
        yield _gauge(
            "bp_credits_burned", "All credits in the treasury (fees, upkeep, prices).", system.get("treasury", 0)
        )
        balances = Account.objects.filter(agent__isnull=False).aggregate(total=Sum("balance"))["total"] or 0
        held = Hold.objects.filter(status=Hold.Status.PENDING).aggregate(total=Sum("amount"))["total"] or 0
        yield _gauge("bp_credits_in_circulation", "Agents' balances plus their credits in escrow.", balances + held)
        yield _gauge("bp_agents_alive", "Living agents.", Agent.objects.filter(status=Agent.Status.ALIVE).count())
        yield _gauge(
            "bp_review_queue_depth",
            "Artifacts waiting for a judge.",
            HumanReward.objects.filter(status=HumanReward.Status.QUEUED).count(),
        )
        yield _gauge("bp_market_ticks", "Market ticks run so far.", Tick.objects.count())


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def queue_depths() -> dict[str, int]:
    """LLEN of each Celery queue on the broker (all priority lists summed); empty when the broker does not answer."""
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        pipe = client.pipeline()
        keys = [
            (queue, f"{queue}{_PRIORITY_SEPARATOR}{p}" if p else queue) for queue in CELERY_QUEUES for p in (0, 3, 6, 9)
        ]
        for _, key in keys:
            pipe.llen(key)
        depths: dict[str, int] = dict.fromkeys(CELERY_QUEUES, 0)
        for (queue, _), length in zip(keys, pipe.execute(), strict=True):
            depths[queue] += int(length)
        return depths
    except redis.RedisError:
        return {}
    finally:
        client.close()


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[len("Bearer ") :].strip(), token):
        return True
    if request.META.get("REMOTE_ADDR") in settings.METRICS_ALLOWED_IPS:
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(request)
    if not allowed(request):
        return JsonResponse(
            {
                "code": "forbidden",
                "detail": "Metrics are for loopback, staff, or a bearer METRICS_TOKEN.",
            },
            status=403,
        )
    registry = _registry()
    body = generate_latest(registry)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(EconomyCollector())
    body += generate_latest(scrape)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
