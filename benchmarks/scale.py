"""``scale``: start-up, memory and the cost of a dispatcher pass with many pending rows.

The outbox gets N pending rows, nearly all due days to weeks ahead. The tick (one
dispatcher pass when nothing is due, and the look-up of the next due time, exactly what
the 1 s job runs) is timed in this process, many times, first with 1,000 rows and then
with N. Then a handful of rows due now are added and ``stillpoint run`` is started:
``startup_to_first_send_s`` runs from starting the process to the first message arriving
at the emulator, and ``rss_mb`` is the bot's resident memory a few seconds later.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import datetime, timedelta
from typing import Any

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
from bot.ports import OutgoingMessage, SentMessage
from bot.settings import load_settings

SMALL = 1_000
DUE_NOW = 5
TICK_REPETITIONS = 200
TICK_WARM_UP = 20
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


async def time_tick(engine: AsyncEngine, database_url: str) -> float:
    """The median wall time of one dispatcher pass plus the next-due look-up, in ms."""
    # The production dispatcher class and queries, with a notifier that must not be called.
    settings = load_settings(None, database_url=database_url)
    dispatcher = build_dispatcher(
        settings, make_uow_factory(engine), _NothingIsDue(), SystemClock()
    )
    samples = []
    for repetition in range(TICK_WARM_UP + TICK_REPETITIONS):
        started = time.perf_counter()
        handled = await dispatcher.dispatch_due()
        await dispatcher.next_attempt_at()
        if repetition >= TICK_WARM_UP:
            samples.append((time.perf_counter() - started) * 1000)
        if handled:
            raise RuntimeError("a tick found rows due; the benchmark expects none")
    return statistics.median(samples)


async def run(pending: int, *, database: str | None = None, seed: int = 3) -> dict[str, Any]:
    """Run the scale benchmark and return its JSON fields."""
    if pending < SMALL:
        raise ValueError(f"--pending must be at least {SMALL}")
    kind = database_kind(database)
    rng = random.Random(seed)
    with workspace("scale") as workdir:
        async with (
            scratch_database(database, workdir, "scale") as db,
            engine_for(db) as engine,
            emulator(limits=True) as server,
        ):
            first_chat = 10_000_000_000  # far from the emulator's user ids
            await insert_outbox(engine, future_rows(SMALL, first_chat, rng), key_prefix="far")
            await analyze(engine)
            tick_small = await time_tick(engine, db.url)
            progress(f"scale: tick with {SMALL} pending: {tick_small:.2f} ms")
            with elapsed_timer() as loading:
                rest = future_rows(pending - SMALL, first_chat + SMALL, rng)
                await insert_outbox(engine, rest, key_prefix="far-more")
                await analyze(engine)
            progress(f"scale: {pending} pending rows written in {loading():.1f} s")
            tick_large = await time_tick(engine, db.url)
            progress(f"scale: tick with {pending} pending: {tick_large:.2f} ms")

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
    return {
        "benchmark": "scale",
        "database": kind,
        "pending": pending,
        "startup_to_first_send_s": rounded(first_send),
        "rss_mb": rounded(rss, 1),
        "rss_peak_mb": rounded(peak, 1),
        "tick_ms": rounded(tick_large),
        "tick_ms_1k": rounded(tick_small),
        "tick_ratio": rounded(tick_large / tick_small) if tick_small else None,
    }
