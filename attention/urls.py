from django.urls import path

from attention import api

urlpatterns = [
    path("attention/price", api.AttentionPriceView.as_view(), name="attention-price"),
    path("attention/bids", api.AttentionBidsView.as_view(), name="attention-bids"),
    path("attention/bids/<id:bid_id>", api.AttentionBidDetailView.as_view(), name="attention-bid"),
    path("human/queue", api.HumanQueueView.as_view(), name="human-queue"),
    path("human/reward", api.HumanRewardView.as_view(), name="human-reward"),
    path("human/rewards", api.AgentRewardsView.as_view(), name="human-rewards"),
]
