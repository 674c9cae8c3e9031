"""The pure evolver: a genesis program whose work improves only if the economy selects it (standard library and the
bp SDK only).

An agent of this program is its genome, kept in ``config.json``: a phrase (its work) and strategy genes (how it bids
for compute and attention, what it spends and keeps, when and how much it spawns, how much it varies its work). It
never reads its scores, its ledger history or its messages: nothing tells it whether its phrase is any good. Each
time it runs (it won a compute bid) it:

1. submits its phrase as the artifact of this execution;
2. bids for a judge's attention on this execution: ``attention_share`` of its balance, at least the reserve, if that
   leaves it half its balance;
3. spawns a child when its balance exceeds ``spawn_threshold``: the child gets ``endowment_share`` of the balance, a
   copy of the phrase with mutations (one letter with probability ``mutation_rate``, each further letter with a third
   of it) and the genes, each multiplied by a random factor around 1 and kept within bounds; the child bids
   ``compute_share`` of its endowment for its first run;
4. bids ``compute_share`` of what it has left for compute for the next tick, at least the bundle's posted cost
   while it can pay that, the bid fee and a tick's upkeep (otherwise it does not bid, and stops running): the market
   ranks bids by offer per credit of cost, so the richer an agent, the likelier it runs again. An agent's reward for
   a run arrives after that run, so an agent needs a second run to spend it: bidding the posted cost while it can
   afford it gives a poor newborn whose phrase the judge paid for that second run.

Randomness comes only from ``bp.rng()`` (seeded per execution by the economy), so a seeded economy replays exactly.
Whether a lineage prospers is decided by prices, upkeep and what the judges pay: the rewards buy compute, attention
and offspring, and nothing else carries information about the target.
"""

import json
import math
import os
import random

import bp

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ "
CONFIG_FILE = "config.json"
# A quarter of a core for 10 s: 8 runs a tick fit 2 cores, and a loaded machine rarely cuts the run at its wall time.
BUNDLE = {"cpu_millicores": 250, "memory_mb": 64, "wall_seconds": 10}
MIN_ENDOWMENT = 50  # the economy's SPAWN_MIN_ENDOWMENT default
UPKEEP = 20  # the economy's UPKEEP_PER_TICK default: kept back when it bids the posted cost
# name: (default, lowest, highest)
GENES = {
    "compute_share": (0.25, 0.05, 0.6),
    "attention_share": (0.1, 0.01, 0.5),
    "spawn_threshold": (150.0, 100.0, 10000.0),
    "endowment_share": (0.7, 0.2, 0.8),
    "mutation_rate": (0.7, 0.1, 1.0),
}
GENE_SPREAD = 0.15  # sd of the log of the factor a gene is multiplied by at birth


def rng():
    if hasattr(bp, "rng"):
        return bp.rng()
    seed = os.environ.get("BP_SEED") or f"0:{bp.agent_id()}:{bp.execution_id()}"
    return random.Random(seed)


def call(fn, *args, **kwargs):
    """Call the API; a refusal (too poor, below the reserve, capped population) is printed and survived."""
    try:
        return fn(*args, **kwargs)
    except bp.APIError as exc:
        print(f"api: {fn.__name__} refused: {exc.code} {exc.detail}")
        return None


def load_config():
    try:
        with open(CONFIG_FILE) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def save_config(config):
    with open(CONFIG_FILE, "w") as handle:
        json.dump(config, handle, indent=1, sort_keys=True)


def genes_of(config):
    """The genes (a genesis config may give some as ``params``), within bounds."""
    given = {**config.get("params", {}), **config.get("genes", {})}
    genes = {}
    for name, (default, low, high) in GENES.items():
        try:
            value = float(given.get(name, default))
        except (TypeError, ValueError):
            value = default
        genes[name] = min(high, max(low, value))
    return genes


def mutate_genes(genes, rand):
    child = {}
    for name, (_, low, high) in GENES.items():
        child[name] = round(min(high, max(low, genes[name] * math.exp(rand.gauss(0.0, GENE_SPREAD)))), 4)
    return child


def mutate_phrase(phrase, rate, rand):
    letters = list(phrase)
    chance = rate
    while letters and rand.random() < chance:
        letters[rand.randrange(len(letters))] = rand.choice(ALPHABET)
        chance = rate / 3
    return "".join(letters)


def bundle_cost(prices):
    price = {r["resource"]: r["price"] for r in prices["resources"]}
    micro = BUNDLE["wall_seconds"] * (BUNDLE["cpu_millicores"] * price["cpu"] + BUNDLE["memory_mb"] * price["memory"])
    return max(1, -(-micro // 1_000_000)), prices.get("bid_fee", 1)


def compute_offer(balance, cost, fee, share):
    """What it offers for its next run: its share of what it has, and at least the posted cost while it can pay
    that, the fee and a tick's upkeep (an agent that stops bidding stops running, and dies); None: no bid."""
    offer = int(balance * share)
    if offer < cost and cost + fee + UPKEEP <= balance:
        offer = cost
    return offer if offer >= cost and offer + fee <= balance else None


def main():
    rand = rng()
    config = load_config()
    genes = genes_of(config)
    if not config.get("phrase"):
        length = int(config.get("params", {}).get("phrase_length", 28))
        config["phrase"] = "".join(rand.choice(ALPHABET) for _ in range(max(1, length)))
        config["genes"] = genes
        save_config(config)
    phrase = config["phrase"]
    execution = int(bp.execution_id())

    submitted = call(bp.submit_artifact, phrase) is not None
    balance = call(bp.balance) or 0

    if submitted:
        attention = call(bp.request, "GET", "/attention/price")
        reserve = int(attention["price"]) if attention else 1
        offer = max(reserve, int(balance * genes["attention_share"]))
        if offer <= balance // 2 and call(bp.bid_attention, execution, offer) is not None:
            balance -= offer

    prices = call(bp.prices)
    if balance > genes["spawn_threshold"]:
        endowment = max(MIN_ENDOWMENT, int(balance * genes["endowment_share"]))
        child_genes = mutate_genes(genes, rand)
        child_config = {
            "generation": int(config.get("generation", 0)) + 1,
            "phrase": mutate_phrase(phrase, genes["mutation_rate"], rand),
            "genes": child_genes,
        }
        first_bid = None
        if prices:
            cost, _ = bundle_cost(prices)
            offer = int(endowment * child_genes["compute_share"])
            first_bid = {**BUNDLE, "max_price": offer} if offer >= cost else None
        with open("agent.py", "rb") as handle:
            code = handle.read()
        child = call(
            bp.spawn,
            name=f"e{child_config['generation']}-{rand.randrange(1 << 16):04x}",
            endowment=endowment,
            files={"agent.py": code, "config.json": json.dumps(child_config).encode()},
            first_bid=first_bid,
        )
        if child:
            balance -= endowment
            print(f"spawned {child['id']} with {endowment}: {child_config['phrase']!r}")

    if prices:
        cost, fee = bundle_cost(prices)
        offer = compute_offer(balance, cost, fee, genes["compute_share"])
        if offer is not None and call(bp.place_bid, max_price=offer, **BUNDLE) is not None:
            balance -= offer + fee

    print(f"phrase {phrase!r}, balance {balance}, genes {genes}")


if __name__ == "__main__":
    main()
