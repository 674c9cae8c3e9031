from django.contrib import admin

from core.admin import ReadOnlyAdmin
from evolution.models import LifeEvent, Message, PopulationStats


@admin.register(LifeEvent)
class LifeEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "kind", "agent", "cause"]
    list_filter = ["kind"]
    list_select_related = ["agent"]


@admin.register(PopulationStats)
class PopulationStatsAdmin(ReadOnlyAdmin):
    list_display = ["tick", "alive", "births", "deaths", "max_generation", "credits_in_circulation", "gini"]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "sender", "recipient"]
    list_select_related = ["sender", "recipient"]
