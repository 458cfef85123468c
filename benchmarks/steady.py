"""``steady``: messages due at random moments spread over S seconds; how late they go out.

``stillpoint run`` is started and left to settle; then N rows, each to its own chat, are
written with due times spread uniformly over the next S seconds (limits on). Lateness
is measured twice: by the bot (the outbox's ``lateness_ms`` of each sent row) and by the
emulator (arrival time minus due time). The target is p99 at most one second.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from benchmarks.common import (
    STILLPOINT_RUN,
    TELEGRAM_MESSAGES_PER_S,
    BotProcess,
    api_calls,
    bot_env,
    bot_processes,
    database_kind,
    emulator,
    engine_for,
    http_errors,
    insert_outbox,
    now,
    open_chats,
    percentile,
    progress,
    rounded,
    scratch_database,
    tally,
    wait_delivered,
    wait_polling,
    workspace,
)
from bot.db.uow import make_uow_factory

LEAD_S = 3.0  # the first due time is this far after the rows are written


def _summary(values_ms: list[float]) -> dict[str, float | None]:
    return {
        "p50": rounded(percentile(values_ms, 50), 1),
        "p99": rounded(percentile(values_ms, 99), 1),
        "max": rounded(max(values_ms, default=0.0), 1) if values_ms else None,
    }


async def run(
    messages: int, over_s: float, *, database: str | None = None, seed: int = 5
) -> dict[str, Any]:
    """Run the steady-load benchmark and return its JSON fields."""
    if messages < 1 or over_s <= 0:
        raise ValueError("--messages must be at least 1 and --over positive")
    if messages / over_s > TELEGRAM_MESSAGES_PER_S:
        raise ValueError("that is more than Telegram's 30 messages a second: use burst")
    rng = random.Random(seed)
    kind = database_kind(database)
    with workspace("steady") as workdir:
        async with (
            scratch_database(database, workdir, "steady") as db,
            engine_for(db) as engine,
            emulator(limits=True) as server,
        ):
            chats = open_chats(server, messages)
            bot = BotProcess(STILLPOINT_RUN, bot_env(server, db), workdir, "bot")
            polls = api_calls(server, "getUpdates")
            async with bot_processes([bot]):
                await wait_polling(server, [bot], before=polls)
                start = now() + timedelta(seconds=LEAD_S)
                due: dict[int, datetime] = {
                    chat: start + timedelta(seconds=rng.uniform(0, over_s)) for chat in chats
                }
                await insert_outbox(engine, list(due.items()), key_prefix="steady")
                progress(f"steady: {messages} messages due over the next {over_s:g} s")
                finished = await wait_delivered(
                    server, chats, engine, timeout=LEAD_S + over_s + 60, processes=[bot]
                )
            async with make_uow_factory(engine)() as uow:
                bot_lateness = [float(ms) for ms in await uow.outbox.lateness_ms(start)]
    result = tally(server, chats)
    arrival_lateness = [
        max(0.0, (arrivals[0] - due[chat]).total_seconds() * 1000)
        for chat, arrivals in result.per_chat.items()
        if arrivals
    ]
    by_bot = _summary(bot_lateness)
    by_emulator = _summary(arrival_lateness)
    return {
        "benchmark": "steady",
        "database": kind,
        "messages": messages,
        "over_s": over_s,
        "delivered": result.delivered,
        "duplicates": result.duplicates,
        "lost": result.lost,
        "http_429": http_errors(server, 429),
        "p50_ms": by_bot["p50"],
        "p99_ms": by_bot["p99"],
        "max_ms": by_bot["max"],
        "arrival_p50_ms": by_emulator["p50"],
        "arrival_p99_ms": by_emulator["p99"],
        "arrival_max_ms": by_emulator["max"],
        "finished": finished,
    }
