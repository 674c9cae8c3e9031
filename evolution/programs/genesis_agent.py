"""The genesis agent: a small program that can live in the bp economy (standard library and the bp SDK only).

Each time it runs (it won a compute bid) it:
1. learns from the judges: ``bp.rewards()`` names each judged execution and its score, so it keeps the best phrase
   it has produced so far and which letters did not help where;
2. works: produces a new phrase, a mutation of its best one (one untried letter at one place, and now and then a
   random jump), and submits it as its artifact;
3. bids for attention for its previous artifact: what it expects the judges to pay for it (its best score so far
   times the reward per point it has seen), so agents with better work outbid richer ones with worse;
4. bids for compute for the next tick, within its means, so that it runs again;
5. spawns a child with mutated parameters (and its best phrase) when it is rich enough;
6. tells its kin (by message) what the judges said of its work, and adopts what its kin found;
7. saves its state in its workspace.
Nothing here decides who survives: prices, upkeep and judges do.
"""

import json
import os
import random
import re

import bp

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ "
STATE_FILE = "state.json"
CONFIG_FILE = "config.json"
DEFAULT_PARAMS = {
    "bid_multiplier": 1.6,  # offer this many times the posted cost of the bundle
    "mutation_rate": 0.1,  # chance of a random jump at each character, besides the one tried letter
    "attention_value_share": 0.5,  # share of an artifact's expected reward offered for a judge's attention
    "spawn_threshold": 400,  # spawn when the balance exceeds this
    "endowment_share": 0.35,  # share of the balance given to a child
    "phrase_length": 28,
}
PRIOR_REWARD_PER_POINT = 50  # until a reward has been seen
MAX_ATTENTION_SHARE = 0.4  # never offer more than this share of the balance for attention
BUNDLE = {"cpu_millicores": 250, "memory_mb": 64, "wall_seconds": 10}
RESERVE_TICKS = 3  # keep enough for a few ticks of upkeep


def load(name, default):
    try:
        with open(name) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return default


def save(name, data):
    with open(name, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)


def call(fn, *args, **kwargs):
    """Call the API; an error (refused, too poor, unreachable) is printed and survived."""
    try:
        return fn(*args, **kwargs)
    except bp.APIError as exc:
        print(f"api: {fn.__name__} refused: {exc.code} {exc.detail}")
        return None


def mutate(state, rate, rng):
    """One new letter at one position not yet tried there (what the judges said of the rest is kept), plus, at
    ``rate`` per character, random changes that let a lineage jump."""
    best = list(state["best_phrase"])
    position = rng.randrange(len(best))
    tried = state["tried"].setdefault(str(position), [best[position]])
    untried = [c for c in ALPHABET if c not in tried] or list(ALPHABET)
    best[position] = rng.choice(untried)
    return "".join(rng.choice(ALPHABET) if rng.random() < rate / 4 else c for c in best), position


def judged(state):
    """What the judges said of this agent's work: (execution id, score, credits) from ``bp.rewards()`` (the rewards
    as data), or parsed from reward transfers ('reward: execution N scored S by ...') on an older SDK."""
    if hasattr(bp, "rewards"):
        page = call(bp.rewards)
        return [
            (str(entry["execution_id"]), int(entry["score"]), int(entry.get("credits") or 0))
            for entry in (page or {}).get("results", [])
            if entry.get("score") is not None
        ]
    found = []
    for entry in (call(bp.history) or {}).get("results", []):
        match = re.search(r"execution (\d+) scored (\d+)", entry.get("memo", ""))
        if entry.get("kind") == "reward" and match:
            found.append((match.group(1), int(match.group(2)), int(entry["amount"])))
    return found


def learn(state):
    """Keep the best phrase, remember which letters did not help where, and the reward per point. Returns how many
    judged artifacts it learned from."""
    learned = 0
    for execution, score, credits in judged(state):
        if score and credits:
            state["reward_per_point"] = credits // score
        produced = state["produced"].pop(execution, None)
        if produced is None:
            continue
        phrase, position = produced
        learned += 1
        if score > state["best_score"]:
            # What did not help elsewhere most likely still does not: keep it.
            state["best_score"], state["best_phrase"] = score, phrase
        else:
            state["tried"].setdefault(str(position), []).append(phrase[position])
    # Forget old unscored work so the state stays small.
    for execution in sorted(state["produced"], key=int)[:-20]:
        state["produced"].pop(execution)
    return learned


def listen(state):
    """Kin tell each other what the judges said: adopt a better phrase (with what was tried from it), or, for the
    same phrase, add the letters they found useless where."""
    inbox = call(bp.messages)
    for message in reversed((inbox or {}).get("results", [])):  # oldest first
        try:
            news = json.loads(message["body"])
            score, phrase, tried = int(news["best_score"]), str(news["phrase"]), dict(news["tried"])
        except (ValueError, KeyError, TypeError):
            continue  # not news from kin
        if len(phrase) != len(state["best_phrase"]):
            continue
        if score > state["best_score"]:
            state["best_score"], state["best_phrase"], state["tried"] = score, phrase, tried
        elif score == state["best_score"] and phrase == state["best_phrase"]:
            for position, letters in tried.items():
                mine = state["tried"].setdefault(str(position), [])
                mine.extend(c for c in letters if c not in mine)


def tell_kin(state):
    """Tell living ancestors and descendants (at most a dozen) the best phrase and what was tried from it."""
    lineage = call(bp.request, "GET", f"/evolution/agents/{bp.agent_id()}/lineage")
    if not lineage:
        return
    kin = [a for a in lineage["ancestors"] + lineage["descendants"] if a["status"] == "alive"][:12]
    news = json.dumps({"best_score": state["best_score"], "phrase": state["best_phrase"], "tried": state["tried"]})
    for relative in kin:
        call(bp.send_message, relative["id"], news)


def bundle_cost(prices):
    price = {r["resource"]: r["price"] for r in prices["resources"]}
    micro = BUNDLE["wall_seconds"] * (BUNDLE["cpu_millicores"] * price["cpu"] + BUNDLE["memory_mb"] * price["memory"])
    return max(1, -(-micro // 1_000_000)), prices.get("bid_fee", 1)


def main():
    config = load(CONFIG_FILE, {})
    params = {**DEFAULT_PARAMS, **config.get("params", {})}
    execution = int(bp.execution_id())
    # bp.rng() is seeded by the economy for this execution (exact replay); an older SDK falls back to BP_SEED.
    rng = (
        bp.rng()
        if hasattr(bp, "rng")
        else random.Random(os.environ.get("BP_SEED") or f"{config.get('seed', 0)}:{execution}")
    )
    state = load(STATE_FILE, {})
    start = config.get("phrase") or "".join(rng.choice(ALPHABET) for _ in range(params["phrase_length"]))
    state.setdefault("best_phrase", start)
    state.setdefault("best_score", config.get("best_score", -1))
    state.setdefault("tried", config.get("tried", {}))
    state.setdefault("reward_per_point", config.get("reward_per_point", PRIOR_REWARD_PER_POINT))
    state.setdefault("produced", {})
    state.setdefault("runs", 0)
    state["runs"] += 1

    listen(state)
    if learn(state):
        tell_kin(state)
    phrase, position = mutate(state, params["mutation_rate"], rng)
    if call(bp.submit_artifact, phrase) is not None:
        state["produced"][str(execution)] = [phrase, position]

    balance = call(bp.balance) or 0
    previous = state.get("last_execution")
    if previous:
        expected = max(1, state["best_score"]) * state["reward_per_point"]
        offer = int(expected * params["attention_value_share"] * rng.uniform(0.9, 1.1))
        offer = min(offer, int(balance * MAX_ATTENTION_SHARE))
        if offer > 0 and call(bp.bid_attention, previous, offer) is not None:
            balance -= offer
    state["last_execution"] = execution

    prices = call(bp.prices)
    if prices:
        cost, fee = bundle_cost(prices)
        offer = max(cost, int(cost * params["bid_multiplier"]))
        affordable = balance >= offer + fee + RESERVE_TICKS * 2
        if affordable and call(bp.place_bid, max_price=offer, **BUNDLE) is not None:
            balance -= offer + fee

    if balance > params["spawn_threshold"]:
        endowment = int(balance * params["endowment_share"])
        child_params = {
            key: (value if key == "phrase_length" else round(value * rng.uniform(0.8, 1.25), 3))
            for key, value in params.items()
        }
        child_config = {
            "seed": rng.randrange(1 << 30),
            "generation": config.get("generation", 0) + 1,
            "params": child_params,
            "phrase": state["best_phrase"],
            "best_score": state["best_score"],
            "tried": state["tried"],
            "reward_per_point": state.get("reward_per_point", PRIOR_REWARD_PER_POINT),
        }
        with open("agent.py", "rb") as handle:
            code = handle.read()
        child = call(
            bp.spawn,
            name=f"g{child_config['generation']}-{rng.randrange(1 << 16):04x}",
            endowment=endowment,
            files={"agent.py": code, "config.json": json.dumps(child_config).encode()},
            first_bid={**BUNDLE, "max_price": max(1, int(endowment * 0.05))},
        )
        if child:
            print(f"spawned {child['id']} with {endowment}")

    save(STATE_FILE, state)
    print(f"run {state['runs']}: phrase {phrase!r}, best {state['best_score']}, balance {balance}")


if __name__ == "__main__":
    main()
