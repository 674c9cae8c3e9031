"""Every write of the sandbox: workspaces, executions (queue, claim, lease, result, loss) and worker tokens.

State changes of an execution are compare-and-set updates (``filter(id=…, status=…).update(…) == 1``) so that a
re-delivered task, a late worker or a concurrent reaper can never apply a second outcome:

    QUEUED ──claim──▶ RUNNING ──result──▶ SUCCEEDED | FAILED | TIMED_OUT | OOM_KILLED
                        │  ▲
                        │  └─re-claim after the lease expired (attempts + 1; the old claim is fenced off)
                        └──lease expired, reaper──▶ LOST (the price paid is refunded unless the run had ended)

Refunds: the system gives back only what the system lost. A LOST execution is refunded when its agent's run did not
end (the worker or its host died, the claim was taken over); once the worker has reported the run over
(``run_ended_at``: a heartbeat the worker sends beside the result, or the result itself, whichever is recorded first)
the compute was delivered, and an execution that is then lost (the result never arrived, e.g. because the agent's
output made it unpostable) is not refunded.

Dispatch: a new execution is sent to the sandbox queue once when the tick commits. The reaper sends a QUEUED one
again only when its ``redispatch_at`` has passed, and each send doubles the wait before the next
(``SANDBOX_REDISPATCH_SECONDS`` times 2 to the n, at most ``SANDBOX_REDISPATCH_MAX_SECONDS``): a backlog is not flooded.

Each claim issues a fresh agent token for that execution only; it is revoked when the outcome is recorded.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from economy import errors as ledger_errors
from economy import services as ledger
from economy.determinism import execution_seed
from economy.models import Agent, AgentToken
from market import services as market
from market.models import Bid, WorkerHost
from sandbox import errors, tasks
from sandbox.image import runtime_image_tag
from sandbox.models import Execution, ExecutionToken, WorkerToken, Workspace

DEFAULT_PROGRAM = b'import bp\n\nprint("balance:", bp.balance())\n'
WORKER_TOKEN_PREFIX = "bpw_"  # noqa: S105 - a public prefix, not a secret
WORKER_STATUSES = (
    Execution.Status.SUCCEEDED,
    Execution.Status.FAILED,
    Execution.Status.TIMED_OUT,
    Execution.Status.OOM_KILLED,
)


@dataclass(frozen=True)
class ExecutionSpec:
    """What a worker needs to run one claimed execution."""

    execution_id: int
    agent_id: int
    attempt: int
    token: str
    cpu_millicores: int
    memory_mb: int
    wall_seconds: int
    files: dict[str, str]  # path -> base64
    image: str
    pids_limit: int
    log_cap: int
    workspace_max_bytes: int
    lease_seconds: int
    workspace_max_files: int
    max_result_bytes: int
    seed: int  # BP_SEED in the container: economy.determinism.execution_seed(execution_id)


@dataclass(frozen=True)
class ExecutionOutcome:
    """What a worker reports about one run."""

    status: str
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    image: str = ""
    error: str = ""
    files: dict[str, bytes] | None = None
    workspace_too_large: bool = False


# --- helpers ----------------------------------------------------------------------------------------------------


def _clean_text(text: str, cap: int) -> tuple[str, bool]:
    """PostgreSQL text cannot hold NUL; cut to ``cap`` characters. Returns the text and whether it was cut."""
    text = text.replace("\x00", "\ufffd")
    return (text[:cap], True) if len(text) > cap else (text, False)


def _revoke_execution_tokens(*, execution_id: int) -> int:
    tokens = ExecutionToken.objects.filter(execution_id=execution_id).values("token_id")
    return ledger.revoke_agent_tokens(token_ids=tokens)


def validate_workspace(files: dict[str, bytes]) -> int:
    """Check names and sizes of a workspace; return its total size in bytes."""
    if len(files) > settings.SANDBOX_WORKSPACE_MAX_FILES:
        raise errors.InvalidWorkspace(f"A workspace holds at most {settings.SANDBOX_WORKSPACE_MAX_FILES} files.")
    total = 0
    for name, content in files.items():
        normalized = posixpath.normpath(name) if isinstance(name, str) and name else ""
        if (
            not normalized
            or normalized != name
            or name.startswith("/")
            or normalized == ".."
            or normalized.startswith("../")
            or "\x00" in name
            or "\\" in name
            or len(name) > 255
        ):
            raise errors.InvalidWorkspace(f"Bad workspace file name: {name!r}.")
        if not isinstance(content, bytes):
            raise errors.InvalidWorkspace(f"File {name!r} is not bytes.")
        total += len(content)
    if total > settings.SANDBOX_WORKSPACE_MAX_BYTES:
        raise errors.WorkspaceTooLarge(
            f"The workspace is {total} bytes; at most {settings.SANDBOX_WORKSPACE_MAX_BYTES} are kept."
        )
    return total


def _encode_files(files: dict[str, bytes]) -> dict[str, str]:
    return {name: base64.b64encode(content).decode("ascii") for name, content in sorted(files.items())}


def decode_files(encoded: dict[str, str]) -> dict[str, bytes]:
    try:
        return {name: base64.b64decode(value, validate=True) for name, value in encoded.items()}
    except (binascii.Error, ValueError, TypeError) as exc:
        raise errors.InvalidWorkspace("Workspace files must be base64.") from exc


# --- workspaces and agents ----------------------------------------------------------------------------------------


def set_workspace(*, agent_id: int, files: dict[str, bytes]) -> Workspace:
    """Replace an agent's workspace (names and the size cap are checked first)."""
    size = validate_workspace(files)
    if Workspace.objects.filter(agent_id=agent_id, archived_at__isnull=False).exists():
        raise errors.InvalidWorkspace("The workspace is archived (the agent is dead).")
    workspace, _ = Workspace.objects.update_or_create(
        agent_id=agent_id, defaults={"files": _encode_files(files), "size_bytes": size}
    )
    return workspace


def archive_workspace(*, agent_id: int) -> bool:
    """Keep a dead agent's workspace, read-only, for its lineage; returns whether it was archived now."""
    return Workspace.objects.filter(agent_id=agent_id, archived_at__isnull=True).update(archived_at=timezone.now()) == 1


@transaction.atomic
def create_agent_with_program(
    *, name: str, credits: int = 0, code: bytes | None = None
) -> tuple[Agent, ledger.IssuedToken]:
    """Create an agent (economy) and its workspace holding ``agent.py`` (a tiny default program when None)."""
    agent, issued = ledger.create_agent(name=name, credits=credits)
    set_workspace(agent_id=agent.id, files={"agent.py": DEFAULT_PROGRAM if code is None else code})
    return agent, issued


# --- worker tokens ------------------------------------------------------------------------------------------------


def issue_worker_token(*, name: str) -> tuple[WorkerToken, str]:
    """Create the token of worker host ``name``; the raw secret is returned once and only its hash is kept."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ledger_errors.InvalidName()
    raw = WORKER_TOKEN_PREFIX + secrets.token_urlsafe(32)
    if WorkerToken.objects.filter(name=name).exists():
        raise errors.WorkerNameTaken(f"A worker token named {name!r} exists.")
    token = WorkerToken.objects.create(name=name, key_hash=ledger.hash_token(raw))
    return token, raw


def report_worker_capacity(
    *, worker: WorkerToken, cpu_millicores: int, memory_mb: int, name: str | None = None
) -> WorkerHost:
    """The capacity ``worker``'s host offers; the host is the token's own (a different ``name`` is refused)."""
    if name is not None and name != worker.name:
        raise errors.WorkerNameMismatch(
            f"This token reports for the worker host {worker.name!r}, not {name!r}.", worker=worker.name
        )
    return market.report_worker_capacity(name=worker.name, cpu_millicores=cpu_millicores, memory_mb=memory_mb)


# --- executions ---------------------------------------------------------------------------------------------------


def create_executions_for_tick(*, tick_number: int, enqueue: bool | None = None) -> list[int]:
    """One QUEUED execution per WON bid of the tick (one INSERT … SELECT), each handed to a sandbox worker (Celery)
    once the transaction commits when ``enqueue`` (default: ``SANDBOX_DISPATCH == "celery"``); the embedded economy
    runs them itself. A repeated call creates nothing twice (one execution per bid)."""
    now = timezone.now()
    execution = Execution._meta.db_table
    bid = Bid._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {execution} (
                agent_id, bid_id, cpu_millicores, memory_mb, wall_seconds, status, attempts, worker, image,
                stdout, stderr, stdout_truncated, stderr_truncated, error, workspace_outcome, artifact, refunded,
                created_at, dispatches, dispatched_at, redispatch_at
            )
            SELECT agent_id, id, cpu_millicores, memory_mb, wall_seconds, %s, 0, '', '',
                   '', '', FALSE, FALSE, '', '', '', 0, %s, %s, %s, %s
            FROM {bid} b
            WHERE tick_number = %s AND status = %s AND NOT EXISTS (SELECT 1 FROM {execution} e WHERE e.bid_id = b.id)
            ORDER BY id
            RETURNING id
            """,
            [Execution.Status.QUEUED, now, *_first_dispatch(now), tick_number, Bid.Status.WON],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
        if settings.SANDBOX_DISPATCH == "celery" if enqueue is None else enqueue:
            for execution_id in ids:
                transaction.on_commit(lambda execution_id=execution_id: tasks.send_execution(execution_id))
    return ids


def redispatch_delay(dispatches: int) -> timedelta:
    """How long after its ``dispatches``-th send a still-QUEUED execution waits before the reaper sends it again."""
    base = settings.SANDBOX_REDISPATCH_SECONDS
    return timedelta(seconds=min(base * 2 ** max(0, min(dispatches - 1, 30)), settings.SANDBOX_REDISPATCH_MAX_SECONDS))


def _first_dispatch(now: datetime) -> tuple[int, datetime | None, datetime | None]:
    """``dispatches, dispatched_at, redispatch_at`` of a new execution (sent once when the tick commits)."""
    if settings.SANDBOX_DISPATCH != "celery":
        return 0, None, None
    return 1, now, now + redispatch_delay(1)


def claim_execution(*, execution_id: int, worker: WorkerToken) -> ExecutionSpec:
    """QUEUED (or RUNNING with an expired lease) → RUNNING for ``worker``; issue the execution's agent token.

    Raises ``ExecutionNotQueued`` when someone else holds it or it has finished (the caller stops quietly).
    """
    now = timezone.now()
    lease = timedelta(seconds=settings.SANDBOX_LEASE_SECONDS)
    with transaction.atomic():
        claimed = (
            Execution.objects.filter(id=execution_id)
            .filter(Q(status=Execution.Status.QUEUED) | Q(status=Execution.Status.RUNNING, lease_expires_at__lt=now))
            .update(
                status=Execution.Status.RUNNING,
                attempts=F("attempts") + 1,
                worker=worker.name,
                worker_token=worker,
                lease_expires_at=now + lease,
                started_at=now,
            )
        )
        if claimed != 1:
            if not Execution.objects.filter(id=execution_id).exists():
                raise errors.UnknownExecution(f"No execution {execution_id}.")
            raise errors.ExecutionNotQueued(f"Execution {execution_id} is not waiting for a worker.")
        execution = Execution.objects.select_related("agent").get(id=execution_id)
        _revoke_execution_tokens(execution_id=execution_id)  # an earlier attempt's token, if any
        issued = ledger.issue_agent_token(
            agent=execution.agent,
            label=f"execution {execution_id}",
            expires_at=now + timedelta(seconds=execution.wall_seconds + settings.SANDBOX_TOKEN_MARGIN_SECONDS),
        )
        ExecutionToken.objects.create(token=issued.token, execution=execution, attempt=execution.attempts)
        files = Workspace.objects.filter(agent_id=execution.agent_id).values_list("files", flat=True).first()
        return ExecutionSpec(
            execution_id=execution.id,
            agent_id=execution.agent_id,
            attempt=execution.attempts,
            token=issued.raw,
            cpu_millicores=execution.cpu_millicores,
            memory_mb=execution.memory_mb,
            wall_seconds=execution.wall_seconds,
            files=files if files is not None else _encode_files({"agent.py": DEFAULT_PROGRAM}),
            image=settings.SANDBOX_IMAGE or runtime_image_tag(),
            pids_limit=settings.SANDBOX_PIDS_LIMIT,
            log_cap=settings.SANDBOX_LOG_CAP,
            workspace_max_bytes=settings.SANDBOX_WORKSPACE_MAX_BYTES,
            lease_seconds=settings.SANDBOX_LEASE_SECONDS,
            workspace_max_files=settings.SANDBOX_WORKSPACE_MAX_FILES,
            max_result_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
            seed=execution_seed(execution.id),
        )


def _refuse_unclaimed(*, execution_id: int) -> None:
    status = Execution.objects.filter(id=execution_id).values_list("status", flat=True).first()
    if status is None:
        raise errors.UnknownExecution(f"No execution {execution_id}.")
    if status in Execution.FINAL:
        raise errors.ResultAlreadyRecorded(f"Execution {execution_id} is {status}.")
    raise errors.ExecutionNotClaimed()


def renew_execution_lease(*, execution_id: int, worker: WorkerToken, attempt: int, run_ended: bool = False) -> datetime:
    """The claiming worker is still running it: push the lease forward. Refused once the claim is gone.

    ``run_ended``: the agent's run is over and its result follows (the compute was delivered: no refund if the
    result never arrives)."""
    now = timezone.now()
    expires = now + timedelta(seconds=settings.SANDBOX_LEASE_SECONDS)
    changes: dict = {"lease_expires_at": expires}
    if run_ended:
        changes["run_ended_at"] = now
    renewed = Execution.objects.filter(
        id=execution_id, status=Execution.Status.RUNNING, worker_token=worker, attempts=attempt
    ).update(**changes)
    if renewed != 1:
        _refuse_unclaimed(execution_id=execution_id)
    return expires


def record_execution_result(
    *, execution_id: int, worker: WorkerToken, attempt: int, outcome: ExecutionOutcome
) -> Execution:
    """Record the outcome of the current claim exactly once; keep the returned workspace if it is valid and within
    the cap (else say why and keep the old one); revoke the execution's token."""
    if outcome.status not in WORKER_STATUSES:
        raise errors.InvalidOutcome()
    cap = settings.SANDBOX_LOG_CAP
    stdout, stdout_cut = _clean_text(outcome.stdout, cap)
    stderr, stderr_cut = _clean_text(outcome.stderr, cap)
    files_size = 0
    workspace_outcome = Execution.WorkspaceOutcome.UNCHANGED
    if outcome.workspace_too_large:
        workspace_outcome = Execution.WorkspaceOutcome.TOO_LARGE
    elif outcome.files is not None:
        try:
            files_size = validate_workspace(outcome.files)
            workspace_outcome = Execution.WorkspaceOutcome.SAVED
        except errors.WorkspaceTooLarge:
            workspace_outcome = Execution.WorkspaceOutcome.TOO_LARGE
        except errors.InvalidWorkspace:
            workspace_outcome = Execution.WorkspaceOutcome.INVALID
    now = timezone.now()
    with transaction.atomic():
        recorded = Execution.objects.filter(
            id=execution_id, status=Execution.Status.RUNNING, worker_token=worker, attempts=attempt
        ).update(
            status=outcome.status,
            exit_code=outcome.exit_code,
            stdout=stdout,
            stderr=stderr,
            stdout_truncated=outcome.stdout_truncated or stdout_cut,
            stderr_truncated=outcome.stderr_truncated or stderr_cut,
            image=_clean_text(outcome.image, 200)[0],
            error=_clean_text(outcome.error, 4000)[0],
            workspace_outcome=workspace_outcome,
            finished_at=now,
            # The worker says so beside the result, not before it: whichever arrives first records the end.
            run_ended_at=Coalesce(F("run_ended_at"), Value(now)),
        )
        if recorded != 1:
            _refuse_unclaimed(execution_id=execution_id)
        execution = Execution.objects.get(id=execution_id)
        if workspace_outcome == Execution.WorkspaceOutcome.SAVED and not _save_returned_workspace(
            agent_id=execution.agent_id, files=outcome.files or {}, size=files_size
        ):
            execution.workspace_outcome = Execution.WorkspaceOutcome.ARCHIVED
            execution.save(update_fields=["workspace_outcome"])
        _revoke_execution_tokens(execution_id=execution_id)
    return execution


def _save_returned_workspace(*, agent_id: int, files: dict[str, bytes], size: int) -> bool:
    """Replace the agent's workspace with what a run returned, unless it was archived (the agent died meanwhile:
    its last workspace is kept for its lineage). The row is locked, so a death committing meanwhile waits for us or
    we see its archive. Returns whether it was saved."""
    current = Workspace.objects.select_for_update().filter(agent_id=agent_id).first()
    if current is not None and current.archived_at is not None:
        return False
    if current is None:
        Workspace.objects.create(agent_id=agent_id, files=_encode_files(files), size_bytes=size)
    else:
        current.files, current.size_bytes = _encode_files(files), size
        current.save(update_fields=["files", "size_bytes", "updated_at"])
    return True


def submit_artifact(*, token: AgentToken, text: str) -> Execution:
    """Attach ``text`` to the running execution that ``token`` was issued for (a later submission replaces it)."""
    link = ExecutionToken.objects.filter(token_id=token.id).values_list("execution_id", flat=True).first()
    if link is None:
        raise errors.NotExecutionToken()
    text = text.replace("\x00", "\ufffd")
    if len(text) > settings.SANDBOX_ARTIFACT_MAX_CHARS:
        raise errors.ArtifactTooLarge(
            f"The artifact is {len(text)} characters; at most {settings.SANDBOX_ARTIFACT_MAX_CHARS} are allowed.",
            max_chars=settings.SANDBOX_ARTIFACT_MAX_CHARS,
        )
    attached = Execution.objects.filter(id=link, agent_id=token.agent_id, status=Execution.Status.RUNNING).update(
        artifact=text, artifact_submitted_at=timezone.now()
    )
    if attached != 1:
        raise errors.ExecutionNotRunning()
    return Execution.objects.get(id=link)


def mark_execution_lost(*, execution_id: int) -> bool:
    """RUNNING with an expired lease → LOST, exactly once. The agent gets back what its winning bid paid unless its
    run had ended (the compute was delivered; only the result was lost). Returns whether this call made the change."""
    now = timezone.now()
    price = Subquery(Bid.objects.filter(id=OuterRef("bid_id")).values("price")[:1])
    with transaction.atomic():
        lost = Execution.objects.filter(
            id=execution_id, status=Execution.Status.RUNNING, lease_expires_at__lt=now
        ).update(
            status=Execution.Status.LOST,
            finished_at=now,
            error=Case(
                When(
                    run_ended_at__isnull=True,
                    then=Value("The worker stopped renewing its lease (lost with its host or process)."),
                ),
                default=Value("The run ended but its result never arrived; the compute was delivered: no refund."),
            ),
            refunded=Case(When(run_ended_at__isnull=True, then=Coalesce(price, Value(0))), default=Value(0)),
        )
        if lost != 1:
            return False
        execution = Execution.objects.get(id=execution_id)
        if execution.refunded > 0:
            ledger.refund_credits(
                agent_id=execution.agent_id, amount=execution.refunded, memo=f"execution {execution_id} lost"
            )
        _revoke_execution_tokens(execution_id=execution_id)
    return True


def redispatch_stale_executions(*, limit: int = 1000) -> list[int]:
    """Send QUEUED executions nobody claimed again (a publish lost after the tick committed, or a broker that lost
    its messages), each only once its ``redispatch_at`` has passed; every send doubles the wait before the next, so
    a backlog of queued work is not re-published every reaper beat. Concurrent reapers skip each other's rows.
    A duplicate message is harmless: claims are conditional."""
    if settings.SANDBOX_DISPATCH != "celery":
        return []
    now = timezone.now()
    with transaction.atomic():
        due = list(
            Execution.objects.select_for_update(skip_locked=True)
            .filter(status=Execution.Status.QUEUED)
            .filter(Q(redispatch_at__lte=now) | Q(redispatch_at__isnull=True))
            .order_by("id")
            .values_list("id", "dispatches")[:limit]
        )
        by_count: dict[int, list[int]] = {}
        for execution_id, dispatches in due:
            by_count.setdefault(dispatches, []).append(execution_id)
        for dispatches, ids in by_count.items():
            Execution.objects.filter(id__in=ids).update(
                dispatches=dispatches + 1, dispatched_at=now, redispatch_at=now + redispatch_delay(dispatches + 1)
            )
        ids = sorted(execution_id for execution_id, _ in due)
        for execution_id in ids:
            transaction.on_commit(lambda execution_id=execution_id: tasks.send_execution(execution_id))
    return ids


def forget_stale_worker_hosts() -> int:
    """Remove worker hosts that stopped reporting (they no longer count towards the market's supply)."""
    return market.remove_stale_worker_hosts()


def reap_lost_executions(*, limit: int = 1000) -> list[int]:
    """Mark every RUNNING execution whose lease has expired as LOST (one transaction each); return their ids."""
    candidates = Execution.objects.filter(status=Execution.Status.RUNNING, lease_expires_at__lt=timezone.now())
    ids = list(candidates.order_by("lease_expires_at").values_list("id", flat=True)[:limit])
    return [execution_id for execution_id in ids if mark_execution_lost(execution_id=execution_id)]
