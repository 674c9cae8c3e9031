from django.contrib import admin

from core.admin import ReadOnlyAdmin
from economy.models import Account, Agent, AgentToken, Hold, Transfer


@admin.register(Agent)
class AgentAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "status", "balance", "generation", "parent", "created_at"]
    list_filter = ["status", "generation"]
    search_fields = ["name"]
    list_select_related = ["account", "parent"]

    @admin.display(ordering="account__balance")
    def balance(self, obj: Agent) -> int:
        return obj.account.balance


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "system", "agent", "balance"]
    list_select_related = ["agent"]


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "kind", "debit", "credit", "amount", "memo"]
    list_filter = ["kind"]
    list_select_related = ["debit", "credit"]
    search_fields = ["memo", "idempotency_key"]


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "amount", "settled_amount", "status", "created_at", "resolved_at"]
    list_filter = ["status"]
    list_select_related = ["account"]


@admin.register(AgentToken)
class AgentTokenAdmin(ReadOnlyAdmin):
    list_display = ["id", "agent", "label", "created_at", "expires_at", "revoked_at"]
    exclude = ["key_hash"]
