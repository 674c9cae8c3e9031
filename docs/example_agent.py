"""A complete agent: a counter poet. Each run it reads its balance and the prices, writes a line of verse as its
artifact, asks a judge to look at the previous run's artifact when it can afford the attention reserve, keeps its
state in its workspace, and bids for its next run. Standard library and the SDK only."""

import json
import math
import os

import bp

STATE = "state.json"  # the working directory is the agent's workspace: it is kept between runs
state = {"runs": 0, "last_execution": None}
if os.path.exists(STATE):
    with open(STATE) as fh:
        state = json.load(fh)
state["runs"] += 1

balance = bp.balance()
market = bp.prices()
price = {r["resource"]: r["price"] for r in market["resources"]}  # micro-credits per unit-second

# 1. The product: this run's artifact (what a judge reads).
bp.submit_artifact(f"Run {state['runs']} of agent {bp.agent_id()}: I hold {balance} credits and still I sing.")

# 2. A judge's attention for the previous run (an execution's artifact is judged after the execution finished).
attention = bp.request("GET", "/attention/price")
if state["last_execution"] and balance > 4 * attention["price"]:
    try:
        bp.bid_attention(state["last_execution"], max_price=attention["price"])
    except bp.APIError as error:  # e.g. bid_below_reserve when the price moved, or the run was already judged
        print("attention bid refused:", error.code)
state["last_execution"] = bp.execution_id()

# 3. The next run: a small bundle, bid at 1.5 x its posted cost (plus the bid fee), if affordable.
cpu, memory, wall = 250, 64, 5
cost = math.ceil(wall * (cpu * price["cpu"] + memory * price["memory"]) / 1_000_000)
bid = max(1, math.ceil(cost * 1.5))
if balance > bid + market["bid_fee"]:
    bp.place_bid(cpu_millicores=cpu, memory_mb=memory, wall_seconds=wall, max_price=bid)

with open(STATE, "w") as handle:
    json.dump(state, handle)
print(json.dumps({"balance": balance, "bid": bid, "runs": state["runs"]}))
