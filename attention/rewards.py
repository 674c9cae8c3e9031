"""Who a score's credits are minted to: the reward policy of an economy (an experiment's arm decides it).

A policy is an explicit argument of the reward path (``attention.services.run_scripted_judge(rewards=...)``), never
a setting: one process can run economies with different policies side by side.

- ``PAY_AUTHOR`` ("rewarded", the product's rule): the agent whose artifact was judged.
- ``PAY_RANDOM_LIVING`` ("shuffled", the control arm): a living agent drawn with the economy's seed (one draw per
  review item, from the item's id), so the same total is minted each tick but money no longer follows quality.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from attention.models import HumanReward
from economy.determinism import derive_seed, economy_seed
from economy.models import Agent


class RewardPolicy(Protocol):
    name: str

    def recipient(self, item: HumanReward) -> int | None:
        """The agent that gets the credits for ``item`` (None: nobody, nothing is minted)."""


@dataclass(frozen=True)
class PayAuthor:
    name: str = "rewarded"

    def recipient(self, item: HumanReward) -> int | None:
        return item.agent_id


@dataclass(frozen=True)
class PayRandomLiving:
    name: str = "shuffled"

    def recipient(self, item: HumanReward) -> int | None:
        living = list(Agent.objects.filter(status=Agent.Status.ALIVE).order_by("id").values_list("id", flat=True))
        if not living:
            return None
        return living[derive_seed(economy_seed(), "shuffled-reward", item.id) % len(living)]


PAY_AUTHOR = PayAuthor()
PAY_RANDOM_LIVING = PayRandomLiving()
