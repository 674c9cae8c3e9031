"""A fast, no-Docker model of the embedded economy's rules with the pure evolver, for tuning (not the product).

Same order as EmbeddedEconomy.run_tick: the market clears the bids placed last tick (4 bundles fit; ranked by offer
per credit of posted cost; every winner pays the first loser's multiple of its cost, at least the posted cost); the
winners run the evolver's logic (artifact, attention bid, spawn, compute bid); every run that bid the reserve is
judged (WEASEL, difflib); scores are minted (rewarded: to the author; shuffled: to a random living agent); the life
tick charges flat + demurrage upkeep and kills the broke and the idle. Prices move with EIP-1559's bounded step.

    .venv/bin/python bench/economy_sim.py [--seeds 10] [--ticks 60] [--set UPKEEP=10 ...]
"""

from __future__ import annotations

import argparse
import difflib
import math
import random
import statistics
import sys
from pathlib import Path

# The evolver's genes and mutations are the program's own (it imports the bp SDK, which it does not call here).
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "evolution" / "programs"), str(ROOT / "sandbox" / "runtime")]
from evolver import ALPHABET, GENES, mutate_genes, mutate_phrase  # noqa: E402

P = {
    "SLOTS": 4, "CPU0": 10_000, "MICRO_PER_PRICE": 2_500, "TARGET": 0.8, "ALPHA": 0.5, "UPKEEP": 10,
    "DEMURRAGE_BP": 1000, "IDLE": 3, "REWARD": 100, "ATT_RESERVE": 10, "SPAWN_FEE": 20, "MIN_ENDOW": 50,
    "GENESIS": 1000, "CAP": 64, "BID_FEE": 1, "FLOOR": 8,
}  # fmt: skip
TARGET = "weasel"


def score(text: str) -> int:
    t = " ".join(text.lower().split())[:24]
    return round(10 * difflib.SequenceMatcher(None, t, TARGET, autojunk=False).ratio())


class Agent:
    def __init__(self, aid, phrase, genes, balance, born, gen):
        self.id, self.phrase, self.genes, self.balance, self.born, self.gen = aid, phrase, genes, balance, born, gen
        self.last_run = born
        self.alive = True


def cost_of(price):
    return max(1, -(-price * P["MICRO_PER_PRICE"] // 1_000_000))


def run(seed: int, ticks: int, arm: str, survival_bid: bool = True):
    rnd = random.Random(seed)
    price, ema = P["CPU0"], P["TARGET"]
    agents = {}
    next_id = [1]

    def new_agent(phrase, genes, balance, born, gen):
        a = Agent(next_id[0], phrase, genes, balance, born, gen)
        agents[a.id] = a
        next_id[0] += 1
        return a

    g0 = {k: v[0] for k, v in GENES.items()}
    genesis = new_agent("".join(rnd.choice(ALPHABET) for _ in range(6)), g0, P["GENESIS"], 0, 0)
    bids = {genesis.id: 2 * cost_of(price)}
    genesis.balance -= bids[genesis.id] + P["BID_FEE"]
    rows = []
    births_total = deaths_total = 0
    for tick in range(1, ticks + 1):
        cost = cost_of(price)
        ranked = sorted(bids.items(), key=lambda kv: (-kv[1], rnd.random()))
        winners, losers = ranked[: P["SLOTS"]], ranked[P["SLOTS"] :]
        multiple = max(1.0, losers[0][1] / cost) if losers else 1.0
        pay = min(math.ceil(cost * multiple), 10**12)
        for aid, offer in losers:
            agents[aid].balance += offer
        runners = []
        for aid, offer in winners:
            a = agents[aid]
            a.balance += offer - min(offer, pay)
            if a.alive:
                runners.append(a)
        util = len(winners) / P["SLOTS"]
        bids = {}
        births = 0
        judged = []
        for a in runners:
            a.last_run = tick
            g = a.genes
            # attention at the reserve (everyone judged)
            att = max(P["ATT_RESERVE"], int(a.balance * g["attention_share"]))
            if att <= a.balance // 2:
                a.balance -= P["ATT_RESERVE"]
                judged.append(a)
            if a.balance > g["spawn_threshold"] and sum(x.alive for x in agents.values()) < P["CAP"]:
                endow = max(P["MIN_ENDOW"], int(a.balance * g["endowment_share"]))
                if endow + P["SPAWN_FEE"] <= a.balance:
                    cg = mutate_genes(g, rnd)
                    phrase = mutate_phrase(a.phrase, g["mutation_rate"], rnd)
                    a.balance -= endow + P["SPAWN_FEE"]
                    child = new_agent(phrase, cg, endow, tick, a.gen + 1)
                    births += 1
                    first = int(endow * cg["compute_share"])
                    if first >= cost and first + P["BID_FEE"] <= child.balance:
                        bids[child.id] = first
                        child.balance -= first + P["BID_FEE"]
            offer = int(a.balance * g["compute_share"])
            if survival_bid and offer < cost <= a.balance // 2:
                offer = cost
            if offer >= cost and offer + P["BID_FEE"] <= a.balance:
                bids[a.id] = offer
                a.balance -= offer + P["BID_FEE"]
        scores = []
        minted = 0
        living = [x for x in agents.values() if x.alive]
        for a in judged:
            s = score(a.phrase)
            scores.append(s)
            amount = s * P["REWARD"]
            minted += amount
            if amount:
                to = a if arm == "rewarded" else living[rnd.randrange(len(living))]
                to.balance += amount
        deaths = 0
        for a in list(agents.values()):
            if not a.alive:
                continue
            charge = P["UPKEEP"] + a.balance * P["DEMURRAGE_BP"] // 10000
            held = a.id in bids
            if a.balance >= charge:
                a.balance -= charge
            elif not held:
                a.alive = False
                deaths += 1
                continue
            if P["IDLE"] and tick - a.last_run >= P["IDLE"] and not held and a.born < tick - P["IDLE"] + 1:
                a.alive = False
                deaths += 1
        for aid in [aid for aid in bids if not agents[aid].alive]:
            bids.pop(aid)
        ema = P["ALPHA"] * util + (1 - P["ALPHA"]) * ema
        room = P["TARGET"] if ema < P["TARGET"] else 1 - P["TARGET"]
        step = max(-0.125, min(0.125, (ema - P["TARGET"]) / (8 * room)))
        price = max(P["FLOOR"], round(price * (1 + step)))
        alive = [x for x in agents.values() if x.alive]
        births_total += births
        deaths_total += deaths
        rows.append(
            {
                "tick": tick, "alive": len(alive), "runs": len(runners), "births": births, "deaths": deaths,
                "best": max(scores) if scores else None, "mean": statistics.mean(scores) if scores else None,
                "gen": max((x.gen for x in alive), default=0), "cost": cost,
                "credits": sum(x.balance for x in alive) + sum(bids.values()),
            }
        )  # fmt: skip
        if not alive:
            break
    return rows


def final_best(rows, window=5):
    vals = [r["best"] for r in rows[-window:] if r["best"] is not None]
    return max(vals) if vals else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--ticks", type=int, default=60)
    parser.add_argument("--set", nargs="*", default=[])
    parser.add_argument("--gene", nargs="*", default=[])
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    for item in args.set:
        k, v = item.split("=")
        P[k] = float(v) if "." in v else int(v)
    for item in args.gene:
        k, v = item.split("=")
        GENES[k] = (float(v), *GENES[k][1:])
    out = {}
    for arm in ("rewarded", "shuffled"):
        res = [run(seed, args.ticks, arm) for seed in range(1, args.seeds + 1)]
        fb = [final_best(r) for r in res]
        ext = sum(1 for r in res if r[-1]["alive"] == 0)
        gens = [max(x["gen"] for x in r) for r in res]
        births = [sum(x["births"] for x in r) for r in res]
        deaths = [sum(x["deaths"] for x in r) for r in res]
        alive = [statistics.mean(x["alive"] for x in r[10:]) if len(r) > 10 else 0 for r in res]
        runs = [statistics.mean(x["runs"] for x in r[10:]) if len(r) > 10 else 0 for r in res]
        out[arm] = fb
        print(
            f"{arm:9} final_best {fb} mean {statistics.mean(fb):.2f} extinct {ext} gen {gens}"
            f" births~{statistics.mean(births):.0f}"
            f" deaths~{statistics.mean(deaths):.0f} alive~{statistics.mean(alive):.1f} runs~{statistics.mean(runs):.1f}"
        )
        if args.verbose:
            for r in res[:2]:
                print(" ".join(f"{x['cost']}" for x in r))
    wins = sum(a > b for a, b in zip(out["rewarded"], out["shuffled"], strict=True))
    print(f"rewarded beats shuffled in {wins}/{args.seeds}")


if __name__ == "__main__":
    main()
