"""``chaos``: the bot killed with SIGKILL at random moments while it sends, and restarted.

N rows, each to its own chat, are due at once; ``stillpoint run`` (limits on) starts
sending them. Each time it has delivered something since it started, it is killed
after a random 0-2.5 s and started again, K times; then it runs until every row is final.
The emulator says what each chat received; the outbox says what the bot thinks
happened. A chat with no message is ``lost_silently`` unless its row is in a final
state that says why (``uncertain``, ``failed``, ``skipped_stale``, ``cancelled``).
``uncertain`` should stay within what was in flight when the kills came: at most the
dispatcher's sends at once (3) per kill. ``recovery_s_max``: the longest time from a kill
until none of the messages it left in flight was ``sending`` any more (freed by the
restarted process: at once on SQLite, once the killed one's heartbeat has been silent
for six seconds on PostgreSQL); the target is 10 s.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.common import (
    EXPLAINED_STATES,
    STILLPOINT_RUN,
    TELEGRAM_MESSAGES_PER_S,
    BotProcess,
    all_final,
    bot_env,
    count_by_state,
    database_kind,
    delivered_count,
    emulator,
    engine_for,
    http_errors,
    insert_outbox,
    now,
    open_chats,
    progress,
    scratch_database,
    states_by_chat,
    tally,
    wait_until,
    workspace,
)
from bot.db.tables import OutboxRow
from bot.domain.models import OutboxState
from bot.sandbox.server import SandboxServer
from bot.services.delivery.dispatcher import SENDS_AT_ONCE

KILL_AFTER_SEND_S = (0.0, 2.5)  # how long after its first delivery a bot is killed
FIRST_SEND_PATIENCE_S = 30.0  # a bot that sends nothing by then is killed all the same


def claim_lease_s() -> float:
    """How long PostgreSQL waits before a dead process's claims become ``uncertain``."""
    try:
        from bot.app import CLAIM_LEASE  # noqa: PLC0415 -- optional, newer engines have it
    except ImportError:
        return 0.0
    return float(CLAIM_LEASE.total_seconds()) if isinstance(CLAIM_LEASE, timedelta) else 0.0


@dataclass
class Subject:
    """A bot under chaos: how to run it and how to read its own record."""

    process: BotProcess
    # True when nothing more will be sent without help (every row final).
    settled: Callable[[], Awaitable[bool]]
    # Ids of messages claimed but not recorded: what a kill now would leave uncertain.
    in_flight: Callable[[], Awaitable[set[int]]]
    # Whether anything is still waiting to be sent (if not, a kill need not wait for a send).
    has_work: Callable[[], Awaitable[bool]]
    settle_timeout: float


@dataclass
class KillReport:
    """What the kills did."""

    kills: int
    in_flight_at_kill: list[int]
    seconds: float
    recoveries_s: list[float]
    """For each kill that left messages in flight: how long until none of them was
    ``sending`` any more (freed by the restarted process, or a peer)."""


class _Recoveries:
    """Times each kill's claims until they are freed, looking every 0.1 s."""

    def __init__(self, in_flight: Callable[[], Awaitable[set[int]]]) -> None:
        self.in_flight = in_flight
        self.waiting: list[tuple[float, set[int]]] = []
        self.seconds: list[float] = []

    async def watch(self) -> None:
        while True:
            if self.waiting:
                still = await self.in_flight()
                now = time.monotonic()
                for killed_at, ids in list(self.waiting):
                    if not ids & still:
                        self.seconds.append(now - killed_at)
                        self.waiting.remove((killed_at, ids))
            await asyncio.sleep(0.1)


async def kill_repeatedly(
    server: SandboxServer,
    chats: Sequence[int],
    subject: Subject,
    kills: int,
    rng: random.Random,
) -> KillReport:
    """Start, let it send, SIGKILL, K times; then run it until it has settled and stop it."""
    process = subject.process
    in_flight: list[int] = []
    seen: set[int] = set()
    started = time.monotonic()
    done = 0
    recoveries = _Recoveries(subject.in_flight)
    watching = asyncio.create_task(recoveries.watch())
    try:
        while done < kills:
            if delivered_count(server, chats) >= len(chats):
                progress(f"chaos: everything arrived after {done} kills; no more to kill")
                break
            before = delivered_count(server, chats)
            process.start()

            async def sending(before: int = before) -> bool:
                return delivered_count(server, chats) > before or not await subject.has_work()

            try:
                await wait_until(
                    sending,
                    timeout=FIRST_SEND_PATIENCE_S,
                    what="a delivery",
                    interval=0.02,
                    processes=[process],
                )
            except TimeoutError:
                progress(f"chaos: nothing sent {FIRST_SEND_PATIENCE_S:g} s after a start")
            await asyncio.sleep(rng.uniform(*KILL_AFTER_SEND_S))
            await process.kill()
            killed_at = time.monotonic()
            done += 1
            fresh = await subject.in_flight() - seen
            in_flight.append(len(fresh))
            seen |= fresh
            if fresh:
                recoveries.waiting.append((killed_at, fresh))
            progress(
                f"chaos: kill {done}/{kills}: {len(fresh)} in flight, "
                f"{delivered_count(server, chats)}/{len(chats)} chats served"
            )
        process.start()
        progress("chaos: last start; waiting for every message to be final")
        await wait_until(
            subject.settled,
            timeout=subject.settle_timeout,
            what="every message to be final",
            interval=0.5,
            processes=[process],
        )
        await asyncio.sleep(1.0)  # a late duplicate would arrive now
    finally:
        watching.cancel()
        await process.stop()
        process.close()
    # A kill whose claims were never freed counts as taking the whole run.
    unfreed = [time.monotonic() - killed_at for killed_at, _ in recoveries.waiting]
    return KillReport(done, in_flight, time.monotonic() - started, recoveries.seconds + unfreed)


async def _has_work(engine: AsyncEngine) -> bool:
    """Whether rows wait to be claimed (a dead process's claims are not work)."""
    return (await count_by_state(engine)).get(OutboxState.PENDING, 0) > 0


async def sending_ids(engine: AsyncEngine) -> set[int]:
    """Ids of outbox rows in ``sending``."""
    statement = select(OutboxRow.id).where(OutboxRow.state == OutboxState.SENDING)
    async with engine.connect() as connection:
        return set((await connection.scalars(statement)).all())


async def run(
    messages: int,
    kills: int,
    *,
    database: str | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Run the chaos benchmark against ``stillpoint run`` and return its JSON fields."""
    if messages < 1 or kills < 0:
        raise ValueError("--messages must be at least 1 and --kills at least 0")
    seed = secrets.randbits(32) if seed is None else seed
    rng = random.Random(seed)
    kind = database_kind(database)
    with workspace("chaos") as workdir:
        async with (
            scratch_database(database, workdir, "chaos") as db,
            engine_for(db) as engine,
            emulator(limits=True) as server,
        ):
            chats = open_chats(server, messages)
            await insert_outbox(engine, [(c, now()) for c in chats], key_prefix="chaos")
            progress(f"chaos: {messages} rows due now; {kills} kills (seed {seed})")
            sending_time = messages / TELEGRAM_MESSAGES_PER_S
            subject = Subject(
                process=BotProcess(STILLPOINT_RUN, bot_env(server, db), workdir, "bot"),
                settled=lambda: all_final(engine),
                in_flight=lambda: sending_ids(engine),
                has_work=lambda: _has_work(engine),
                settle_timeout=claim_lease_s() + 3 * sending_time + 120,
            )
            report = await kill_repeatedly(server, chats, subject, kills, rng)
            states = await states_by_chat(engine)
            counts = await count_by_state(engine)
    result = tally(server, chats)
    explained = {str(s) for s in EXPLAINED_STATES}
    lost_silently = sum(
        1 for chat in chats if not result.per_chat[chat] and states.get(chat) not in explained
    )
    uncertain_arrived = sum(
        1 for chat in chats if states.get(chat) == OutboxState.UNCERTAIN and result.per_chat[chat]
    )
    return {
        "benchmark": "chaos",
        "database": kind,
        "messages": messages,
        "delivered_once": result.delivered_once,
        "duplicates": result.duplicates,
        "lost_silently": lost_silently,
        "uncertain": counts.get(OutboxState.UNCERTAIN, 0),
        "uncertain_that_arrived": uncertain_arrived,
        "failed": counts.get(OutboxState.FAILED, 0),
        "kills": report.kills,
        "in_flight_at_kill_max": max(report.in_flight_at_kill, default=0),
        "recovery_s_max": round(max(report.recoveries_s, default=0.0), 1),
        "recoveries": len(report.recoveries_s),
        "sends_at_once": SENDS_AT_ONCE,
        "http_429": http_errors(server, 429),
        "states": counts,
        "seed": seed,
        "seconds": round(report.seconds, 1),
    }
