"""``triage-latency``: how fast a client's words of crisis are answered, and their
practitioner alerted, while the bot is busy with other chats.

A fresh database is seeded through the application's unit of work: practitioners and N
active clients, each with a completed session and a check-in whose question was sent
(so their words attach to it). M other chats each get a routine message (a reminder or
a check-in) due at once, which keeps the bot at Telegram's 30 messages a second (limits
on in the emulator). While that backlog drains, each client writes words of crisis
through the emulator, one every ``interval`` seconds, as a real user would.

Both latencies are read from the emulator's own message times (one clock, real time):
``client`` from the client's message to the first bot message in their chat after it,
``alert`` from the client's message to the first bot message in their practitioner's
chat that names them. Telegram allows one message a second into one chat, so alerts to
one practitioner cannot go faster than that; ``--practitioners`` spreads the clients.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from benchmarks.common import (
    STILLPOINT_RUN,
    TELEGRAM_MESSAGES_PER_S,
    BotProcess,
    api_calls,
    bot_env,
    bot_processes,
    database_kind,
    delivered_count,
    emulator,
    engine_for,
    http_errors,
    percentile,
    progress,
    rounded,
    scratch_database,
    wait_polling,
    wait_until,
    workspace,
)
from benchmarks.practice_seed import (
    SeededClient,
    first_bot_message,
    insert_background,
    seed_clients,
    start_chat,
)
from bot.sandbox import user_actions
from bot.sandbox.records import StoredMessage
from bot.sandbox.server import SandboxServer

DEFAULT_MESSAGES = 40
DEFAULT_BACKGROUND = 600
DEFAULT_INTERVAL_S = 0.5
DEFAULT_PRACTITIONERS = 1
PHRASES = (
    "I want to die",
    "i wanna end it all tonight",
    "I don't want to live anymore",
    "I keep thinking about killing myself",
    "want 2 end it, cant do this anymore",
    "honestly I'm thinking about suicide tonight",
)
LOADED = 30  # background messages delivered before the first client writes
CRISIS_MARK = "Thank you for telling me"  # the English crisis answer begins so
URGENT_MARK = "Urgent"  # the level shown in an urgent alert
POLL_S = 0.05


@dataclass(slots=True)
class _Sent:
    """One client's words of crisis, and what came back."""

    seeded: SeededClient
    message: StoredMessage
    answer: StoredMessage | None = None
    alert: StoredMessage | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(rf"(?<![\w]){re.escape(self.seeded.name)}(?![\w])")


def _look(server: SandboxServer, sent: Sequence[_Sent]) -> bool:
    """Fill in answers and alerts that have arrived; whether every one has."""
    complete = True
    for item in sent:
        if item.answer is None:
            item.answer = first_bot_message(server, item.seeded.user_id, item.message, None)
        if item.alert is None:
            item.alert = first_bot_message(
                server, item.seeded.practitioner_chat, item.message, item.pattern
            )
        complete = complete and item.answer is not None and item.alert is not None
    return complete


def _seconds(later: StoredMessage | None, earlier: StoredMessage) -> float | None:
    return None if later is None else max(0.0, (later.date - earlier.date).total_seconds())


def _text(message: StoredMessage | None) -> str:
    return "" if message is None or message.text is None else message.text.text


async def run(
    messages: int = DEFAULT_MESSAGES,
    background: int = DEFAULT_BACKGROUND,
    *,
    database: str | None = None,
    interval_s: float = DEFAULT_INTERVAL_S,
    practitioners: int = DEFAULT_PRACTITIONERS,
) -> dict[str, Any]:
    """Run the benchmark and return its JSON fields."""
    if messages < 1 or background < 0 or interval_s < 0:
        raise ValueError("--messages must be at least 1, --background and --interval not negative")
    if not 1 <= practitioners <= messages:
        raise ValueError("--practitioners must be between 1 and --messages")
    kind = database_kind(database)
    with workspace("triage") as workdir:
        async with (
            scratch_database(database, workdir, "triage") as db,
            engine_for(db) as engine,
            emulator(limits=True) as server,
        ):
            seeded = await seed_clients(
                engine, partial(start_chat, server), messages, practitioners
            )
            others = [start_chat(server, f"Other {n + 1}") for n in range(background)]
            progress(
                f"triage-latency: {messages} clients of {practitioners} practitioner(s), "
                f"{background} other chats, on {kind}"
            )
            bot = BotProcess(STILLPOINT_RUN, bot_env(server, db), workdir, "bot")
            polls = api_calls(server, "getUpdates")
            async with bot_processes([bot]):
                startup = await wait_polling(server, [bot], before=polls)
                progress(f"triage-latency: the bot polls after {startup:.2f} s")
                server.state.stats.errors_returned.clear()  # count from the load on
                await insert_background(engine, others)
                if background:
                    await wait_until(
                        lambda: delivered_count(server, others) >= min(LOADED, background),
                        timeout=30,
                        what="the background load to start going out",
                        processes=[bot],
                    )
                progress(
                    f"triage-latency: {background} routine messages due; clients write "
                    f"one every {interval_s:g} s"
                )
                sent: list[_Sent] = []
                background_before = delivered_count(server, others)
                started = time.monotonic()
                for n, item in enumerate(seeded):
                    # Keep to the schedule even if a look at the state took a while.
                    delay = started + n * interval_s - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    text = PHRASES[n % len(PHRASES)]
                    message = user_actions.send_text(server.state, item.user_id, text)
                    sent.append(_Sent(item, message))
                    _look(server, sent)
                background_left = background - delivered_count(server, others)
                progress(
                    f"triage-latency: all {messages} sent; {background_left} routine "
                    "messages were still to go"
                )
                # One alert a second per practitioner's chat is Telegram's own limit.
                budget = 30.0 + messages / practitioners + background / TELEGRAM_MESSAGES_PER_S
                deadline = time.monotonic() + budget
                while not _look(server, sent) and time.monotonic() < deadline:
                    if (problem := bot.exited_early()) is not None:
                        raise RuntimeError(problem)
                    await asyncio.sleep(POLL_S)
                finished = _look(server, sent)
                if not finished:
                    progress(f"triage-latency: gave up waiting after {budget:.0f} s")
    return _fields(
        server,
        sent,
        kind=kind,
        background=background,
        background_during=background - background_left - background_before,
        background_left=background_left,
        practitioners=practitioners,
        interval_s=interval_s,
        finished=finished,
        background_delivered=delivered_count(server, others),
    )


def _fields(
    server: SandboxServer,
    sent: Sequence[_Sent],
    *,
    kind: str,
    background: int,
    background_during: int,
    background_left: int,
    practitioners: int,
    interval_s: float,
    finished: bool,
    background_delivered: int,
) -> dict[str, Any]:
    client = [s for item in sent if (s := _seconds(item.answer, item.message)) is not None]
    alert = [s for item in sent if (s := _seconds(item.alert, item.message)) is not None]
    first: datetime | None = sent[0].message.date if sent else None
    last: datetime | None = sent[-1].message.date if sent else None
    over_s = (last - first).total_seconds() if first and last else None
    return {
        "benchmark": "triage-latency",
        "database": kind,
        "messages": len(sent),
        "background": background,
        "practitioners": practitioners,
        "interval_s": interval_s,
        "sent_over_s": rounded(over_s),
        "answered": len(client),
        "crisis_answers": sum(1 for item in sent if CRISIS_MARK in _text(item.answer)),
        "alerted": len(alert),
        "urgent_alerts": sum(1 for item in sent if URGENT_MARK in _text(item.alert)),
        "client_p50_s": rounded(percentile(client, 50)),
        "client_p99_s": rounded(percentile(client, 99)),
        "client_max_s": rounded(max(client, default=0.0)) if client else None,
        "alert_p50_s": rounded(percentile(alert, 50)),
        "alert_p99_s": rounded(percentile(alert, 99)),
        "alert_max_s": rounded(max(alert, default=0.0)) if alert else None,
        "background_delivered": background_delivered,
        "background_left_at_last_send": background_left,
        # Routine messages delivered a second while the clients wrote: the bot was busy.
        "background_per_s": rounded(background_during / over_s, 1) if over_s else None,
        "http_429": http_errors(server, 429),
        "http_errors": dict(server.state.stats.errors_returned),
        "finished": finished,
    }
