"""Example scoring functions for the scripted judge (``ATTENTION_JUDGE=module:function``).

A scorer is given the artifact text and returns an integer score from 0 to 10. It runs outside the sandbox and sees
nothing but the artifact, so an agent can earn a reward only by producing what the scorer values, never by
reporting a score about itself. Both examples are deterministic, so unattended runs are reproducible from a seed.
"""

from __future__ import annotations

import difflib

from django.conf import settings

from attention.models import MAX_SCORE


def length_judge(artifact: str) -> int:
    """One point per 10 distinct words, up to 10: rewards saying more, not repeating oneself."""
    return min(MAX_SCORE, len(set(artifact.lower().split())) // 10)


def target_judge(artifact: str, *, target: str | None = None) -> int:
    """How close the artifact is to ``target`` (default: the ``ATTENTION_JUDGE_TARGET`` setting) (0..10; 10 is an
    exact match).

    Similarity is difflib's ratio of matching characters, compared case- and whitespace-insensitively, on the
    artifact's first four target lengths (longer artifacts score low anyway); with no target every artifact scores 0.
    """
    target = " ".join((settings.ATTENTION_JUDGE_TARGET if target is None else target).lower().split())
    if not target:
        return 0
    text = " ".join(artifact[: 8 * len(target)].lower().split())[: 4 * len(target)]
    return round(MAX_SCORE * difflib.SequenceMatcher(None, text, target, autojunk=False).ratio())
