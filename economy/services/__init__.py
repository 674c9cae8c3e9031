"""Every write to the economy, in three modules: ``agents`` (agents and tokens), ``ledger`` (movements and holds)
and ``settlement`` (set-based bulk settlement for ticks and upkeep). Callers import the package:
``from economy import services as ledger``."""

from economy.services.agents import (
    TOKEN_PREFIX,
    IssuedToken,
    create_agent,
    ensure_system_accounts,
    hash_token,
    issue_agent_token,
    revoke_agent_tokens,
)
from economy.services.ledger import (
    ESCROW_ACCOUNT_ID,
    MINT_ACCOUNT_ID,
    SYSTEM_ACCOUNTS,
    TREASURY_ACCOUNT_ID,
    burn_credits,
    hold_credits,
    lock_accounts_for,
    mint_credits,
    refund_credits,
    release_hold,
    settle_hold,
    transfer_credits,
    validate_amount,
    validate_memo,
)
from economy.services.settlement import charge_living_agents, settle_holds_bulk

__all__ = [
    "ESCROW_ACCOUNT_ID",
    "MINT_ACCOUNT_ID",
    "SYSTEM_ACCOUNTS",
    "TOKEN_PREFIX",
    "TREASURY_ACCOUNT_ID",
    "IssuedToken",
    "burn_credits",
    "charge_living_agents",
    "create_agent",
    "ensure_system_accounts",
    "hash_token",
    "hold_credits",
    "issue_agent_token",
    "lock_accounts_for",
    "mint_credits",
    "refund_credits",
    "release_hold",
    "revoke_agent_tokens",
    "settle_hold",
    "settle_holds_bulk",
    "transfer_credits",
    "validate_amount",
    "validate_memo",
]
