"""A fast, no-Docker model of the embedded economy's rules with the pure evolver, for tuning (not the product).

Same order as EmbeddedEconomy.run_tick: the market clears the bids placed last tick (8 evolver bundles fit the
experiment's 2,000 millicores; ranked by offer per credit of posted cost, ties by a seeded draw; every winner pays
the first loser's multiple of its cost, at least the posted cost) and moves the price one bounded step toward its
target utilization; the winners run the evolver's logic in a seeded order (artifact, attention bid, spawn, compute
bid at the new price); every run that bid the reserve is judged (WEASEL, difflib, as ``target_judge``); scores are
minted (rewarded: to the author; shuffled: to a random living agent); the life tick charges flat + demurrage upkeep
and kills the broke and the idle. Figures per arm: the final best (the best score judged in the last 10 ticks, 0
when none was, as ``manage.py experiment``), extinctions, the selection differential, births and runs per tick.

    .venv/bin/python bench/economy_sim.py [--seeds 40] [--ticks 60] [--set UPKEEP=20 ...] [--gene spawn_threshold=150]
    .venv/bin/python bench/economy_sim.py --trace 3 [--arm shuffled]     # one run, tick by tick
"""

from __future__ import annotations

import argparse
import collections
import difflib
import math
import random
import statistics
import sys
from pathlib import Path

# The evolver's genes, mutations and bid rule are the program's own (it imports the bp SDK, which it does not call
# here).
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "evolution" / "programs"), str(ROOT / "sandbox" / "runtime")]
from evolver import ALPHABET, GENES, compute_offer, mutate_genes, mutate_phrase  # noqa: E402

# SLOTS: bundles a tick (2,000 millicores / 250); MICRO_PER_PRICE: the bundle's CPU-millicore-seconds (250 x 10),
# so cost = price x 2,500 / 1e6 credits (memory, near its floor, is left out); ATT_RESERVE: the attention reserve's
# floor (16 slots a tick are never all sold, so it stays there).
P = {
    "SLOTS": 8, "CPU0": 10_000, "MICRO_PER_PRICE": 2_500, "TARGET": 0.8, "ALPHA": 0.5, "STEP": 0.125,
    "UPKEEP": 20, "DEMURRAGE_BP": 1000, "IDLE": 3, "REWARD": 100, "ATT_RESERVE": 10, "SPAWN_FEE": 20,
    "MIN_ENDOW": 50, "GENESIS": 4000, "CAP": 64, "BID_FEE": 1, "FLOOR": 8, "WINDOW": 10,
}  # fmt: skip
TARGET = "WEASEL"
_scores: dict[str, int] = {}


def score(text: str) -> int:
    """attention.judges.target_judge"""
    if text not in _scores:
        target = " ".join(TARGET.lower().split())
        clipped = " ".join(text[: 8 * len(target)].lower().split())[: 4 * len(target)]
        _scores[text] = round(10 * difflib.SequenceMatcher(None, clipped, target, autojunk=False).ratio())
    return _scores[text]


class Agent:
    def __init__(self, aid, phrase, genes, balance, born, gen, parent=None):
        self.id, self.phrase, self.genes, self.balance, self.born, self.gen = aid, phrase, genes, balance, born, gen
        self.parent, self.last_run, self.alive = parent, born, True


def cost_of(price: int) -> int:
    return max(1, -(-price * P["MICRO_PER_PRICE"] // 1_000_000))


def run(seed: int, ticks: int, arm: str, trace: bool = False) -> list[dict]:
    rnd = random.Random(seed)
    price, ema = P["CPU0"], P["TARGET"]
    agents: dict[int, Agent] = {}

    def new_agent(phrase, genes, balance, born, gen, parent=None):
        agent = Agent(len(agents) + 1, phrase, genes, balance, born, gen, parent)
        agents[agent.id] = agent
        return agent

    genesis = new_agent(
        "".join(rnd.choice(ALPHABET) for _ in TARGET), {k: v[0] for k, v in GENES.items()}, P["GENESIS"], 0, 0
    )
    bids = {genesis.id: 2 * cost_of(price)}  # the genesis agent bids twice its bundle's posted cost
    genesis.balance -= bids[genesis.id] + P["BID_FEE"]
    rows, judged_log = [], []
    for tick in range(1, ticks + 1):
        # The market tick: clear at the posted price, then move the price (the runners see the new one).
        cost = cost_of(price)
        ranked = sorted(bids.items(), key=lambda kv: (-kv[1], rnd.random()))
        winners, losers = ranked[: P["SLOTS"]], ranked[P["SLOTS"] :]
        pay = math.ceil(cost * max(1.0, losers[0][1] / cost)) if losers else cost
        for aid, offer in losers:
            agents[aid].balance += offer
        runners = []
        for aid, offer in winners:
            agents[aid].balance += offer - min(offer, pay)
            runners.append(agents[aid])
        ema = P["ALPHA"] * len(winners) / P["SLOTS"] + (1 - P["ALPHA"]) * ema
        room = P["TARGET"] if ema < P["TARGET"] else 1 - P["TARGET"]
        step = max(-P["STEP"], min(P["STEP"], (ema - P["TARGET"]) / room * P["STEP"]))
        price = max(P["FLOOR"], round(price * (1 + step)))
        cost = cost_of(price)
        bids, births, judged = {}, 0, []
        rnd.shuffle(runners)
        for a in runners:  # evolution/programs/evolver.py main()
            a.last_run, g = tick, a.genes
            offer = max(P["ATT_RESERVE"], int(a.balance * g["attention_share"]))
            if offer <= a.balance // 2:
                a.balance -= offer
                judged.append((a, offer))
            alive = sum(x.alive for x in agents.values())
            if a.balance > g["spawn_threshold"] and alive < P["CAP"]:
                endowment = max(P["MIN_ENDOW"], int(a.balance * g["endowment_share"]))
                if endowment + P["SPAWN_FEE"] <= a.balance:
                    child_genes = mutate_genes(g, rnd)
                    a.balance -= endowment + P["SPAWN_FEE"]
                    phrase = mutate_phrase(a.phrase, g["mutation_rate"], rnd)
                    child = new_agent(phrase, child_genes, endowment, tick, a.gen + 1, a.id)
                    births += 1
                    first = int(endowment * child_genes["compute_share"])
                    if first >= cost and first + P["BID_FEE"] <= child.balance:
                        bids[child.id] = first
                        child.balance -= first + P["BID_FEE"]
            offer = compute_offer(a.balance, cost, P["BID_FEE"], g["compute_share"])
            if offer is not None:
                bids[a.id] = offer
                a.balance -= offer + P["BID_FEE"]
        # The attention tick (every bid wins at the reserve) and the scripted judge.
        scores, minted = [], 0
        living = [x for x in agents.values() if x.alive]
        for a, held in judged:
            a.balance += held - P["ATT_RESERVE"]
            s = score(a.phrase)
            scores.append(s)
            judged_log.append((tick, a.id, s))
            minted += s * P["REWARD"]
            if s:
                to = a if arm == "rewarded" else living[rnd.randrange(len(living))]
                to.balance += s * P["REWARD"]
        # The life tick: upkeep (flat + demurrage), the broke without escrow and the idle die.
        deaths = 0
        for a in [x for x in agents.values() if x.alive]:
            charge = P["UPKEEP"] + a.balance * P["DEMURRAGE_BP"] // 10000
            if a.balance >= charge:
                a.balance -= charge
            elif a.id not in bids:
                a.alive = False
            if a.alive and P["IDLE"] and tick - a.last_run >= P["IDLE"] and a.born < tick - P["IDLE"] + 1:
                a.alive = False
            deaths += not a.alive
        for aid in [aid for aid in bids if not agents[aid].alive]:
            bids.pop(aid)
        alive = [x for x in agents.values() if x.alive]
        rows.append(
            {
                "tick": tick, "alive": len(alive), "runs": len(runners), "births": births, "deaths": deaths,
                "best": max(scores) if scores else None, "mean": statistics.mean(scores) if scores else None,
                "gen": max((x.gen for x in alive), default=0), "cost": cost, "minted": minted,
                "sd": selection_differential(judged_log, agents, tick),
            }
        )  # fmt: skip
        if trace:
            living_scores = sorted(collections.Counter(score(x.phrase) for x in alive).items())
            print(f"tick {tick:>3} cost {cost:>4} runs {len(runners)} births {births} deaths {deaths} "
                  f"scores judged {sorted(scores)} living by score {living_scores}")  # fmt: skip
    return rows


def selection_differential(judged_log, agents, tick) -> float:
    """evolution.services.selection_differential: Cov(children born, mean judged score) over the agents judged in
    the last WINDOW ticks."""
    start = tick - P["WINDOW"]
    scores: dict[int, list[int]] = {}
    for t, aid, s in judged_log:
        if start < t <= tick:
            scores.setdefault(aid, []).append(s)
    if len(scores) < 2:
        return 0.0
    children = dict.fromkeys(scores, 0)
    for a in agents.values():
        if a.parent in children and start < a.born <= tick:
            children[a.parent] += 1
    x = {aid: statistics.fmean(values) for aid, values in scores.items()}
    mean_x, mean_y = statistics.fmean(x.values()), statistics.fmean(children.values())
    return sum((x[a] - mean_x) * (children[a] - mean_y) for a in scores) / len(scores)


def final_best(rows, ticks) -> int:
    window = max(1, min(10, ticks // 5))
    return max((r["best"] for r in rows if r["tick"] > ticks - window and r["best"] is not None), default=0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--ticks", type=int, default=60)
    parser.add_argument("--set", nargs="*", default=[], help="rule=value, e.g. UPKEEP=10 DEMURRAGE_BP=500")
    parser.add_argument("--gene", nargs="*", default=[], help="gene=default, e.g. spawn_threshold=300")
    parser.add_argument("--trace", type=int, default=0, help="print one run (this seed) tick by tick")
    parser.add_argument("--arm", default="rewarded")
    args = parser.parse_args()
    for item in args.set:
        k, v = item.split("=")
        P[k] = float(v) if "." in v else int(v)
    for item in args.gene:
        k, v = item.split("=")
        GENES[k] = (float(v), *GENES[k][1:])
    if args.trace:
        run(args.trace, args.ticks, args.arm, trace=True)
        return
    seeds = range(1, args.seeds + 1)
    finals = {}
    for arm in ("rewarded", "shuffled"):
        results = [run(seed, args.ticks, arm) for seed in seeds]
        finals[arm] = [final_best(rows, args.ticks) for rows in results]
        extinct = sum(1 for rows in results if rows[-1]["alive"] == 0)
        print(
            f"{arm:9} mean final best {statistics.mean(finals[arm]):.2f}; extinct {extinct}/{len(results)}; "
            f"mean selection differential {statistics.mean(r['sd'] for rows in results for r in rows):+.3f}; "
            f"births/run {statistics.mean(sum(r['births'] for r in rows) for rows in results):.0f}; "
            f"runs/tick {statistics.mean(statistics.mean(r['runs'] for r in rows) for rows in results):.1f}; "
            f"max generation {statistics.mean(max(r['gen'] for r in rows) for rows in results):.1f}"
        )
        print(f"{'':9} final best per seed {finals[arm][:20]}{' ...' if len(seeds) > 20 else ''}")
    pairs = list(zip(finals["rewarded"], finals["shuffled"], strict=True))
    blocks = [pairs[i : i + 5] for i in range(0, len(pairs) - 4, 5)]
    met = sum(
        1 for block in blocks if sum(r > s for r, s in block) >= 4 and statistics.mean(r - s for r, s in block) >= 2
    )
    print(
        f"rewarded beats shuffled in {sum(r > s for r, s in pairs)}/{len(pairs)} seeds; blocks of 5 seeds meeting the "
        f"targets (>= 4 of 5, mean difference >= 2): {met}/{len(blocks)}"
    )


if __name__ == "__main__":
    main()
