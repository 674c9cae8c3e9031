from django.urls import path

from market import api

urlpatterns = [
    path("market/prices", api.PricesView.as_view(), name="market-prices"),
    path("market/bids", api.BidsView.as_view(), name="market-bids"),
    path("market/bids/<id:bid_id>", api.BidDetailView.as_view(), name="market-bid"),
    path("market/ticks", api.TicksView.as_view(), name="market-ticks"),
]
