"""Reads of the attention app used by more than one caller (API, admin, tasks)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from attention.models import AttentionState, AttentionTick, HumanReward
from economy.models import Agent

JUDGES_GROUP = "judges"


def default_attention_state() -> AttentionState:
    """The state row as first created (from settings), unsaved."""
    return AttentionState(
        id=1,
        price=settings.ATTENTION_RESERVE_PRICE,
        floor=settings.ATTENTION_PRICE_FLOOR,
        ceiling=settings.ATTENTION_PRICE_CEILING,
    )


def attention_state() -> AttentionState:
    return AttentionState.objects.filter(id=1).first() or default_attention_state()


def is_judge(user: object) -> bool:
    """A judge is an active Django user in the ``judges`` group (superusers too only when in the group)."""
    if user is None or isinstance(user, Agent) or not getattr(user, "is_active", False):
        return False
    groups = getattr(user, "groups", None)
    return groups is not None and groups.filter(name=JUDGES_GROUP).exists()


def attention_ticks() -> QuerySet[AttentionTick]:
    return AttentionTick.objects.order_by("-number")


def agent_rewards(*, agent_id: int) -> QuerySet[HumanReward]:
    """What the judges said of an agent's work: its scored items, newest first."""
    return (
        HumanReward.objects.filter(agent_id=agent_id, status=HumanReward.Status.SCORED)
        .select_related("execution__bid")
        .order_by("-id")
    )


def review_queue(*, judge: object | None = None) -> QuerySet[HumanReward]:
    """Queued items, oldest first; for a judge, without the agents that judge owns (they may not score them)."""
    queue = (
        HumanReward.objects.filter(status=HumanReward.Status.QUEUED)
        .select_related("agent", "agent__parent", "execution")
        .order_by("queued_at", "id")
    )
    judge_id = getattr(judge, "pk", None)
    if judge_id is not None:
        queue = queue.exclude(agent__owner_id=judge_id)
    return queue


def next_review_item(*, judge: object, after: HumanReward | None = None) -> HumanReward | None:
    """The oldest queued item this judge may score (strictly after ``after`` in queue order, when given)."""
    queue = review_queue(judge=judge)
    if after is not None:
        queue = queue.filter(queued_at__gte=after.queued_at).exclude(queued_at=after.queued_at, id__lte=after.id)
    return queue.first()


def scored_today(*, judge: object) -> int:
    """How many items this judge scored since midnight (in the server's time zone)."""
    judge_id = getattr(judge, "pk", None)
    if judge_id is None:
        return 0
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return HumanReward.objects.filter(judge_id=judge_id, scored_at__gte=midnight).count()
