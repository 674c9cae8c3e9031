"""The life cycle: genesis, spawning, upkeep and death, population statistics, and messages."""

from __future__ import annotations

import json
import logging
from fractions import Fraction

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, OuterRef, Subquery, Sum
from django.utils import timezone

from attention import services as attention
from attention.models import HumanReward
from core.errors import DomainError
from economy import errors as ledger_errors
from economy import selectors as ledger_selectors
from economy import services as ledger
from economy.models import Account, Agent, Hold, Transfer
from evolution import errors
from evolution.models import LifeEvent, Message, PopulationStats
from evolution.programs import DEFAULT_PROGRAM, program_files
from market import selectors as market_selectors
from market import services as market
from market.bundles import ResourceBundle
from market.models import Bid, Tick
from sandbox import services as sandbox
from sandbox.models import Execution

log = logging.getLogger(__name__)

FIRST_BUNDLE = ResourceBundle(cpu_millicores=250, memory_mb=64, wall_seconds=10)  # the genesis program's bundle


def genesis_files(*, seed: int = 0, params: dict | None = None, program: str = DEFAULT_PROGRAM) -> dict[str, bytes]:
    """A genesis program and its starting parameters (``params`` override the program's defaults)."""
    return program_files(program, seed=seed, params=params)


def _lock_population() -> None:
    """Serialize births so the population cap holds under concurrent spawns (SQLite serializes writers anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x62702D6C696665])  # "bp-life"


def _check_population_cap() -> None:
    if Agent.objects.filter(status=Agent.Status.ALIVE).count() >= settings.POPULATION_CAP:
        raise errors.PopulationCap(f"The population is capped at {settings.POPULATION_CAP} living agents.")


def _place_first_bid(*, agent_id: int, first_bid: dict | None) -> None:
    if first_bid is None:
        return
    bundle = ResourceBundle(
        cpu_millicores=first_bid.get("cpu_millicores", FIRST_BUNDLE.cpu_millicores),
        memory_mb=first_bid.get("memory_mb", FIRST_BUNDLE.memory_mb),
        wall_seconds=first_bid.get("wall_seconds", FIRST_BUNDLE.wall_seconds),
    )
    market.place_bid(agent_id=agent_id, bundle=bundle, max_price=first_bid["max_price"])


def create_genesis_agent(
    *,
    name: str = "genesis",
    endowment: int | None = None,
    files: dict[str, bytes] | None = None,
    seed: int = 0,
    first_bid_price: int | str | None = "auto",
    owner_id: int | None = None,
) -> Agent:
    """Mint the first agent its endowment, give it the genesis program, and bid for its first execution: at
    ``first_bid_price``, by default (``"auto"``) twice the posted cost of its first bundle; None: no bid."""
    endowment = settings.GENESIS_ENDOWMENT if endowment is None else endowment
    with transaction.atomic():
        _lock_population()
        _check_population_cap()
        agent, _ = ledger.create_agent(name=name, credits=endowment, owner_id=owner_id, issue_token=False)
        sandbox.set_workspace(agent_id=agent.id, files=files or genesis_files(seed=seed))
        LifeEvent.objects.create(agent=agent, kind=LifeEvent.Kind.BIRTH, cause="genesis")
        if first_bid_price == "auto":
            prices = market.posted_prices()
            first_bid_price = 2 * FIRST_BUNDLE.cost(cpu_price=prices.cpu, memory_price=prices.memory)
        if first_bid_price:
            _place_first_bid(agent_id=agent.id, first_bid={"max_price": first_bid_price})
    return agent


def spawn_agent(
    *,
    parent_id: int,
    name: str,
    files: dict[str, bytes],
    endowment: int,
    first_bid: dict | None = None,
) -> Agent:
    """Give birth to a child: the parent pays the spawn fee (burned) and the endowment (to the child) in the same
    transaction that creates the child with the given program; optionally the child bids for its first execution
    from its endowment."""
    ledger.validate_amount(endowment)
    if endowment < settings.SPAWN_MIN_ENDOWMENT:
        raise errors.EndowmentTooSmall(f"The endowment must be at least {settings.SPAWN_MIN_ENDOWMENT} credits.")
    if "agent.py" not in files:
        raise errors.InvalidCode("The child's files must include agent.py.")
    try:
        sandbox.validate_workspace(files)
    except DomainError as exc:
        raise errors.InvalidCode(exc.detail) from exc
    with transaction.atomic():
        _lock_population()
        parent = Agent.objects.filter(id=parent_id).first()
        if parent is None:
            raise ledger_errors.UnknownAgent(f"No agent with id {parent_id}.")
        if not parent.is_alive:
            raise ledger_errors.AgentDead(f"Agent {parent_id} is dead.")
        _check_population_cap()
        fee = None
        if settings.SPAWN_FEE:
            fee = ledger.burn_credits(
                agent_id=parent_id, amount=settings.SPAWN_FEE, memo="spawn fee", kind=Transfer.Kind.SPAWN
            )
        child, _ = ledger.create_agent(name=name, parent=parent, issue_token=False)
        ledger.transfer_credits(
            from_id=parent_id, to_id=child.id, amount=endowment, memo="endowment", kind=Transfer.Kind.ENDOWMENT
        )
        sandbox.set_workspace(agent_id=child.id, files=files)
        LifeEvent.objects.create(agent=child, kind=LifeEvent.Kind.BIRTH, cause=f"spawned by {parent_id}", transfer=fee)
        _place_first_bid(agent_id=child.id, first_bid=first_bid)
    return child


def kill_agent(*, agent_id: int, cause: str) -> bool:
    """Death: open bids are cancelled and released, what is left is burned, tokens are revoked, the workspace is
    archived, and the death is recorded with its cause. Returns False when the agent was already dead."""
    with transaction.atomic():
        market.cancel_open_bids(agent_id=agent_id)
        attention.cancel_open_attention_bids(agent_id=agent_id)
        # Lock the account, then mark the agent dead, and only then read and burn what is left: a transfer to it
        # either committed before the lock (and is burned with the rest) or waits for it and then finds the agent
        # dead (the transfer statement locks the agent row too). Read-then-burn-then-mark left a window in which a
        # transfer's credits stayed in the dead account (issue 9, finding 9).
        Account.objects.select_for_update().filter(agent_id=agent_id).values_list("id", flat=True).first()
        died = Agent.objects.filter(id=agent_id, status=Agent.Status.ALIVE).update(
            status=Agent.Status.DEAD, died_at=timezone.now(), death_cause=cause[:200]
        )
        if died != 1:
            transaction.set_rollback(True)
            return False
        remaining = ledger_selectors.get_balance(agent_id=agent_id)
        final = None
        if remaining:
            final = ledger.burn_credits(
                agent_id=agent_id, amount=remaining, memo=f"final upkeep: {cause}"[:200], kind=Transfer.Kind.UPKEEP
            )
        ledger.revoke_agent_tokens(agent_id=agent_id)
        sandbox.archive_workspace(agent_id=agent_id)
        LifeEvent.objects.create(agent_id=agent_id, kind=LifeEvent.Kind.DEATH, cause=cause[:200], transfer=final)
    return True


SELECTION_WINDOW = 10  # ticks over which the selection differential is measured


def run_life_tick(*, tick: int) -> PopulationStats | None:
    """Upkeep for every living agent (``UPKEEP_PER_TICK`` plus ``UPKEEP_DEMURRAGE_BP`` basis points of its balance);
    those that cannot pay and hold nothing in escrow die, and so do the idle (no compute won in the last
    ``IDLE_TICKS_LIMIT`` market ticks); then the statistics. Idempotent per tick: a second run of the same tick is a
    no-op (None)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                stats = PopulationStats.objects.create(
                    tick=tick, alive=0, births=0, deaths=0, credits_in_circulation=0, minted=0, burned=0, gini=0.0
                )
        except IntegrityError:
            return None
        previous = PopulationStats.objects.filter(tick__lt=tick).order_by("-tick").first()
        # Escrow and treasury first, in ascending id order like every other writer: upkeep then locks every living
        # agent, and a death releases bids (escrow) and burns (treasury). Taking escrow after the agents deadlocked
        # against a bid (escrow, treasury, agent) under the load test.
        list(
            Account.objects.select_for_update()
            .filter(id__in=(ledger.ESCROW_ACCOUNT_ID, ledger.TREASURY_ACCOUNT_ID))
            .order_by("id")
            .values_list("id", flat=True)
        )
        unpaid = []
        if settings.UPKEEP_PER_TICK:
            unpaid = ledger.charge_living_agents(
                amount=settings.UPKEEP_PER_TICK, memo=f"upkeep, tick {tick}", rate_bp=settings.UPKEEP_DEMURRAGE_BP
            )
        holding = set(
            Hold.objects.filter(account__agent_id__in=unpaid, status=Hold.Status.PENDING).values_list(
                "account__agent_id", flat=True
            )
        )
        for agent_id in unpaid:
            if agent_id not in holding:
                kill_agent(agent_id=agent_id, cause=f"could not pay upkeep at tick {tick}")
        for agent_id in idle_agents(limit=settings.IDLE_TICKS_LIMIT):
            kill_agent(agent_id=agent_id, cause=f"idle: no compute won in {settings.IDLE_TICKS_LIMIT} ticks")
        _fill_stats(stats, previous=previous)
        return stats


def ticks_to_starve(*, balance: int, flat: int, rate_bp: int) -> int:
    """How many life ticks an agent that neither earns nor spends pays upkeep before it cannot (it dies at the next):
    the bound the README documents, in the same integer arithmetic as ``charge_living_agents``."""
    if flat <= 0:
        raise ValueError("Without a flat charge an agent that does nothing never starves.")
    ticks = 0
    while balance >= flat + balance * rate_bp // 10_000:
        balance -= flat + balance * rate_bp // 10_000
        ticks += 1
    return ticks


def idle_agents(*, limit: int) -> list[int]:
    """Living agents that lived through the last ``limit`` market ticks without winning compute in any of them (an
    agent acts only when it runs, so one that stopped winning would otherwise linger until its credits ran out).
    Nobody is idle before ``limit`` ticks have run, or when ``limit`` is 0."""
    if limit <= 0:
        return []
    recent = list(Tick.objects.order_by("-number").values_list("number", "started_at")[:limit])
    if len(recent) < limit:
        return []
    oldest, since = recent[-1]
    ran = Bid.objects.filter(tick_number__gte=oldest, status=Bid.Status.WON).values("agent_id")
    idle = Agent.objects.filter(status=Agent.Status.ALIVE, created_at__lt=since).exclude(id__in=ran)
    return list(idle.order_by("id").values_list("id", flat=True))


def _fill_stats(stats: PopulationStats, *, previous: PopulationStats | None) -> None:
    """The tick's row. Births and deaths are the life events after the previous row's last one (ids, not clocks:
    the same history gives the same rows)."""
    alive = Account.objects.filter(agent__status=Agent.Status.ALIVE)
    balances = sorted(alive.values_list("balance", flat=True))
    since = previous.last_event_id if previous else 0
    events = LifeEvent.objects.filter(id__gt=since)
    held = Hold.objects.filter(status=Hold.Status.PENDING).aggregate(total=Sum("amount"))["total"] or 0
    agents_total = Account.objects.filter(agent__isnull=False).aggregate(total=Sum("balance"))["total"] or 0
    system = dict(Account.objects.filter(system__isnull=False).values_list("system", "balance"))
    stats.alive = len(balances)
    stats.births = events.filter(kind=LifeEvent.Kind.BIRTH).count()
    stats.deaths = events.filter(kind=LifeEvent.Kind.DEATH).count()
    stats.last_event_id = LifeEvent.objects.aggregate(m=Max("id"))["m"] or since
    stats.max_generation = Agent.objects.filter(status=Agent.Status.ALIVE).aggregate(m=Max("generation"))["m"] or 0
    stats.credits_in_circulation = agents_total + held
    stats.minted = -system.get(Account.System.MINT, 0)
    stats.burned = system.get(Account.System.TREASURY, 0)
    stats.minted_in_tick = stats.minted - (previous.minted if previous else 0)
    stats.burned_in_tick = stats.burned - (previous.burned if previous else 0)
    stats.gini = gini(balances)
    stats.selection_differential = selection_differential(tick=stats.tick, until_event_id=stats.last_event_id)
    stats.diversity = diversity()
    stats.save()


def selection_differential(*, tick: int, until_event_id: int, window: int = SELECTION_WINDOW) -> float:
    """Cov(children, score) over the agents whose work from ticks (tick - window, tick] was judged: each agent's
    mean judged score of that work against the children born to it in the same ticks (Price's selection
    differential of the score, with children as fitness). 0 with fewer than two such agents. Computed exactly
    from integers, so it does not depend on the database's float arithmetic."""
    start = tick - window
    scores: dict[int, list[int]] = {}
    for agent_id, score in (
        HumanReward.objects.filter(
            status=HumanReward.Status.SCORED,
            execution__bid__tick_number__gt=start,
            execution__bid__tick_number__lte=tick,
        )
        .order_by("id")
        .values_list("agent_id", "score")
    ):
        scores.setdefault(agent_id, []).append(score)
    if len(scores) < 2:
        return 0.0
    before = PopulationStats.objects.filter(tick__lte=start).order_by("-tick")
    base = before.values_list("last_event_id", flat=True).first() or 0
    children = dict(
        LifeEvent.objects.filter(
            kind=LifeEvent.Kind.BIRTH, id__gt=base, id__lte=until_event_id, agent__parent_id__in=list(scores)
        )
        .values("agent__parent_id")
        .annotate(n=Count("id"))
        .values_list("agent__parent_id", "n")
    )
    n = len(scores)
    x = {agent_id: Fraction(sum(values), len(values)) for agent_id, values in scores.items()}
    y = {agent_id: children.get(agent_id, 0) for agent_id in scores}
    mean_x, mean_y = sum(x.values()) / n, Fraction(sum(y.values()), n)
    return float(sum((x[a] - mean_x) * (y[a] - mean_y) for a in sorted(scores)) / n)


def diversity() -> int:
    """How many different artifacts the living agents last produced (agents without one do not count)."""
    latest = (
        Execution.objects.filter(agent_id=OuterRef("pk"), status=Execution.Status.SUCCEEDED)
        .exclude(artifact="")
        .order_by("-id")
        .values("artifact")[:1]
    )
    artifacts = Agent.objects.filter(status=Agent.Status.ALIVE).annotate(latest=Subquery(latest))
    return len({text for text in artifacts.values_list("latest", flat=True) if text})


def gini(values: list[int]) -> float:
    """The Gini coefficient of non-negative values (0 when all are equal or there are none)."""
    values = sorted(values)
    total = sum(values)
    n = len(values)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((index + 1) * value for index, value in enumerate(values))
    return (2 * weighted) / (n * total) - (n + 1) / n


def send_message(*, sender_id: int, to_id: int, body: str) -> Message:
    """Send a message to a living agent: its inbox shows it from the next tick boundary on (``selectors.inbox``);
    it is published on Redis for live consumers once committed."""
    if not isinstance(body, str) or not body.strip() or len(body) > settings.MESSAGE_MAX_CHARS:
        raise errors.InvalidMessage(f"The body must be 1 to {settings.MESSAGE_MAX_CHARS} characters.")
    recipient = Agent.objects.filter(id=to_id).first()
    if recipient is None:
        raise ledger_errors.UnknownAgent(f"No agent with id {to_id}.")
    if not recipient.is_alive:
        raise ledger_errors.AgentDead(f"Agent {to_id} is dead.")
    with transaction.atomic():
        message = Message.objects.create(
            sender_id=sender_id, recipient=recipient, body=body, tick=market_selectors.open_tick()
        )
        transaction.on_commit(lambda: publish_message(message))
    return message


def message_channel(agent_id: int) -> str:
    return f"bp:messages:{agent_id}"


def publish_message(message: Message) -> bool:
    """Publish on ``bp:messages:<recipient id>``; a missing Redis is logged, never an error for the sender."""
    if not settings.BP_REDIS_URL:
        return False
    import redis

    payload = json.dumps(
        {
            "id": message.id,
            "from_id": message.sender_id,
            "to_id": message.recipient_id,
            "body": message.body,
            "created_at": message.created_at.isoformat(),
        }
    )
    try:
        client = redis.Redis.from_url(settings.BP_REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.publish(message_channel(message.recipient_id), payload)
        return True
    except redis.RedisError as exc:
        log.warning("message %s not published: %s", message.id, exc)
        return False
