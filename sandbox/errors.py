from core.errors import DomainError


class UnknownExecution(DomainError, code="unknown_execution", status=404):
    default_detail = "No such execution."


class ExecutionNotQueued(DomainError, code="execution_not_queued", status=409):
    default_detail = "The execution was already claimed or has finished."


class ExecutionNotClaimed(DomainError, code="execution_not_claimed", status=409):
    default_detail = "This worker does not hold the execution's current claim."


class ResultAlreadyRecorded(DomainError, code="result_already_recorded", status=409):
    default_detail = "The execution's outcome was already recorded."


class NotExecutionToken(DomainError, code="not_execution_token", status=403):
    default_detail = "Artifacts are submitted with the token of a running execution (BP_TOKEN in the sandbox)."


class ExecutionNotRunning(DomainError, code="execution_not_running", status=403):
    default_detail = "The execution this token belongs to is not running."


class ArtifactTooLarge(DomainError, code="artifact_too_large", status=413):
    default_detail = "The artifact is longer than allowed."


class InvalidWorkspace(DomainError, code="invalid_workspace"):
    default_detail = "The workspace is invalid."


class WorkspaceTooLarge(DomainError, code="workspace_too_large", status=413):
    default_detail = "The workspace is larger than allowed."


class InvalidOutcome(DomainError, code="invalid_outcome"):
    default_detail = "A worker may report SUCCEEDED, FAILED, TIMED_OUT or OOM_KILLED."


class WorkerNameTaken(DomainError, code="worker_name_taken", status=409):
    default_detail = "A worker token with this name exists."


class WorkerNameMismatch(DomainError, code="worker_name_mismatch", status=403):
    default_detail = "A worker reports only for its own host (the name of its token)."
