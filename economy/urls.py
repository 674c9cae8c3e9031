from django.urls import path

from economy import api

urlpatterns = [
    path("economic/balance/<id:agent_id>", api.BalanceView.as_view(), name="economic-balance"),
    path("economic/transfer", api.TransferView.as_view(), name="economic-transfer"),
    path("economic/history/<id:agent_id>", api.HistoryView.as_view(), name="economic-history"),
]
