"""``flood``: one user floods the bot while everyone else is served.

Emulator limits on. A practice is seeded (practitioners; clients with a sent check-in,
see ``benchmarks.practice_seed``) and ``--background`` other chats each get a routine
message due at once, which keeps the bot at Telegram's 30 messages a second. Then, for
``--over`` seconds, one client sends ``--messages`` messages at an even pace while:

- other clients write ordinary words: how long until the bot answers them
  (``others_reply_p99_ms``);
- other clients tap a button under their check-in: how long until the press is
  answered (``callback_answer_p99_ms``);
- clients of other practitioners write words of crisis: their answer
  (``crisis_reply_p99_s``) and their practitioner's urgent alert (``alert_p99_s``).

Afterwards the flooder's stored replies are counted (``flooder_words_logged``).

A second phase queues ``--backlog`` notices for one practitioner and has clients of other
practitioners write words of crisis: one chat's backlog must not delay another's alert
(``backlog_alert_p99_s``).

Times come from the emulator's own message dates and press records (real time).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.common import (
    STILLPOINT_RUN,
    BotProcess,
    api_calls,
    bot_env,
    bot_processes,
    database_kind,
    delivered_count,
    emulator,
    engine_for,
    http_errors,
    now,
    outbox_row,
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
from bot.db.tables import OutboxRow
from bot.db.uow import make_uow_factory
from bot.domain import callbacks
from bot.domain.callbacks import CheckInAction
from bot.domain.models import OutboxKind
from bot.sandbox import user_actions
from bot.sandbox.records import StoredMessage
from bot.sandbox.server import SandboxServer
from bot.sandbox.state import CallbackRecord
from bot.sandbox.text import user_text

DEFAULT_MESSAGES = 200
DEFAULT_OVER_S = 5.0
DEFAULT_BACKGROUND = 600
DEFAULT_BACKLOG = 30
PRACTITIONERS = 10
OTHERS = 50  # clients who write ordinary words, and as many who tap a button
CRISES = 10  # clients in crisis in each phase
ORDINARY = "a bit tired today but ok"
CRISIS = "I want to end my life"
SCORE_PRESSED = 3
LOADED = 30  # background messages delivered before the flood begins
POLL_S = 0.05
DEADLINE_S = 90.0


@dataclass(slots=True)
class _Wait:
    """A user's message and the bot's answer in their chat (and, for crisis words, the
    alert in their practitioner's chat)."""

    client: SeededClient
    message: StoredMessage
    answer: StoredMessage | None = None
    alert: StoredMessage | None = None
    wants_alert: bool = False

    def look(self, server: SandboxServer) -> bool:
        """Fill in what has arrived; whether everything awaited has."""
        if self.answer is None:
            self.answer = first_bot_message(server, self.client.user_id, self.message, None)
        if self.wants_alert and self.alert is None:
            name = re.compile(rf"(?<!\w){re.escape(self.client.name)}(?!\w)")
            self.alert = first_bot_message(
                server, self.client.practitioner_chat, self.message, name
            )
        return self.answer is not None and (self.alert is not None or not self.wants_alert)

    def seconds(self, reply: StoredMessage | None) -> float | None:
        if reply is None:
            return None
        return max(0.0, (reply.date - self.message.date).total_seconds())


def _button_message(server: SandboxServer, client: SeededClient) -> int:
    """The check-in question in the client's chat, with a button to press, as the bot
    would have sent it (put there directly, so the flood is all that is measured)."""
    chat = server.state.chats[client.user_id]
    data = callbacks.checkin(client.checkin_id, CheckInAction.SCORE, SCORE_PRESSED)
    message = server.state.add_message(
        chat,
        server.state.bot,
        text=user_text("How is your body feeling today?"),
        inline_keyboard=[[{"text": str(SCORE_PRESSED), "callback_data": data}]],
    )
    return message.message_id


async def _insert_backlog(engine: AsyncEngine, chat_id: int, count: int) -> None:
    at = now()
    rows = [
        outbox_row(chat_id, at, f"backlog:{n}", at) | {"kind": OutboxKind.NOTICE}
        for n in range(count)
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(OutboxRow), rows)


async def _until_answered(
    server: SandboxServer,
    waits: Sequence[_Wait],
    presses: Sequence[CallbackRecord],
    bot: BotProcess,
) -> bool:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        looked = [w.look(server) for w in waits]  # every one, not only up to the first gap
        if all(looked) and all(p.answered for p in presses):
            return True
        if (problem := bot.exited_early()) is not None:
            raise RuntimeError(problem)
        await asyncio.sleep(POLL_S)
    return False


async def _flood(  # noqa: PLR0917 -- one call site, each argument named there
    server: SandboxServer,
    flooder: SeededClient,
    messages: int,
    over_s: float,
    others: Sequence[SeededClient],
    pressers: Sequence[tuple[SeededClient, int]],
    crises: Sequence[SeededClient],
) -> tuple[list[_Wait], list[_Wait], list[CallbackRecord]]:
    """The flood, with the others' words, presses and crises spread evenly through it."""
    events: list[tuple[float, str, Any]] = [
        (over_s * n / messages, "flood", n) for n in range(messages)
    ]
    for group, kind in ((others, "words"), (pressers, "press"), (crises, "crisis")):
        for n, item in enumerate(group):
            events.append((over_s * (n + 0.5) / len(group), kind, item))
    events.sort(key=lambda event: event[0])
    ordinary: list[_Wait] = []
    crisis: list[_Wait] = []
    presses: list[CallbackRecord] = []
    started = time.monotonic()
    for at, kind, item in events:
        delay = started + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        state = server.state
        match kind:
            case "flood":
                user_actions.send_text(state, flooder.user_id, f"message {item}: {ORDINARY}")
            case "words":
                sent = user_actions.send_text(state, item.user_id, ORDINARY)
                ordinary.append(_Wait(item, sent))
            case "press":
                client, message_id = item
                data = callbacks.checkin(client.checkin_id, CheckInAction.SCORE, SCORE_PRESSED)
                presses.append(user_actions.press(state, client.user_id, message_id, data))
            case _:
                sent = user_actions.send_text(state, item.user_id, CRISIS)
                crisis.append(_Wait(item, sent, wants_alert=True))
    return ordinary, crisis, presses


async def _backlog_crises(
    server: SandboxServer,
    engine: AsyncEngine,
    busy_chat: int,
    count: int,
    crises: Sequence[SeededClient],
) -> list[_Wait]:
    await _insert_backlog(engine, busy_chat, count)
    await asyncio.sleep(1.0)  # the dispatcher has claimed what it will for the busy chat
    waits = []
    for client in crises:
        waits.append(
            _Wait(
                client,
                user_actions.send_text(server.state, client.user_id, CRISIS),
                wants_alert=True,
            )
        )
        await asyncio.sleep(0.2)
    return waits


async def _flooder_logged(
    engine: AsyncEngine, flooder: SeededClient, messages: int, bot: BotProcess, last_sent: float
) -> tuple[int, float]:
    """How many of the flooder's messages are stored, once all are or the deadline
    passes; and how long after their last message (``last_sent``, monotonic) that was."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        async with make_uow_factory(engine)() as uow:
            logged = len(await uow.replies.for_client(flooder.client_id))
        if logged >= messages or time.monotonic() > deadline:
            return logged, time.monotonic() - last_sent
        if (problem := bot.exited_early()) is not None:
            raise RuntimeError(problem)
        await asyncio.sleep(0.2)


async def run(
    messages: int = DEFAULT_MESSAGES,
    *,
    over_s: float = DEFAULT_OVER_S,
    background: int = DEFAULT_BACKGROUND,
    backlog: int = DEFAULT_BACKLOG,
    database: str | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return its JSON fields."""
    if messages < 1 or over_s <= 0 or background < 0 or backlog < 0:
        raise ValueError(
            "--messages at least 1, --over positive, --background and --backlog not negative"
        )
    kind = database_kind(database)
    with workspace("flood") as workdir:
        async with (
            scratch_database(database, workdir, "flood") as db,
            engine_for(db) as engine,
            emulator(limits=True) as server,
        ):
            # Client n belongs to practitioner n % PRACTITIONERS; client 0 floods.
            # One more client, last, writes first: the bot answers once it has loaded
            # its triage rules, and the run measures a bot that is up and running.
            clients = await seed_clients(
                engine, partial(start_chat, server), 1 + 2 * OTHERS + 4 * CRISES + 1, PRACTITIONERS
            )
            flooder, rest, probe = clients[0], clients[1:-1], clients[-1]
            busy_chat = flooder.practitioner_chat
            elsewhere = [c for c in rest if c.practitioner_chat != busy_chat]
            others, pressers = rest[:OTHERS], rest[OTHERS : 2 * OTHERS]
            crises = [c for c in elsewhere if c not in others and c not in pressers][: 2 * CRISES]
            background_chats = [start_chat(server, f"Other {n + 1}") for n in range(background)]
            buttons = [(client, _button_message(server, client)) for client in pressers]
            progress(f"flood: {messages} messages in {over_s:g} s from one client, on {kind}")
            bot = BotProcess(STILLPOINT_RUN, bot_env(server, db), workdir, "bot")
            polls = api_calls(server, "getUpdates")
            async with bot_processes([bot]):
                await wait_polling(server, [bot], before=polls)
                hello = _Wait(probe, user_actions.send_text(server.state, probe.user_id, ORDINARY))
                await wait_until(
                    lambda: hello.look(server), timeout=30, what="a first answer", processes=[bot]
                )
                server.state.stats.errors_returned.clear()
                await insert_background(engine, background_chats)
                if background:
                    await wait_until(
                        lambda: (
                            delivered_count(server, background_chats) >= min(LOADED, background)
                        ),
                        timeout=30,
                        what="the background load to start going out",
                        processes=[bot],
                    )
                ordinary, crisis, presses = await _flood(
                    server, flooder, messages, over_s, others, buttons, crises[:CRISES]
                )
                flood_ended = time.monotonic()
                finished = await _until_answered(server, [*ordinary, *crisis], presses, bot)
                progress("flood: phase two, a backlog for one practitioner")
                late = await _backlog_crises(server, engine, busy_chat, backlog, crises[CRISES:])
                finished = await _until_answered(server, late, [], bot) and finished
                logged, logged_after_s = await _flooder_logged(
                    engine, flooder, messages, bot, flood_ended
                )
    return _fields(
        kind=kind,
        messages=messages,
        over_s=over_s,
        background=background,
        backlog=backlog,
        ordinary=ordinary,
        crisis=crisis,
        presses=presses,
        late=late,
        logged=logged,
        logged_after_s=logged_after_s,
        finished=finished,
        server=server,
    )


def _ms(values: Sequence[float]) -> float | None:
    p99 = percentile(values, 99)
    return None if p99 is None else round(p99 * 1000, 1)


def _fields(
    *,
    kind: str,
    messages: int,
    over_s: float,
    background: int,
    backlog: int,
    ordinary: Sequence[_Wait],
    crisis: Sequence[_Wait],
    presses: Sequence[CallbackRecord],
    late: Sequence[_Wait],
    logged: int,
    logged_after_s: float,
    finished: bool,
    server: SandboxServer,
) -> dict[str, Any]:
    replies = [s for w in ordinary if (s := w.seconds(w.answer)) is not None]
    answered = [p.answered_after_s for p in presses if p.answered_after_s is not None]
    crisis_replies = [s for w in crisis if (s := w.seconds(w.answer)) is not None]
    alerts = [s for w in crisis if (s := w.seconds(w.alert)) is not None]
    backlog_alerts = [s for w in late if (s := w.seconds(w.alert)) is not None]
    return {
        "benchmark": "flood",
        "database": kind,
        "flood_messages": messages,
        "flood_over_s": over_s,
        "background": background,
        "others_replies": f"{len(replies)}/{len(ordinary)}",
        "others_reply_p99_ms": _ms(replies),
        "callback_answers": f"{len(answered)}/{len(presses)}",
        "callback_answer_p99_ms": _ms(answered),
        "crisis_replies": f"{len(crisis_replies)}/{len(crisis)}",
        "crisis_reply_p99_s": rounded(percentile(crisis_replies, 99)),
        "alerts": f"{len(alerts)}/{len(crisis)}",
        "alert_p99_s": rounded(percentile(alerts, 99)),
        "backlog": backlog,
        "backlog_alerts": f"{len(backlog_alerts)}/{len(late)}",
        "backlog_alert_p99_s": rounded(percentile(backlog_alerts, 99)),
        "flooder_words_logged": logged,
        "flooder_all_logged_after_s": rounded(logged_after_s, 1),
        "http_429": http_errors(server, 429),
        "http_errors": dict(server.state.stats.errors_returned),
        "finished": finished,
    }
