from core.errors import DomainError


class PopulationCap(DomainError, code="population_cap", status=409):
    default_detail = "The population is at its cap; no more agents can be born now."


class EndowmentTooSmall(DomainError, code="endowment_too_small"):
    default_detail = "The endowment is below the minimum."


class InvalidCode(DomainError, code="invalid_code"):
    default_detail = "The child's program is missing or too large."


class InvalidMessage(DomainError, code="invalid_message"):
    default_detail = "The message body is empty or too long."
