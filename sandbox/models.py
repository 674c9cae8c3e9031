"""Executions of agents' programs, their workspaces, and the credentials of sandbox workers.

Invariants the database enforces:
- one execution per winning bid (UNIQUE), so a repeated hand-over of a tick creates nothing twice;
- a running execution has a worker and a lease; a finished one has a finish time (CHECK);
- an execution token belongs to exactly one execution (UNIQUE).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from economy.models import Agent, AgentToken
from market.models import Bid


class Workspace(models.Model):
    """An agent's files (``agent.py`` is the entry point), kept centrally so that any worker host can run it.

    ``files`` maps a relative path to its content in base64; ``size_bytes`` is the decoded total.
    """

    agent = models.OneToOneField(Agent, on_delete=models.CASCADE, primary_key=True, related_name="workspace")
    files = models.JSONField(default=dict)
    size_bytes = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True, help_text="Set when the agent died; kept for lineage.")

    def __str__(self) -> str:
        return f"workspace of agent#{self.agent_id}"


class WorkerToken(models.Model):
    """A sandbox worker host's credential (``Authorization: Worker <token>``); only the sha256 is stored."""

    name = models.CharField(max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"worker token {self.name}"

    # DRF treats request.user as authenticated when this is true; a worker token authenticates itself.
    @property
    def is_authenticated(self) -> bool:
        return True


class Execution(models.Model):
    class Status(models.TextChoices):
        QUEUED = "QUEUED", "queued"
        RUNNING = "RUNNING", "running"
        SUCCEEDED = "SUCCEEDED", "succeeded"
        FAILED = "FAILED", "failed"
        TIMED_OUT = "TIMED_OUT", "timed out"
        OOM_KILLED = "OOM_KILLED", "killed for memory"
        LOST = "LOST", "lost"

    class WorkspaceOutcome(models.TextChoices):
        PENDING = "", "not yet"
        SAVED = "saved", "saved"
        UNCHANGED = "unchanged", "unchanged (nothing returned)"
        TOO_LARGE = "too_large", "refused: over the workspace cap"
        INVALID = "invalid", "refused: bad file names"
        ARCHIVED = "archived", "refused: the agent died meanwhile (its workspace is archived)"

    FINAL = (Status.SUCCEEDED, Status.FAILED, Status.TIMED_OUT, Status.OOM_KILLED, Status.LOST)

    # Indexed by execution_agent_recent below; a tick inserts one row per winner, so no index is spare.
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="executions", db_index=False)
    bid = models.OneToOneField(Bid, on_delete=models.PROTECT, related_name="execution")
    cpu_millicores = models.PositiveIntegerField()
    memory_mb = models.PositiveIntegerField()
    wall_seconds = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0, help_text="Claims so far; the current claim's fencing number.")
    worker = models.CharField(max_length=100, blank=True, help_text="Name of the worker that claimed it last.")
    worker_token = models.ForeignKey(
        WorkerToken, null=True, blank=True, on_delete=models.PROTECT, related_name="executions", db_index=False
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    image = models.CharField(max_length=200, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    stdout = models.TextField(blank=True)
    stderr = models.TextField(blank=True)
    stdout_truncated = models.BooleanField(default=False)
    stderr_truncated = models.BooleanField(default=False)
    error = models.TextField(blank=True, help_text="What went wrong outside the agent's program, if anything.")
    workspace_outcome = models.CharField(max_length=10, choices=WorkspaceOutcome.choices, blank=True, default="")
    artifact = models.TextField(blank=True, help_text="What the agent submitted for judges (capped).")
    artifact_submitted_at = models.DateTimeField(null=True, blank=True)
    refunded = models.BigIntegerField(default=0, help_text="Credits given back when the execution was lost.")
    run_ended_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the worker reported the agent's run over (its compute delivered); a LOST execution whose run "
        "had ended is not refunded.",
    )
    dispatches = models.PositiveIntegerField(default=0, help_text="Times the execution was sent to the sandbox queue.")
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="When it was last sent to the sandbox queue.")
    redispatch_at = models.DateTimeField(
        null=True, blank=True, help_text="When the reaper may send it again if it is still QUEUED."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "OOM_KILLED", "LOST"]),
                name="execution_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="RUNNING") | (Q(lease_expires_at__isnull=False) & Q(worker_token__isnull=False)),
                name="execution_running_has_lease",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["QUEUED", "RUNNING"]) | Q(finished_at__isnull=False),
                name="execution_final_has_finish_time",
            ),
            models.CheckConstraint(condition=Q(refunded__gte=0), name="execution_refund_non_negative"),
        ]
        indexes = [
            models.Index(fields=["agent", "-id"], name="execution_agent_recent"),
            models.Index(fields=["lease_expires_at"], condition=Q(status="RUNNING"), name="execution_running_lease"),
            models.Index(fields=["redispatch_at"], condition=Q(status="QUEUED"), name="execution_queued_redispatch"),
        ]

    def __str__(self) -> str:
        return f"execution#{self.pk} {self.status}"


class ExecutionToken(models.Model):
    """Links an agent token to the one execution it was issued for (valid only while that execution runs)."""

    token = models.OneToOneField(AgentToken, on_delete=models.CASCADE, related_name="execution_link")
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="tokens")
    attempt = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"token#{self.token_id} for execution#{self.execution_id}"
