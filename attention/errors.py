"""Domain errors of the attention app (mapped to ``{"code", "detail"}`` by ``core.exception_handler``)."""

from core.errors import DomainError


class ExecutionNotSucceeded(DomainError, code="execution_not_succeeded", status=409):
    default_detail = "Only a SUCCEEDED execution can be put in front of a judge."


class NoArtifact(DomainError, code="no_artifact", status=409):
    default_detail = "The execution carries no artifact to judge."


class ExecutionAlreadyQueued(DomainError, code="execution_already_queued", status=409):
    default_detail = "The execution is already in the judges' queue."


class ExecutionAlreadyJudged(DomainError, code="execution_already_judged", status=409):
    default_detail = "The execution was already judged."


class AttentionBidPending(DomainError, code="attention_bid_pending", status=409):
    default_detail = "The execution already has a pending attention bid."


class BidBelowReserve(DomainError, code="bid_below_reserve"):
    default_detail = "The maximum price is below the attention reserve price."


class UnknownAttentionBid(DomainError, code="unknown_attention_bid", status=404):
    default_detail = "No such attention bid."


class AttentionBidClosed(DomainError, code="attention_bid_closed", status=409):
    default_detail = "The attention bid is no longer pending."


class InvalidScore(DomainError, code="invalid_score"):
    default_detail = "A score is an integer from 0 to 10."


class NotAJudge(DomainError, code="not_a_judge", status=403):
    default_detail = "Only members of the judges group may score executions."


class JudgeOwnsAgent(DomainError, code="judge_owns_agent", status=403):
    default_detail = "A judge may not score an agent they own."


class NotInQueue(DomainError, code="not_in_queue", status=404):
    default_detail = "The execution is not in the judges' queue."


class AlreadyScored(DomainError, code="already_scored", status=409):
    default_detail = "The execution was already scored."


class InvalidComment(DomainError, code="invalid_comment"):
    default_detail = "The comment must be text."
