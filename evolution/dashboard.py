"""The operators' dashboard (staff only): live charts over one tick numbering, the latest figures and the lineage.

The page is static HTML plus ``evolution/dashboard.js``, which draws the charts with Chart.js (vendored under
``evolution/static/evolution/vendor/chartjs``, served by the project itself: no CDN) and polls
``/dashboard/data.json`` once per market tick. Every series is keyed by the **market tick number**: population rows
are numbered like the market tick they follow (``evolution.tasks.life_tick``); rows written before that by the beat
slot are mapped through ``Tick.slot``; attention rounds are placed at the market tick that was current when they ran.
"""

from __future__ import annotations

import bisect
from collections import defaultdict

from django.conf import settings
from django.db.models import Avg, Count, Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from attention.models import AttentionState, AttentionTick, HumanReward
from economy.models import Agent
from evolution.models import PopulationStats
from market.models import MarketState, Tick
from sandbox.models import Execution

LINEAGE_SHOWN = 300
DEFAULT_TICKS, MAX_TICKS = 200, 2000


def _is_staff(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


def _stats_row(stats: PopulationStats) -> dict:
    """Every concrete field of a PopulationStats row (fields added later appear without a change here)."""
    row = {}
    for field in stats._meta.concrete_fields:
        if field.name in ("id",):
            continue
        value = getattr(stats, field.attname)
        row[field.name] = value.isoformat() if hasattr(value, "isoformat") else value
    return row


def _utilization(tick: Tick) -> dict[str, float]:
    return {
        code: round(tick.allocated.get(code, 0) / supply, 4) for code, supply in (tick.supply or {}).items() if supply
    }


def dashboard_payload(*, ticks_shown: int = DEFAULT_TICKS) -> dict:
    """The dashboard's data: the newest ``ticks_shown`` market ticks and every series keyed by market tick number."""
    ticks = list(Tick.objects.order_by("-number")[:ticks_shown])[::-1]
    first = ticks[0].number if ticks else 0
    market = [
        {
            "tick": t.number,
            "started_at": t.started_at.isoformat(),
            "prices": t.prices,
            "utilization": _utilization(t),
            "bids": t.bids,
            "winners": t.winners,
            "revenue": t.revenue,
            "clearing_multiple": t.clearing_multiple,
        }
        for t in ticks
    ]

    stats = list(PopulationStats.objects.order_by("-tick")[:ticks_shown])[::-1]
    # Rows written by the beat slot before the life tick took the market tick's number: map them through Tick.slot.
    slots = dict(Tick.objects.filter(slot__in=[s.tick for s in stats]).values_list("slot", "number"))
    population = []
    for s in stats:
        row = _stats_row(s)
        row["tick"] = slots.get(s.tick, s.tick)
        population.append(row)
    population.sort(key=lambda row: row["tick"])

    executions: dict[int, dict[str, int]] = defaultdict(dict)
    for tick_number, status, n in (
        Execution.objects.filter(bid__tick_number__gte=first)
        .values_list("bid__tick_number", "status")
        .annotate(n=Count("id"))
        .values_list("bid__tick_number", "status", "n")
    ):
        executions[tick_number][status] = n

    scores = [
        {"tick": row["execution__bid__tick_number"], "best": row["best"], "mean": round(row["mean"], 3), "n": row["n"]}
        for row in HumanReward.objects.filter(status=HumanReward.Status.SCORED, execution__bid__tick_number__gte=first)
        .values("execution__bid__tick_number")
        .annotate(best=Max("score"), mean=Avg("score"), n=Count("id"))
        .order_by("execution__bid__tick_number")
    ]

    # Attention rounds run on their own clock: place each at the market tick current when it started.
    starts = [t.started_at for t in ticks]
    attention = []
    since = ticks[0].started_at if ticks else None
    rounds = AttentionTick.objects.order_by("number")
    if since is not None:
        rounds = rounds.filter(started_at__gte=since)
    for round_ in rounds[:MAX_TICKS]:
        index = bisect.bisect_right(starts, round_.started_at) - 1
        if index >= 0:
            attention.append(
                {
                    "tick": ticks[index].number,
                    "round": round_.number,
                    "reserve": round_.reserve,
                    "paid": round_.price,
                    "utilization": round_.utilization,
                }
            )

    return {
        "tick_seconds": settings.MARKET_TICK_SECONDS,
        "reward_per_point": settings.REWARD_PER_POINT,
        "resources": sorted({code for t in ticks for code in (t.prices or {})}),
        "market": market,
        "population": population,
        "executions": [{"tick": number, "by_status": by_status} for number, by_status in sorted(executions.items())],
        "execution_statuses": list(Execution.Status.values),
        "scores": scores,
        "attention": attention,
        "latest": population[-1] if population else None,
    }


def dashboard_data(request: HttpRequest) -> JsonResponse:
    """``GET /dashboard/data.json?ticks=N``: the charts' data, for staff (a JSON 403 for anyone else)."""
    if not _is_staff(request):
        return JsonResponse(
            {"code": "forbidden", "detail": "The dashboard is for staff: log in at /admin/."}, status=403
        )
    raw = request.GET.get("ticks", str(DEFAULT_TICKS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_TICKS:
        return JsonResponse(
            {"code": "invalid_ticks", "detail": f"ticks is a whole number from 1 to {MAX_TICKS}."}, status=400
        )
    return JsonResponse(dashboard_payload(ticks_shown=int(raw)))


def lineage_html(limit: int = LINEAGE_SHOWN) -> SafeString:
    """The lineage as nested, collapsible ``<details>`` lists: every agent under its parent (the first ``limit``)."""
    agents = list(Agent.objects.select_related("account").order_by("id")[:limit])
    known = {agent.id for agent in agents}
    children: dict[int | None, list[Agent]] = defaultdict(list)
    for agent in agents:
        children[agent.parent_id if agent.parent_id in known else None].append(agent)

    def descendants(agent_id: int) -> int:
        total, stack = 0, [agent_id]
        while stack:
            kids = children.get(stack.pop(), [])
            total += len(kids)
            stack.extend(kid.id for kid in kids)
        return total

    def label(agent: Agent):
        balance = agent.account.balance if hasattr(agent, "account") else 0
        cause = f": {agent.death_cause}" if agent.death_cause else ""
        count = descendants(agent.id)
        return format_html(
            '<span class="agent {}">#{} {}</span> '
            '<span class="meta">gen {} · {}{} · {} credits · {} descendant{}</span>',
            agent.status,
            agent.id,
            agent.name,
            agent.generation,
            agent.status,
            cause,
            balance,
            count,
            "" if count == 1 else "s",
        )

    # Built iteratively (a lineage can be deeper than Python's recursion limit).
    def render(roots: list[Agent]) -> str:
        out: list[str] = ["<ul>"]
        stack: list[tuple[str, object]] = [("node", agent) for agent in reversed(roots)]
        while stack:
            kind, item = stack.pop()
            if kind == "close":
                out.append(item)
                continue
            agent = item
            kids = children.get(agent.id, [])
            if not kids:
                out.append(format_html('<li class="leaf">{}</li>', label(agent)))
                continue
            opened = " open" if agent.generation < 2 else ""
            out.append(format_html("<li><details{}><summary>{}</summary><ul>", mark_safe(opened), label(agent)))  # noqa: S308
            stack.append(("close", "</ul></details></li>"))
            stack.extend(("node", kid) for kid in reversed(kids))
        out.append("</ul>")
        return "".join(str(part) for part in out)

    if not agents:
        return format_html("<p>{}</p>", "No agent yet.")
    return mark_safe(render(children.get(None, [])))  # noqa: S308 - every part was escaped by format_html


def dashboard(request: HttpRequest) -> HttpResponse:
    if not _is_staff(request):
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path(), login_url="/admin/login/")
    payload = dashboard_payload(ticks_shown=20)
    context = {
        "latest": payload["latest"],
        "stats": payload["population"][::-1],
        "markets": MarketState.objects.select_related("resource").order_by("resource__code"),
        "attention": AttentionState.objects.first(),
        "ticks": list(Tick.objects.order_by("-number")[:10]),
        "lineage": lineage_html(),
        "lineage_limit": LINEAGE_SHOWN,
        "poll_seconds": max(2, settings.MARKET_TICK_SECONDS),
        "agents_total": Agent.objects.count(),
    }
    return render(request, "evolution/dashboard.html", context)


__all__ = ["dashboard", "dashboard_data", "dashboard_payload", "lineage_html"]
