"""Bulk settlement for market ticks and upkeep: set-based SQL over many holds or agents in one transaction."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from economy import errors
from economy.models import Hold, Transfer
from economy.services.ledger import ESCROW_ACCOUNT_ID, TREASURY_ACCOUNT_ID, validate_amount, validate_memo


class _Refused(Exception):
    """The batch did not claim every hold: its savepoint is rolled back, then the reason is looked up."""


def settle_holds_bulk(*, settlements: QuerySet, to_account_id: int = TREASURY_ACCOUNT_ID, memo: str = "") -> int:
    """Resolve many pending holds at once, set-based: each is charged ``charge`` (0..amount) and released the rest.

    ``settlements`` is a queryset whose ``values_list`` yields ``(hold_id, charge)`` pairs; it runs inside the
    database, so nothing is carried through Python. A charge of 0 releases the hold in full. Every hold must be
    pending and every charge within its hold, or nothing happens (``HoldNotPending`` / ``InvalidAmount``).
    Must run inside a transaction; returns the number of holds resolved.

    The batch is read in place, never copied: one pass counts it, one claims its holds and sums them per account
    (one statement on PostgreSQL; on SQLite a second pass sums them) into a temporary table of one row per account,
    from which the ledger rows and balances follow.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("settle_holds_bulk must run inside transaction.atomic()")
    select_sql, select_params = settlements.order_by().query.sql_with_params()
    batch = f"WITH b (hold_id, charge) AS ({select_sql})"
    now = timezone.now()
    pg = connection.vendor == "postgresql"
    try:
        # A savepoint: a refused batch leaves nothing behind even when the caller catches the error and commits.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"{batch} SELECT count(*), coalesce(min(charge), 0) FROM b", select_params)
            count, min_charge = cursor.fetchone()
            if count == 0:
                return 0
            if min_charge < 0:
                raise errors.InvalidAmount("A settlement charge is negative.")
            int_type = "bigint" if pg else "integer"
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS bp_settle_accounts (account_id {int_type} PRIMARY KEY, "
                f"holds {int_type} NOT NULL, held {int_type} NOT NULL, charged {int_type} NOT NULL)"
            )
            cursor.execute("DELETE FROM bp_settle_accounts")
            # Claim the holds: pending -> settled/released, each charged within its amount.
            claim = """
                UPDATE economy_hold SET
                    status = CASE WHEN b.charge > 0 THEN %s ELSE %s END,
                    settled_amount = b.charge,
                    resolved_at = %s
                FROM b
                WHERE economy_hold.id = b.hold_id AND economy_hold.status = %s AND b.charge <= economy_hold.amount
            """
            claim_params = [Hold.Status.SETTLED, Hold.Status.RELEASED, now, Hold.Status.PENDING]
            per_account = "INSERT INTO bp_settle_accounts (account_id, holds, held, charged) SELECT account_id, "
            per_account += "count(*), sum(amount), sum(charge) FROM claimed GROUP BY account_id"
            if pg:
                cursor.execute(
                    f"{batch}, claimed AS ({claim} RETURNING economy_hold.account_id, economy_hold.amount, b.charge) "
                    f"{per_account}",
                    [*select_params, *claim_params],
                )
                claimed = None
            else:
                cursor.execute(f"{batch} {claim}", [*select_params, *claim_params])
                cursor.execute("SELECT changes()")  # Python's sqlite3 counts no rows for a statement opening WITH
                claimed = cursor.fetchone()[0]
                cursor.execute(
                    f"{batch}, claimed AS (SELECT h.account_id, h.amount, b.charge FROM b "
                    f"JOIN economy_hold h ON h.id = b.hold_id) {per_account}",
                    select_params,
                )
            cursor.execute(
                "SELECT coalesce(sum(holds), 0), coalesce(sum(held), 0), coalesce(sum(charged), 0) "
                "FROM bp_settle_accounts"
            )
            holds, held, charged = (int(total) for total in cursor.fetchone())
            if (holds if claimed is None else claimed) != count:
                raise _Refused
            if pg:
                # Same lock order as every other writer: ascending account id.
                cursor.execute(
                    """
                    SELECT id FROM economy_account WHERE id IN (
                        SELECT account_id FROM bp_settle_accounts UNION SELECT %s UNION SELECT %s
                    ) ORDER BY id FOR UPDATE
                    """,
                    [ESCROW_ACCOUNT_ID, to_account_id],
                )
            # One settlement transfer for the lot, and one release transfer per account (a tick's holds by the
            # hundred thousand stay a handful of ledger rows per agent). Each hold row keeps its own outcome.
            if charged > 0:
                cursor.execute(
                    "INSERT INTO economy_transfer (debit_id, credit_id, amount, kind, memo, created_at, request_hash) "
                    "VALUES (%s, %s, %s, %s, %s, %s, '')",
                    [ESCROW_ACCOUNT_ID, to_account_id, charged, Transfer.Kind.SETTLE, memo, now],
                )
            cursor.execute(
                """
                INSERT INTO economy_transfer (debit_id, credit_id, amount, kind, memo, created_at, request_hash)
                SELECT %s, account_id, held - charged, %s, %s, %s, ''
                FROM bp_settle_accounts WHERE held > charged ORDER BY account_id
                """,
                [ESCROW_ACCOUNT_ID, Transfer.Kind.RELEASE, memo, now],
            )
            cursor.execute(
                """
                UPDATE economy_account SET balance = economy_account.balance + r.held - r.charged
                FROM bp_settle_accounts r WHERE economy_account.id = r.account_id AND r.held > r.charged
                """
            )
            # Every hold in the batch was pending (checked above), so escrow gives up exactly what they held.
            cursor.execute("UPDATE economy_account SET balance = balance - %s WHERE id = %s", [held, ESCROW_ACCOUNT_ID])
            cursor.execute("UPDATE economy_account SET balance = balance + %s WHERE id = %s", [charged, to_account_id])
            cursor.execute("DELETE FROM bp_settle_accounts")
    except _Refused:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                {batch}
                SELECT coalesce(sum(CASE WHEN b.charge > h.amount THEN 1 ELSE 0 END), 0),
                       coalesce(sum(CASE WHEN h.status = %s THEN 0 ELSE 1 END), 0)
                FROM b LEFT JOIN economy_hold h ON h.id = b.hold_id
                """,
                [*select_params, Hold.Status.PENDING],
            )
            over, not_pending = cursor.fetchone()
        if over:
            raise errors.InvalidAmount(f"{over} settlement charge(s) exceed their hold.") from None
        if not_pending:
            raise errors.HoldNotPending(f"{not_pending} hold(s) were not pending (or do not exist).") from None
        raise errors.HoldNotPending("The batch names a hold more than once.") from None
    return count


def charge_living_agents(
    *, amount: int, memo: str = "", kind: str = Transfer.Kind.UPKEEP, rate_bp: int = 0
) -> list[int]:
    """Burn ``amount`` plus ``rate_bp`` basis points of its balance (rounded down; demurrage) from every living agent
    that can pay it, set-based, in one transaction.

    Returns the ids of the living agents that could not pay (they paid nothing).
    """
    validate_amount(amount)
    validate_memo(memo)
    if isinstance(rate_bp, bool) or not isinstance(rate_bp, int) or not 0 <= rate_bp < 10_000:
        raise errors.InvalidAmount("rate_bp must be an integer from 0 to 9999.")
    now = timezone.now()
    pg = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        int_type = "bigint" if pg else "integer"
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS bp_upkeep_batch (account_id {int_type} PRIMARY KEY, charge {int_type})"
        )
        cursor.execute("DELETE FROM bp_upkeep_batch")
        if pg:
            cursor.execute(
                """
                SELECT acc.id FROM economy_account acc LEFT JOIN economy_agent ag ON ag.id = acc.agent_id
                WHERE acc.id = %s OR ag.status = 'alive' ORDER BY acc.id FOR UPDATE OF acc
                """,
                [TREASURY_ACCOUNT_ID],
            )
        cursor.execute(
            """
            INSERT INTO bp_upkeep_batch (account_id, charge)
            SELECT acc.id, %(flat)s + acc.balance * %(rate)s / 10000 FROM economy_account acc
            JOIN economy_agent ag ON ag.id = acc.agent_id
            WHERE ag.status = 'alive' AND acc.balance >= %(flat)s + acc.balance * %(rate)s / 10000
            """,
            {"flat": amount, "rate": rate_bp},
        )
        cursor.execute(
            """
            INSERT INTO economy_transfer (debit_id, credit_id, amount, kind, memo, created_at, request_hash)
            SELECT account_id, %s, charge, %s, %s, %s, '' FROM bp_upkeep_batch ORDER BY account_id
            """,
            [TREASURY_ACCOUNT_ID, kind, memo, now],
        )
        cursor.execute(
            """
            UPDATE economy_account SET balance = balance - (
                SELECT charge FROM bp_upkeep_batch WHERE bp_upkeep_batch.account_id = economy_account.id
            ) WHERE id IN (SELECT account_id FROM bp_upkeep_batch)
            """
        )
        cursor.execute(
            "UPDATE economy_account SET balance = balance + (SELECT COALESCE(SUM(charge), 0) FROM bp_upkeep_batch) "
            "WHERE id = %s",
            [TREASURY_ACCOUNT_ID],
        )
        cursor.execute(
            """
            SELECT ag.id FROM economy_agent ag JOIN economy_account acc ON acc.agent_id = ag.id
            WHERE ag.status = 'alive' AND acc.id NOT IN (SELECT account_id FROM bp_upkeep_batch)
            ORDER BY ag.id
            """
        )
        unpaid = [row[0] for row in cursor.fetchall()]
        cursor.execute("DELETE FROM bp_upkeep_batch")
    return unpaid
