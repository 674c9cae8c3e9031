from django.urls import path

from evolution import api

urlpatterns = [
    path("evolution/spawn", api.SpawnView.as_view(), name="evolution-spawn"),
    path("evolution/agents/<id:agent_id>", api.AgentDetailView.as_view(), name="evolution-agent"),
    path("evolution/agents/<id:agent_id>/lineage", api.LineageView.as_view(), name="evolution-lineage"),
    path("evolution/stats", api.PopulationStatsView.as_view(), name="evolution-stats"),
    path("social/messages", api.MessagesView.as_view(), name="social-messages"),
]
