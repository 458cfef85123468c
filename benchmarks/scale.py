"""``scale``: start-up, memory and the cost of a dispatcher tick with many pending rows.

The outbox gets N pending rows, all due days to weeks ahead. A tick is what the bot's 1 s
job runs when nothing is due: one dispatcher pass (ask the send budget, mark expired rows
``skipped_stale``, claim due rows) and the look-up of the next due time. Nothing is due, so
a tick changes nothing and the same rows stay pending from one sample to the next.

A tick takes a few milliseconds, so one sample is noise. Two databases are timed side by
side, one with 1,000 pending rows and one with N (the same first 1,000 plus the rest):
rounds of ticks alternate between them (ABBA), so drift in the machine's speed hits both
alike; ``tick_ms`` and ``tick_ms_1k`` are medians over every sample, ``tick_ratio`` is
their quotient. The tick's statements are also put through ``EXPLAIN`` on the large
database: ``tick_full_scans`` lists any plan step that reads the whole outbox.

Then a handful of rows due now are added and ``stillpoint run`` is started:
``startup_to_first_send_s`` runs from starting the process to the first message arriving
at the emulator, and ``rss_mb`` is the bot's resident memory a few seconds later.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.common import (
    STILLPOINT_RUN,
    BotProcess,
    analyze,
    bot_env,
    bot_processes,
    database_kind,
    elapsed_timer,
    emulator,
    engine_for,
    insert_outbox,
    now,
    open_chats,
    percentile,
    progress,
    rounded,
    scratch_database,
    tally,
    wait_until,
    workspace,
)
from bot.app import build_dispatcher
from bot.clock import SystemClock
from bot.db.uow import make_uow_factory
from bot.domain.outgoing import OutgoingMessage, SentMessage
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.delivery.pacing import Pacer
from bot.settings import load_settings

SMALL = 1_000
DUE_NOW = 5
TICK_ROUNDS = 20  # rounds per database, alternating between the two
TICKS_PER_ROUND = 10  # so 200 timed ticks on each database
TICK_WARM_UP = 20  # untimed ticks on each database first (connections, statement caches)
SETTLE_S = 3.0  # how long the bot runs after its first send before its memory is read


class _NothingIsDue:
    """A notifier for timing ticks: nothing is due, so nothing may be sent."""

    async def send(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
        raise AssertionError(f"a tick sent a message to chat {chat_id}; nothing was due")


def future_rows(count: int, first_chat: int, rng: random.Random) -> list[tuple[int, datetime]]:
    """``count`` rows due between one day and thirty days from now, on distinct chats."""
    start = now()
    return [
        (first_chat + n, start + timedelta(days=1, seconds=rng.uniform(0, 29 * 86_400)))
        for n in range(count)
    ]


def tick_dispatcher(engine: AsyncEngine, database_url: str) -> Dispatcher:
    """The production dispatcher, queries and send budget, with a notifier that must not be
    called (the bot's own gets its budget from the rate limiter the same way)."""
    settings = load_settings(None, database_url=database_url)
    dispatcher = build_dispatcher(
        settings, make_uow_factory(engine), _NothingIsDue(), SystemClock()
    )
    dispatcher.pace_with(Pacer())
    return dispatcher


async def tick(dispatcher: Dispatcher) -> float:
    """One tick: a dispatcher pass and the next-due look-up; its wall time in ms."""
    started = time.perf_counter()
    handled = await dispatcher.dispatch_due()
    await dispatcher.next_attempt_at()
    elapsed = (time.perf_counter() - started) * 1000
    if handled:
        raise RuntimeError("a tick found rows due; the benchmark expects none")
    return elapsed


@dataclass(frozen=True, slots=True)
class TickTimes:
    """Tick samples in ms on the small and the large database."""

    small: list[float]
    large: list[float]


async def time_ticks(small: Dispatcher, large: Dispatcher) -> TickTimes:
    """``TICK_ROUNDS`` rounds of ``TICKS_PER_ROUND`` ticks on each, in ABBA order."""
    for _ in range(TICK_WARM_UP):
        await tick(small)
        await tick(large)
    times = TickTimes([], [])
    for round_number in range(TICK_ROUNDS):
        order = [(small, times.small), (large, times.large)]
        if round_number % 2:
            order.reverse()
        for dispatcher, samples in order:
            samples.extend([await tick(dispatcher) for _ in range(TICKS_PER_ROUND)])
    return times


@contextlib.contextmanager
def statements_of(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """Collect each SQL statement (and its parameters) ``engine`` runs inside the block."""
    seen: list[tuple[str, Any]] = []

    def collect(*args: Any) -> None:
        _connection, _cursor, statement, parameters, _context, _many = args
        seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", collect)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", collect)


async def full_scans(engine: AsyncEngine, dispatcher: Dispatcher, kind: str) -> list[str]:
    """The plan steps of a tick's statements that read the outbox from end to end."""
    with statements_of(engine) as seen:
        await tick(dispatcher)
    outbox_statements = [(sql, p) for sql, p in seen if "outbox" in sql.lower()]
    if not outbox_statements:
        raise RuntimeError("a tick ran no statement on the outbox; nothing to explain")
    found = []
    async with engine.connect() as connection:
        for sql, parameters in outbox_statements:
            if kind == "sqlite":
                plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)
                steps = [str(row[-1]) for row in plan]
                scans = [s for s in steps if s.startswith("SCAN") and "outbox" in s]
            else:
                plan = await connection.exec_driver_sql(f"EXPLAIN {sql}", parameters)
                steps = [str(row[0]).strip() for row in plan]
                scans = [s for s in steps if "Seq Scan on outbox" in s]
            found += [f"{' '.join(sql.split())[:80]}...: {scan}" for scan in scans]
        await connection.rollback()
    return found


def ratio(large: float | None, small: float | None) -> float | None:
    """``large / small``, or ``None`` without both."""
    return None if large is None or not small else large / small


async def run(pending: int, *, database: str | None = None, seed: int = 3) -> dict[str, Any]:
    """Run the scale benchmark and return its JSON fields."""
    if pending < SMALL:
        raise ValueError(f"--pending must be at least {SMALL}")
    kind = database_kind(database)
    rng = random.Random(seed)
    first_chat = 10_000_000_000  # far from the emulator's user ids
    first_rows = future_rows(SMALL, first_chat, rng)
    with workspace("scale") as workdir:
        async with (
            scratch_database(database, workdir, "scale-1k") as small_db,
            engine_for(small_db) as small_engine,
            scratch_database(database, workdir, "scale") as db,
            engine_for(db) as engine,
            emulator(limits=True) as server,
        ):
            await insert_outbox(small_engine, first_rows, key_prefix="far")
            await analyze(small_engine)
            with elapsed_timer() as loading:
                rest = future_rows(pending - SMALL, first_chat + SMALL, rng)
                await insert_outbox(engine, first_rows, key_prefix="far")
                await insert_outbox(engine, rest, key_prefix="far-more")
                await analyze(engine)
            progress(f"scale: {pending} pending rows written in {loading():.1f} s")
            large_dispatcher = tick_dispatcher(engine, db.url)
            times = await time_ticks(tick_dispatcher(small_engine, small_db.url), large_dispatcher)
            scans = await full_scans(engine, large_dispatcher, kind)
            tick_small, tick_large = statistics.median(times.small), statistics.median(times.large)
            progress(
                f"scale: median tick {tick_small:.2f} ms with {SMALL} pending, "
                f"{tick_large:.2f} ms with {pending} ({len(times.large)} ticks each); "
                f"full scans: {scans or 'none'}"
            )

            chats = open_chats(server, DUE_NOW)
            await insert_outbox(engine, [(c, now()) for c in chats], key_prefix="now")
            bot = BotProcess(STILLPOINT_RUN, bot_env(server, db), workdir, "bot")
            async with bot_processes([bot]):
                await wait_until(
                    lambda: tally(server, chats).delivered > 0,
                    timeout=60,
                    what="the first message",
                    interval=0.005,
                    processes=[bot],
                )
                first_send = time.monotonic() - bot.started_at
                progress(f"scale: first message {first_send:.2f} s after the process started")
                await asyncio.sleep(SETTLE_S)
                memory = bot.memory_mb()
                await wait_until(
                    lambda: tally(server, chats).delivered == DUE_NOW,
                    timeout=30,
                    what="the messages due now",
                    processes=[bot],
                )
    rss, peak = memory if memory is not None else (None, None)
    p90_small, p90_large = percentile(times.small, 90), percentile(times.large, 90)
    return {
        "benchmark": "scale",
        "database": kind,
        "pending": pending,
        "startup_to_first_send_s": rounded(first_send),
        "rss_mb": rounded(rss, 1),
        "rss_peak_mb": rounded(peak, 1),
        "tick_ms": rounded(tick_large),  # the median
        "tick_ms_p90": rounded(p90_large),
        "tick_ms_1k": rounded(tick_small),
        "tick_ms_1k_p90": rounded(p90_small),
        "tick_ms_samples": len(times.large),  # on each database
        "tick_ratio": rounded(ratio(tick_large, tick_small)),
        "tick_ratio_p90": rounded(ratio(p90_large, p90_small)),
        "tick_full_scans": scans,
    }
