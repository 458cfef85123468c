"""``burst``: N messages due at the same instant to N chats.

The bot (one or more ``stillpoint run`` processes) is started and left to settle; then
N pending rows, each to its own chat, are written due ``lead`` seconds later. The
emulator's message lists say what arrived, and when: ``elapsed_s`` runs from the due
instant to the last arrival. With limits on, Telegram's 30 messages a second make
``limit_s = N / 30`` the least it can take. ``--no-limits`` turns the emulator's flood
control and the bot's own pacing off, to measure the dispatcher's throughput.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks import webhook_burst
from benchmarks.common import (
    STILLPOINT_RUN,
    TELEGRAM_MESSAGES_PER_S,
    BotProcess,
    Database,
    api_calls,
    bot_env,
    bot_processes,
    count_by_state,
    database_kind,
    elapsed_timer,
    emulator,
    engine_for,
    http_errors,
    in_seconds,
    insert_outbox,
    now,
    open_chats,
    progress,
    rounded,
    scratch_database,
    seconds_between,
    tally,
    wait_delivered,
    wait_polling,
    workspace,
)
from bot.app import build_dispatcher
from bot.clock import SystemClock
from bot.db.uow import make_uow_factory
from bot.domain.outgoing import OutgoingMessage, SentMessage
from bot.sandbox.server import SandboxServer
from bot.settings import load_settings

UNPACED_RUN = (sys.executable, "-m", "benchmarks.unpaced_bot")
DEFAULT_LEAD_S = 2.0


class _InstantNotifier:
    """Answers every send at once, without HTTP: what is left is the dispatcher's own cost."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
        self.sent += 1
        await asyncio.sleep(0)  # a real send yields to the event loop at least once
        return SentMessage(chat_id=chat_id, message_id=self.sent)


@dataclass(frozen=True)
class DispatcherRate:
    """How fast the dispatcher alone went: per second of wall time and per CPU second."""

    wall_per_s: float
    cpu_per_s: float


async def dispatcher_only(messages: int, *, database: str | None = None) -> DispatcherRate:
    """The production ``Dispatcher`` in this process with a notifier that answers at once:
    claims, outcome commits and the rest, without HTTP. ``cpu_per_s`` divides by the CPU
    time of the whole process (the database driver's thread included)."""
    with workspace("dispatcher") as workdir:
        async with (
            scratch_database(database, workdir, "dispatcher") as db,
            engine_for(db) as engine,
        ):
            await insert_outbox(engine, [(n + 1, now()) for n in range(messages)], key_prefix="d")
            settings = load_settings(None, database_url=db.url)
            dispatcher = build_dispatcher(
                settings, make_uow_factory(engine), _InstantNotifier(), SystemClock()
            )
            cpu_before = time.process_time()
            with elapsed_timer() as elapsed:
                handled = await dispatcher.dispatch_due()
            cpu = time.process_time() - cpu_before
            if handled != messages:
                raise RuntimeError(f"the dispatcher handled {handled} of {messages} rows")
            return DispatcherRate(messages / elapsed(), messages / cpu)


async def run(
    messages: int,
    *,
    database: str | None = None,
    processes: int = 1,
    limits: bool = True,
    lead_s: float = DEFAULT_LEAD_S,
    webhook: bool = False,
    updates: int = 0,
    restart: bool = False,
) -> dict[str, Any]:
    """Run one burst and return its JSON fields (``webhook``: through webhook replicas,
    with ``updates`` clients writing meanwhile, ``webhook_burst``)."""
    if messages < 1:
        raise ValueError("--messages must be at least 1")
    if processes < 1:
        raise ValueError("--processes must be at least 1")
    kind = database_kind(database)
    if processes > 1 and kind == "sqlite":
        raise ValueError("several bot processes need PostgreSQL: pass --database URL")
    with workspace("burst") as workdir:
        async with (
            scratch_database(database, workdir, "burst") as db,
            engine_for(db) as engine,
            emulator(limits=limits) as server,
        ):
            chats = open_chats(server, messages)
            through: dict[str, Any] = {}
            if webhook:
                due_at, finished, through = await webhook_burst.run(
                    server,
                    db,
                    engine,
                    workdir,
                    chats,
                    processes=processes,
                    updates=updates,
                    restart=restart,
                    lead_s=lead_s,
                )
            else:
                due_at, finished = await _polling(
                    server, db, engine, workdir, chats, processes=processes, limits=limits
                )
            states = await count_by_state(engine)
    fields = _fields(
        server,
        kind,
        chats,
        due_at,
        processes=processes,
        limits=limits,
        states=states,
        finished=finished,
    )
    if not limits:
        result = tally(server, chats)
        elapsed = seconds_between(due_at, result.last)
        fields["messages_per_s"] = rounded(result.delivered / elapsed, 1) if elapsed else None
        rate = await dispatcher_only(messages, database=database)
        progress(
            f"burst: the dispatcher alone, without HTTP: {rate.wall_per_s:.0f} messages/s, "
            f"{rate.cpu_per_s:.0f} per CPU second"
        )
        fields["dispatcher_only_per_s"] = rounded(rate.wall_per_s, 1)
        fields["dispatcher_cpu_per_s"] = rounded(rate.cpu_per_s, 1)
    return fields | through


async def _polling(
    server: SandboxServer,
    db: Database,
    engine: AsyncEngine,
    workdir: Path,
    chats: list[int],
    *,
    processes: int,
    limits: bool,
    lead_s: float = DEFAULT_LEAD_S,
) -> tuple[datetime, bool]:
    """The burst through long-polling processes: when the rows were due, and whether
    everything arrived in time."""
    command = STILLPOINT_RUN if limits else UNPACED_RUN
    # The processes share Telegram's budget for one bot (SEND_RATE, in the README).
    env = bot_env(server, db, SEND_RATE=f"{28 / processes:g}")
    bots = [BotProcess(command, env, workdir, f"bot-{n + 1}") for n in range(processes)]
    polls_before = api_calls(server, "getUpdates")
    async with bot_processes(bots):
        startup = await wait_polling(server, bots, before=polls_before)
        progress(f"burst: {processes} bot process(es) polling after {startup:.2f} s")
        server.state.stats.errors_returned.clear()  # count from the burst on
        due_at = in_seconds(lead_s)
        with elapsed_timer() as loading:
            await insert_outbox(engine, [(c, due_at) for c in chats], key_prefix="burst")
        progress(f"burst: {len(chats)} rows due at once, written in {loading():.2f} s")
        if now() > due_at:
            progress("burst: warning: the rows were written after their due time")
        budget = len(chats) / TELEGRAM_MESSAGES_PER_S * 4 + 60
        finished = await wait_delivered(
            server, chats, engine, timeout=lead_s + budget, processes=bots
        )
    return due_at, finished


def _fields(
    server: SandboxServer,
    kind: str,
    chats: list[int],
    due_at: datetime,
    *,
    processes: int,
    limits: bool,
    states: dict[str, int],
    finished: bool,
) -> dict[str, Any]:
    messages = len(chats)
    result = tally(server, chats)
    elapsed = seconds_between(due_at, result.last)
    fields: dict[str, Any] = {
        "benchmark": "burst",
        "database": kind,
        "processes": processes,
        "limits": limits,
        "messages": messages,
        "delivered": result.delivered,
        "duplicates": result.duplicates,
        "lost": result.lost,
        "http_429": http_errors(server, 429),
        "http_errors": dict(server.state.stats.errors_returned),
        "elapsed_s": rounded(elapsed),
        "limit_s": rounded(messages / TELEGRAM_MESSAGES_PER_S),
        "first_send_after_due_s": rounded(seconds_between(due_at, result.first)),
        "states": states,
        "finished": finished,
    }
    if limits and elapsed is not None:
        fields["elapsed_over_limit"] = rounded(elapsed / (messages / TELEGRAM_MESSAGES_PER_S))
    return fields
