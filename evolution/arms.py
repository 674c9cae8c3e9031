"""Experiment arms: what differs between the economies an experiment compares (``manage.py experiment --arms``).

An arm is an explicit object handed to the embedded economy (``EconomyConfig.arm``), never a setting. Today an arm
chooses the reward policy (who a judged score's credits are minted to) and may add parameters to the genesis
program (e.g. an arm without inheritance); add an arm by adding it to ``ARMS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from attention.rewards import PAY_AUTHOR, PAY_RANDOM_LIVING, RewardPolicy


@dataclass(frozen=True)
class Arm:
    name: str
    description: str
    rewards: RewardPolicy = PAY_AUTHOR
    program_params: dict = field(default_factory=dict)  # merged over the genesis program's params


ARMS: dict[str, Arm] = {
    "rewarded": Arm("rewarded", "scores are minted to the artifact's author (the product's rule)", PAY_AUTHOR),
    "shuffled": Arm(
        "shuffled",
        "the same credits are minted to living agents drawn with the economy's seed: money does not follow quality",
        PAY_RANDOM_LIVING,
    ),
}
DEFAULT_ARMS = ("rewarded", "shuffled")


class UnknownArm(ValueError):
    pass


def get_arm(name: str) -> Arm:
    arm = ARMS.get(name)
    if arm is None:
        raise UnknownArm(f"Unknown arm {name!r}; known: {', '.join(sorted(ARMS))}.")
    return arm
