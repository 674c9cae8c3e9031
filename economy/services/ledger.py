"""The ledger: every movement of credits between accounts, and escrow holds.

Rules (docs/architecture.md, section 4):
- money is an integer; every movement is a ``Transfer`` row between two accounts, and the two balances change in the
  same database transaction, so the sum of all balances stays zero;
- an agent account cannot go below zero: the database CHECK refuses it and the service reports ``insufficient_funds``;
- row locks are always taken in ascending account id order, so concurrent writers cannot deadlock each other;
- an idempotency key is unique per payer: a retry with the same request answers what the first answered (its
  transfer, or the same refusal: ``IdempotencyRecord``), a reuse with a different request raises
  ``IdempotencyConflict``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Case, F, Q, When
from django.utils import timezone

from economy import errors
from economy.models import Account, Agent, Hold, IdempotencyRecord, Transfer

MINT_ACCOUNT_ID = -1
TREASURY_ACCOUNT_ID = -2
ESCROW_ACCOUNT_ID = -3
SYSTEM_ACCOUNTS = {
    Account.System.MINT: MINT_ACCOUNT_ID,
    Account.System.TREASURY: TREASURY_ACCOUNT_ID,
    Account.System.ESCROW: ESCROW_ACCOUNT_ID,
}

_RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
T = TypeVar("T")


# --- helpers ----------------------------------------------------------------------------------------------------


def validate_amount(amount: object) -> int:
    """Accept only a real ``int`` (not bool, float or string) in 1..BP_MAX_AMOUNT."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise errors.InvalidAmount("Amount must be an integer number of credits.")
    if amount <= 0:
        raise errors.InvalidAmount("Amount must be positive.")
    if amount > settings.BP_MAX_AMOUNT:
        raise errors.InvalidAmount(f"Amount must be at most {settings.BP_MAX_AMOUNT}.")
    return amount


def validate_memo(memo: str) -> str:
    if not isinstance(memo, str):
        raise errors.InvalidMemo("Memo must be a string.")
    if len(memo) > settings.BP_MEMO_MAX_LENGTH:
        raise errors.InvalidMemo(f"Memo must be at most {settings.BP_MEMO_MAX_LENGTH} characters.")
    return memo


def _request_hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()


def _is_overdraft(exc: IntegrityError) -> bool:
    return "account_agent_balance_non_negative" in str(exc)


def _retrying(operation: Callable[[], T], *, attempts: int = 8) -> T:
    """Run ``operation`` and retry it on a deadlock or serialization failure, unless inside an outer transaction."""
    for attempt in range(attempts):
        try:
            return operation()
        except OperationalError as exc:
            sqlstate = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
            if sqlstate not in _RETRYABLE_SQLSTATES or connection.in_atomic_block or attempt == attempts - 1:
                raise
            time.sleep(0.001 * (2**attempt))
    raise AssertionError("unreachable")


def _move(
    *,
    debit_id: int,
    credit_id: int,
    amount: int,
    kind: str,
    memo: str = "",
    idempotency_key: str | None = None,
    request_hash: str = "",
    hold_id: int | None = None,
) -> Transfer:
    """Move ``amount`` between two existing accounts in one database transaction (a savepoint when nested)."""

    def attempt() -> Transfer:
        with transaction.atomic():
            # Lock both rows in ascending id order, then change both balances with one statement.
            locked = list(
                Account.objects.select_for_update()
                .filter(id__in=(debit_id, credit_id))
                .order_by("id")
                .values_list("id", flat=True)
            )
            if len(locked) != 2:
                raise errors.UnknownAccount(f"Unknown account in movement {debit_id}->{credit_id}.")
            try:
                with transaction.atomic():
                    Account.objects.filter(id__in=(debit_id, credit_id)).update(
                        balance=Case(When(id=credit_id, then=F("balance") + amount), default=F("balance") - amount)
                    )
            except IntegrityError as exc:
                if _is_overdraft(exc):
                    raise errors.InsufficientFunds() from exc
                raise
            return Transfer.objects.create(
                debit_id=debit_id,
                credit_id=credit_id,
                amount=amount,
                kind=kind,
                memo=memo,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                hold_id=hold_id,
            )

    return _retrying(attempt)


def _agent_account_id(agent_id: int, *, must_be_alive: bool = True) -> int:
    row = Account.objects.filter(agent_id=agent_id).values_list("id", "agent__status").first()
    if row is None:
        raise errors.UnknownAgent(f"No agent with id {agent_id}.")
    if must_be_alive and row[1] != Agent.Status.ALIVE:
        raise errors.AgentDead(f"Agent {agent_id} is dead.")
    return row[0]


# --- the ledger -------------------------------------------------------------------------------------------------


def transfer_credits(
    *,
    from_id: int,
    to_id: int,
    amount: int,
    memo: str = "",
    kind: str = Transfer.Kind.TRANSFER,
    idempotency_key: str | None = None,
) -> Transfer:
    """Move credits from one living agent to another. Returns the transfer (the first one for a repeated key)."""
    validate_amount(amount)
    validate_memo(memo)
    if from_id == to_id:
        raise errors.SelfTransfer()
    request_hash = _request_hash("agent-transfer", from_id, to_id, amount, memo, kind)
    if idempotency_key is not None:
        return _keyed_transfer(
            from_id=from_id,
            to_id=to_id,
            amount=amount,
            memo=memo,
            kind=kind,
            key=idempotency_key,
            request_hash=request_hash,
        )
    return _unkeyed_transfer(
        from_id=from_id, to_id=to_id, amount=amount, memo=memo, kind=kind, request_hash=request_hash
    )


def _unkeyed_transfer(
    *, from_id: int, to_id: int, amount: int, memo: str, kind: str, request_hash: str, key: str | None = None
) -> Transfer:
    if connection.vendor == "postgresql":
        return _retrying(
            lambda: _transfer_pg(
                from_id=from_id,
                to_id=to_id,
                amount=amount,
                memo=memo,
                kind=kind,
                idempotency_key=key,
                request_hash=request_hash,
            )
        )
    debit_id = _agent_account_id(from_id)
    credit_id = _agent_account_id(to_id)
    return _move(
        debit_id=debit_id,
        credit_id=credit_id,
        amount=amount,
        kind=kind,
        memo=memo,
        idempotency_key=key,
        request_hash=request_hash,
    )


# Refusals a key remembers: the transfer was attempted against the ledger and the ledger said no. (Validation
# errors are raised before anything is attempted and are not remembered.)
_REMEMBERED_REFUSALS: dict[str, type[errors.DomainError]] = {
    cls.code: cls for cls in (errors.InsufficientFunds, errors.AgentDead, errors.UnknownAgent)
}


def _keyed_transfer(*, from_id: int, to_id: int, amount: int, memo: str, kind: str, key: str, request_hash: str):
    """A transfer under an idempotency key: the key is claimed (one row per payer and key, unique) in the same
    database transaction that makes the transfer or records its refusal, so concurrent requests with one key wait for
    the first and answer what it answered, and a refusal is remembered like a success (issue 9, finding 5)."""
    if not isinstance(key, str) or not key or len(key) > 255:
        raise errors.InvalidIdempotencyKey()

    def attempt() -> Transfer:
        refusal: errors.DomainError | None = None
        try:
            with transaction.atomic():
                record_id = _claim_key(payer_id=from_id, key=key, request_hash=request_hash)
                if record_id is None:  # another request holds (held) this key: answer what it answered
                    return _replay(payer_id=from_id, key=key, request_hash=request_hash)
                records = IdempotencyRecord.objects.filter(id=record_id)
                try:
                    with transaction.atomic():
                        transfer = _unkeyed_transfer(
                            from_id=from_id,
                            to_id=to_id,
                            amount=amount,
                            memo=memo,
                            kind=kind,
                            request_hash=request_hash,
                            key=key,
                        )
                except tuple(_REMEMBERED_REFUSALS.values()) as exc:
                    refusal = exc
                    records.update(refusal_code=exc.code, refusal_detail=str(exc.detail)[:500])
                else:
                    records.update(transfer_id=transfer.id)
                    return transfer
        except IntegrityError as exc:
            if "transfer_idempotency_key_per_payer" not in str(exc):
                raise
            # A transfer made under this key before keys had their own records (they were kept on the transfer).
            return _replay(payer_id=from_id, key=key, request_hash=request_hash)
        raise refusal

    return _retrying(attempt)


_CLAIM_SQL = """
INSERT INTO economy_idempotencyrecord (payer_id, key, request_hash, refusal_code, refusal_detail, created_at)
VALUES (%(payer)s, %(key)s, %(hash)s, '', '', %(now)s)
ON CONFLICT (payer_id, key) DO NOTHING
RETURNING id
"""


def _claim_key(*, payer_id: int, key: str, request_hash: str) -> int | None:
    """Insert the key's record and return its id, or None when the key is taken. A concurrent insert of the same key
    waits for the other transaction (PostgreSQL's unique index; SQLite has one writer) and then finds it taken, so
    the caller reads the committed outcome."""
    if connection.vendor == "postgresql":
        params = {"payer": payer_id, "key": key, "hash": request_hash, "now": timezone.now()}
        row = _execute_one(_CLAIM_SQL, params)
        return row[0] if row else None
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(payer_id=payer_id, key=key, request_hash=request_hash).id
    except IntegrityError as exc:
        if "UNIQUE" not in str(exc).upper():
            raise
        return None


def _legacy_transfer(*, payer_id: int, key: str) -> Transfer | None:
    """A transfer made under this key before keys had their own records (they were kept on the transfer only)."""
    return Transfer.objects.filter(debit__agent_id=payer_id, idempotency_key=key).first()


def _replay(*, payer_id: int, key: str, request_hash: str) -> Transfer:
    record = IdempotencyRecord.objects.filter(payer_id=payer_id, key=key).select_related("transfer").first()
    if record is None:
        first = _legacy_transfer(payer_id=payer_id, key=key)
        if first is None:
            raise errors.IdempotencyConflict("The idempotency key could not be read back; retry.")
        found_hash, transfer, refusal = first.request_hash, first, None
    else:
        found_hash, transfer, refusal = record.request_hash, record.transfer, record.refusal_code
    if found_hash != request_hash:
        raise errors.IdempotencyConflict()
    if transfer is not None:
        transfer.replayed = True
        return transfer
    error = _REMEMBERED_REFUSALS[refusal](record.refusal_detail or None)
    error.replayed = True
    raise error


# One statement on PostgreSQL: lock both accounts in id order, check both agents are alive, move the money and
# record the transfer. The agent rows are locked too (each right after its account, so the order stays the account
# order): a transfer that waited for a dying agent's account re-reads the agent's status after the death commits,
# where an unlocked joined row would keep the stale "alive" of the statement's snapshot. It commits on its own (one
# round trip) or, inside an outer transaction, under a savepoint.
_TRANSFER_SQL = """
WITH parties AS (
    SELECT acc.id, acc.agent_id
    FROM economy_account acc JOIN economy_agent ag ON ag.id = acc.agent_id
    WHERE acc.agent_id IN (%(from_id)s, %(to_id)s) AND ag.id IN (%(from_id)s, %(to_id)s) AND ag.status = 'alive'
    ORDER BY acc.id
    FOR UPDATE OF acc FOR NO KEY UPDATE OF ag
), moved AS (
    UPDATE economy_account acc
    SET balance = acc.balance + CASE WHEN acc.agent_id = %(to_id)s THEN %(amount)s ELSE -%(amount)s END
    FROM parties
    WHERE acc.id = parties.id AND (SELECT count(*) FROM parties) = 2
    RETURNING acc.id, acc.agent_id
)
INSERT INTO economy_transfer (debit_id, credit_id, amount, kind, memo, created_at, idempotency_key, request_hash)
SELECT d.id, c.id, %(amount)s, %(kind)s, %(memo)s, %(now)s, %(key)s, %(hash)s
FROM moved d, moved c
WHERE d.agent_id = %(from_id)s AND c.agent_id = %(to_id)s
RETURNING id, debit_id, credit_id
"""


def _transfer_pg(
    *, from_id: int, to_id: int, amount: int, memo: str, kind: str, idempotency_key: str | None, request_hash: str
) -> Transfer:
    now = timezone.now()
    params = {
        "from_id": from_id,
        "to_id": to_id,
        "amount": amount,
        "kind": kind,
        "memo": memo,
        "now": now,
        "key": idempotency_key,
        "hash": request_hash,
    }
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                row = _execute_one(_TRANSFER_SQL, params)
        else:
            row = _execute_one(_TRANSFER_SQL, params)
    except IntegrityError as exc:
        if _is_overdraft(exc):
            raise errors.InsufficientFunds() from exc
        raise
    if row is None:
        # Nothing moved: find out which party is missing or dead.
        _agent_account_id(from_id)
        _agent_account_id(to_id)
        raise errors.TransferNotApplied()
    return Transfer(
        id=row[0],
        debit_id=row[1],
        credit_id=row[2],
        amount=amount,
        kind=kind,
        memo=memo,
        created_at=now,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )


def _execute_one(sql: str, params: dict) -> tuple | None:
    """Run a hot statement as a server-side prepared statement (Django's own cursors bind on the client, so the
    server would parse and plan it on every call); errors come out as Django's database exceptions."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()


def mint_credits(*, agent_id: int, amount: int, memo: str = "", kind: str = Transfer.Kind.MINT) -> Transfer:
    """Create new credits for a living agent (genesis endowments and judges' rewards)."""
    validate_amount(amount)
    validate_memo(memo)
    return _move(debit_id=MINT_ACCOUNT_ID, credit_id=_agent_account_id(agent_id), amount=amount, kind=kind, memo=memo)


def burn_credits(*, agent_id: int, amount: int, memo: str = "", kind: str = Transfer.Kind.BURN) -> Transfer:
    """Take credits out of circulation into the treasury (fees, upkeep)."""
    validate_amount(amount)
    validate_memo(memo)
    return _move(
        debit_id=_agent_account_id(agent_id, must_be_alive=False),
        credit_id=TREASURY_ACCOUNT_ID,
        amount=amount,
        kind=kind,
        memo=memo,
    )


def refund_credits(*, agent_id: int, amount: int, memo: str = "") -> Transfer:
    """Return credits from the treasury to an agent (e.g. the price of an execution lost by the system)."""
    validate_amount(amount)
    validate_memo(memo)
    return _move(
        debit_id=TREASURY_ACCOUNT_ID,
        credit_id=_agent_account_id(agent_id, must_be_alive=False),
        amount=amount,
        kind=Transfer.Kind.REFUND,
        memo=memo,
    )


def lock_accounts_for(*, agent_id: int, system_account_ids: tuple[int, ...]) -> None:
    """Lock an agent's account and the system accounts a transaction is about to move credits between, all at once
    in ascending id order (the order every writer uses). A transaction that makes several movements (a bid's hold
    into escrow, then its fee into the treasury) otherwise takes the second system account while already holding the
    agent's, against the order of the set-based writers (upkeep locks the treasury, then every living agent): a
    deadlock the load test found. Must run inside a transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("lock_accounts_for must run inside transaction.atomic()")
    list(
        Account.objects.select_for_update()
        .filter(Q(agent_id=agent_id) | Q(id__in=system_account_ids))
        .order_by("id")
        .values_list("id", flat=True)
    )


def hold_credits(*, agent_id: int, amount: int, memo: str = "") -> Hold:
    """Reserve ``amount`` of a living agent's credits in escrow (phase one of a two-phase transfer)."""
    validate_amount(amount)
    validate_memo(memo)
    account_id = _agent_account_id(agent_id)
    with transaction.atomic():
        hold = Hold.objects.create(account_id=account_id, amount=amount, memo=memo)
        _move(
            debit_id=account_id,
            credit_id=ESCROW_ACCOUNT_ID,
            amount=amount,
            kind=Transfer.Kind.HOLD,
            memo=memo,
            hold_id=hold.id,
        )
    return hold


def settle_hold(*, hold_id: int, amount: int, to_account_id: int = TREASURY_ACCOUNT_ID, memo: str = "") -> Hold:
    """Charge ``amount`` (0..held) of a pending hold to ``to_account_id`` and release the rest, exactly once."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise errors.InvalidAmount("Settled amount must be a non-negative integer.")
    with transaction.atomic():
        hold = _claim_hold(hold_id=hold_id, new_status=Hold.Status.SETTLED, settled_amount=amount)
        _out_of_escrow(hold, credit_id=to_account_id, amount=amount, kind=Transfer.Kind.SETTLE, memo=memo)
        rest = hold.amount - amount
        _out_of_escrow(hold, credit_id=hold.account_id, amount=rest, kind=Transfer.Kind.RELEASE, memo=memo)
    return hold


def release_hold(*, hold_id: int, memo: str = "") -> Hold:
    """Give a pending hold back to its owner in full, exactly once."""
    with transaction.atomic():
        hold = _claim_hold(hold_id=hold_id, new_status=Hold.Status.RELEASED, settled_amount=0)
        _out_of_escrow(hold, credit_id=hold.account_id, amount=hold.amount, kind=Transfer.Kind.RELEASE, memo=memo)
    return hold


def _out_of_escrow(hold: Hold, *, credit_id: int, amount: int, kind: str, memo: str) -> None:
    """Move ``amount`` of a resolved hold out of escrow to ``credit_id`` (nothing when it is 0)."""
    if amount:
        _move(debit_id=ESCROW_ACCOUNT_ID, credit_id=credit_id, amount=amount, kind=kind, memo=memo, hold_id=hold.id)


def _claim_hold(*, hold_id: int, new_status: str, settled_amount: int) -> Hold:
    """Compare-and-set the hold from pending to its final state; only one caller ever wins."""
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = Hold.objects.filter(id=hold_id, status=Hold.Status.PENDING).update(
                status=new_status, settled_amount=settled_amount, resolved_at=now
            )
    except IntegrityError as exc:
        raise errors.InvalidAmount("Settled amount exceeds the hold.") from exc
    if claimed != 1:
        if not Hold.objects.filter(id=hold_id).exists():
            raise errors.UnknownHold(f"No hold with id {hold_id}.")
        raise errors.HoldNotPending()
    return Hold.objects.get(id=hold_id)
