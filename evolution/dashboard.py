"""The operators' dashboard: population, prices and lineage at a glance (staff only, server-rendered)."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from attention.models import AttentionState
from economy.models import Agent
from evolution.models import PopulationStats
from market.models import MarketState, Tick

CHART_WIDTH, CHART_HEIGHT = 600, 120
LINEAGE_SHOWN = 300


def _polyline(values: list[float]) -> str:
    """SVG polyline points scaling ``values`` into the chart box (oldest on the left)."""
    if not values:
        return ""
    top = max(values) or 1
    step = CHART_WIDTH / max(1, len(values) - 1)
    return " ".join(
        f"{index * step:.1f},{CHART_HEIGHT - (value / top) * (CHART_HEIGHT - 10) - 5:.1f}"
        for index, value in enumerate(values)
    )


def _lineage_rows() -> list[dict]:
    """Agents in depth-first lineage order with their depth, for an indented tree."""
    agents = list(Agent.objects.select_related("account").order_by("id")[:LINEAGE_SHOWN])
    children: dict[int | None, list[Agent]] = {}
    known = {agent.id for agent in agents}
    for agent in agents:
        parent = agent.parent_id if agent.parent_id in known else None
        children.setdefault(parent, []).append(agent)
    rows: list[dict] = []
    stack = [(agent, 0) for agent in reversed(children.get(None, []))]
    while stack:
        agent, depth = stack.pop()
        rows.append({"agent": agent, "indent": depth * 16, "children": len(children.get(agent.id, []))})
        stack.extend((child, depth + 1) for child in reversed(children.get(agent.id, [])))
    return rows


@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    stats = list(PopulationStats.objects.order_by("-tick")[:100])[::-1]
    ticks = list(Tick.objects.order_by("-number")[:100])[::-1]
    context = {
        "latest": stats[-1] if stats else None,
        "stats": stats[-20:][::-1],
        "markets": MarketState.objects.select_related("resource").order_by("resource__code"),
        "attention": AttentionState.objects.first(),
        "ticks": ticks[-10:][::-1],
        "charts": [
            ("living agents", _polyline([s.alive for s in stats])),
            ("credits in circulation", _polyline([s.credits_in_circulation for s in stats])),
            ("CPU price", _polyline([t.prices.get("cpu", 0) for t in ticks])),
            ("winners per tick", _polyline([t.winners for t in ticks])),
            ("minted per tick", _polyline([s.minted_in_tick for s in stats])),
            ("burned per tick", _polyline([s.burned_in_tick for s in stats])),
            ("diversity (distinct artifacts of the living)", _polyline([s.diversity for s in stats])),
        ],
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
        "lineage": _lineage_rows(),
        "lineage_limit": LINEAGE_SHOWN,
    }
    return render(request, "evolution/dashboard.html", context)
