"""Random updates through every handler, against the emulator's Bot API, with a fixed seed.

Users write texts and commands with random arguments, press buttons with their real,
mutated or random data, edit what they wrote, send media with captions, forward, write
in a group, block and unblock the bot, take and refuse invites, while the clock moves and
the outbox is sent. The real application handles each update on a real database; its
calls go to the emulator's own methods (in-process, so ten thousand updates take a
minute), which answer as Telegram does. What counts: unhandled exceptions (every ERROR
line) and Bot API 400s, both of which must stay at zero.

Run longer: ``python -m tests.fuzzing --updates 100000 --seed 7`` (``make fuzz``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import random
import re
import string
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from telegram import Update
from telegram.ext import Application
from telegram.request import RequestData

from bot.clock import MovableClock
from bot.db.engine import create_engine
from bot.db.migrate import upgrade
from bot.db.uow import make_uow_factory
from bot.ports import UnitOfWorkFactory
from bot.runtime import Runtime, install, runtime_of
from bot.sandbox import user_actions
from bot.sandbox.bot_api import METHODS, canonical_method
from bot.sandbox.errors import ApiError
from bot.sandbox.params import Params, UploadedFile
from bot.sandbox.state import SandboxState
from bot.services.checkins.schedule import (
    complete_ended_sessions,
    follow_sent_checkins,
    pause_silent,
)
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.practice import invites as invite_service
from bot.services.practice import morning_list, practitioners
from bot.settings import Settings, load_settings
from bot.telegram.notifier import TelegramNotifier
from handlers.common import lanes_of
from tests.handlers.offline import LocalRequest, application_over

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
CLIENTS = 6
STRANGERS = 3

COMMANDS = (
    "/start", "/help", "/next", "/stop", "/erase", "/privacy", "/pause", "/resume",
    "/newclient", "/invites", "/clients", "/book", "/cancel", "/reschedule", "/today",
    "/upcoming", "/flags", "/timezone", "/settings", "/unknown", "/start@stillpoint_sandbox_bot",
)  # fmt: skip
ZONES = ("Europe/Berlin", "America/New_York", "Mars/Olympus", "UTC+99", "../../etc/passwd", "")
WORDS = (
    "feeling better", "much worse today", "I want to die", "took all my pills",
    "can't feel my legs", "sore neck", "ok", "🙂", "10/10 pain", "pain 3", "mir geht es schlecht",
    "ich will nicht mehr leben", "<b>bold</b>", "&amp; <script>", "a" * 5000, "", " ",
    "nothing like a stroke lol", "call me please", "thanks!", "\u202e\u200b", "😀" * 300,
)  # fmt: skip
DATES = (
    "2026-11-20", "9999-12-31", "0001-01-01", "2026-02-30", "2026-13-01", "99999-01-01",
    "2026-1-5", "tomorrow", "20261120", "2026-11-20T10:00",
)  # fmt: skip
TIMES = ("10:00", "9:30", "24:00", "23:59", "99:99", "1000", "10.30", "-1:00")
MINUTES = ("60", "90m", "0", "999999999999999999999", "-5", "45min", "1e9")
BIG_NUMBERS = ("0", "1", "-1", "99999999999999999999", "9223372036854775808", "2147483648")
MEDIA = ("photo", "sticker", "voice", "document")


@dataclass
class FuzzReport:
    """What one run found."""

    updates: int = 0
    errors: list[str] = field(default_factory=list)
    bad_requests: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "updates": self.updates,
            "unhandled_errors": len(self.errors),
            "bot_api_400": sum(self.bad_requests.values()),
            "first_errors": self.errors[:5],
            "bad_requests": dict(self.bad_requests.most_common(10)),
            "seconds": round(self.seconds, 1),
        }


class EmulatorRequest(LocalRequest):
    """PTB's requests answered by the emulator's own Bot API methods, without HTTP."""

    def __init__(self, state: SandboxState, bad_requests: Counter[str]) -> None:
        self._state = state
        self._bad_requests = bad_requests

    async def answer(self, api_method: str, request_data: RequestData | None) -> tuple[int, bytes]:
        name = canonical_method(api_method)
        if name is None:
            return 404, json.dumps(
                {"ok": False, "error_code": 404, "description": "Not Found"}
            ).encode()
        params = Params(
            dict(request_data.json_parameters) if request_data else {},
            _uploads(request_data),
        )
        try:
            result = await METHODS[name](self._state, params)
        except ApiError as error:
            if error.error_code == 400:
                self._bad_requests[f"{name}: {error.description}"] += 1
            return error.error_code, json.dumps(error.to_json()).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()


def _uploads(request_data: RequestData | None) -> dict[str, UploadedFile]:
    """The files PTB uploads with a request (a document, a photo), as the sandbox's
    HTTP server reads them from a multipart body."""
    if request_data is None:
        return {}
    return {
        name: UploadedFile(
            filename, mimetype, content if isinstance(content, bytes) else content.read()
        )
        for name, (filename, content, mimetype) in request_data.multipart_data.items()
    }


class _ErrorLines(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.ERROR)
        self._into = into

    def emit(self, record: logging.LogRecord) -> None:
        detail = ""
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            where = traceback.extract_tb(error.__traceback__)[-2:]
            detail = f" ({error!r} at {'; '.join(f'{f.filename}:{f.lineno}' for f in where)})"
        self._into.append(f"{record.name}: {record.getMessage()}{detail}")


class Fuzzer:
    """One world: the emulator, the bot on a database, the users, and a random source."""

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        state: SandboxState,
        clock: MovableClock,
        rng: random.Random,
    ) -> None:
        self.app = app
        self.state = state
        self.clock = clock
        self.rng = rng
        self.practitioner = state.practitioner_user_id
        self.clients = [
            state.create_user(f"Client{n}", language_code=rng.choice(["en", "de", None])).id
            for n in range(CLIENTS)
        ]
        self.strangers = [state.create_user(f"Stranger{n}").id for n in range(STRANGERS)]
        self.group: int | None = None
        self.tokens: list[str] = []
        self.names = ["Anna Client", "Bo", "Émile Zola", "x" * 200, "<i>tag</i>"]
        self.dispatcher: Dispatcher = runtime_of(app).sender

    @property
    def everyone(self) -> list[int]:
        return [self.practitioner, *self.clients, *self.strangers]

    async def drain(self) -> int:
        """Hand every pending update to the application, in order; return how many."""
        handled = 0
        while pending := self.state.updates.peek(100):
            for payload in pending:
                await self.app.process_update(Update.de_json(payload, self.app.bot))
                handled += 1
            self.state.updates.confirm(pending[-1]["update_id"] + 1)
            await lanes_of(self.app).wait_sent()
        return handled

    def _open(self, user: int) -> bool:
        return not self.state.chats[user].blocked

    def _text(self) -> str:
        """Something a user might type: never empty, at most one message long."""
        rng = self.rng
        choice = rng.random()
        if choice < 0.6:
            text = rng.choice(WORDS)
        elif choice < 0.8:
            alphabet = string.printable + "äöüß€😀"
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80)))
        else:
            text = " ".join(rng.choice(WORDS + DATES + TIMES) for _ in range(rng.randint(1, 6)))
        return text.strip()[:4096] or "…"

    def _args(self, command: str) -> str:
        rng = self.rng
        parts: list[str] = []
        if command == "/timezone":
            parts.append(rng.choice(ZONES))
        if command in ("/book", "/cancel", "/reschedule", "/newclient"):
            parts.append(rng.choice([*self.names, *self.names, "Client0", "nobody here", ""]))
        if command in ("/book", "/reschedule"):
            soon = (self.clock.now() + timedelta(days=rng.randint(-2, 30))).date().isoformat()
            parts += [rng.choice([*DATES, soon, soon]), rng.choice(TIMES)]
            if rng.random() < 0.5:
                parts.append(rng.choice(MINUTES))
        if command == "/start" and rng.random() < 0.6:
            parts.append(
                rng.choice([*self.tokens, "bogus", "x" * 64, ""]) if self.tokens else "bogus"
            )
        if rng.random() < 0.2:
            parts.append(self._text()[:50])
        return " ".join(p for p in parts if p)

    def _mutate(self, data: str) -> str:
        rng = self.rng
        how = rng.random()
        if how < 0.3:
            return data
        if how < 0.55:
            return re.sub(r"\d+", lambda _: rng.choice(BIG_NUMBERS), data, count=rng.randint(1, 3))
        if how < 0.7:
            return data[: rng.randint(0, len(data))]
        if how < 0.8:
            return (data + rng.choice([":", "x", ":9999", "::"]))[:64]
        if how < 0.9:
            return (
                re.sub(r"\d{8}", "99991231", data)
                if re.search(r"\d{8}", data)
                else data + "99991231"
            )
        return "".join(
            rng.choice(string.ascii_letters + ":_-0123456789") for _ in range(rng.randint(1, 64))
        )

    async def step(self) -> None:
        """One random thing a user (or time) does, and the updates it makes."""
        rng = self.rng
        actions: list[tuple[float, Callable[[], Any]]] = [
            (30, self.write),
            (22, self.command),
            (22, self.press),
            (5, self.edit),
            (6, self.media),
            (3, self.forward),
            (4, self.in_group),
            (2, self.block_or_unblock),
            (4, self.invite_and_join),
            (4, self.book_a_joined_client),
            (3, self.time_passes),
        ]
        action = rng.choices([a for _, a in actions], weights=[w for w, _ in actions])[0]
        await action()

    async def write(self) -> None:
        user = self.rng.choice(self.everyone)
        if self._open(user):
            user_actions.send_text(self.state, user, self._text())

    async def command(self) -> None:
        rng = self.rng
        # Most commands come from the practitioner, booking above all; /stop and /erase,
        # which end a client's story, are rare, so the rest of it gets explored.
        user = self.practitioner if rng.random() < 0.5 else rng.choice(self.everyone)
        if not self._open(user):
            return
        command = rng.choice(COMMANDS)
        if command in ("/stop", "/erase") and rng.random() < 0.8:
            command = rng.choice(("/book", "/next", "/clients", "/reschedule", "/cancel"))
        line = f"{command} {self._args(command)}".strip()
        user_actions.send_text(self.state, user, line[:4096])

    async def press(self) -> None:
        user = self.rng.choice(self.everyone)
        chat = self.state.chats[user]
        if chat.blocked:
            return
        with_buttons = [m for m in chat.messages.values() if m.from_bot and m.inline_keyboard]
        if not with_buttons:
            return
        message = self.rng.choice(with_buttons[-8:])
        datas: list[str] = [
            data
            for row in message.inline_keyboard or []
            for button in row
            if (data := button.get("callback_data"))
        ]
        if not datas:
            return
        data = self._mutate(self.rng.choice(datas))
        sender = self.state.users[user]
        record = self.state.new_callback(sender, message, data)
        self.state.push_update(
            "callback_query",
            {
                "id": record.id,
                "from": sender.to_api(),
                "message": message.to_api(),
                "chat_instance": str(7_000_000_000_000 + abs(chat.id)),
                "data": data,
            },
        )

    async def edit(self) -> None:
        user = self.rng.choice(self.everyone)
        chat = self.state.chats[user]
        mine = [m for m in chat.messages.values() if not m.from_bot and m.text is not None]
        if chat.blocked or not mine:
            return
        message = self.rng.choice(mine[-5:])
        text = self._text()
        if text != str(message.text):
            try:
                user_actions.edit(self.state, user, message.message_id, text)
            except Exception:  # the emulator refuses an edit to the same text
                return

    async def media(self) -> None:
        user = self.rng.choice(self.everyone)
        if not self._open(user):
            return
        kind = self.rng.choice(MEDIA)
        caption = None if kind == "sticker" or self.rng.random() < 0.3 else self._text()[:1024]
        user_actions.send_media(self.state, user, kind, caption)

    async def forward(self) -> None:
        user = self.rng.choice(self.everyone)
        if not self._open(user):
            return
        message = user_actions.send_text(self.state, user, self._text())
        # The same message as a forward: Telegram marks where it came from.
        payload = message.to_api() | {
            "forward_origin": {
                "type": "hidden_user",
                "sender_user_name": "Someone Else",
                "date": int(self.clock.now().timestamp()) - 3600,
            },
            "message_id": message.message_id,
        }
        self.state.push_update("message", payload)

    async def in_group(self) -> None:
        if self.group is None:
            self.group = user_actions.create_group(self.state, "Practice team", self.clients[0]).id
        user = self.rng.choice(self.everyone)
        text = self.rng.choice([self._text(), *COMMANDS])
        user_actions.group_send(self.state, self.group, user, text)

    async def block_or_unblock(self) -> None:
        user = self.rng.choice([*self.clients, *self.strangers])
        user_actions.set_blocked(self.state, user, not self.state.chats[user].blocked)

    async def invite_and_join(self) -> None:
        if self._open(self.practitioner) and (not self.tokens or self.rng.random() < 0.3):
            # Mostly names of their own, so that most bookings find one client (some
            # repeat, so that pick lists come up too).
            name = self.rng.choice(self.names)
            if self.rng.random() < 0.7:
                name = f"{name} {self.rng.randint(1, 10**6)}"
            user_actions.send_text(self.state, self.practitioner, f"/newclient {name}")
            await self.drain()
            self.tokens += _tokens(self.state, self.practitioner)
            return
        user = self.rng.choice([*self.clients, *self.strangers])
        if not (self.tokens and self._open(user)):
            return
        user_actions.send_text(self.state, user, f"/start {self.rng.choice(self.tokens)}")
        await self.drain()
        last = max(self.state.chats[user].messages.values(), key=lambda m: m.message_id)
        buttons = [b for row in last.inline_keyboard or [] for b in row if b.get("callback_data")]
        if last.from_bot and buttons and self.rng.random() < 0.8:
            user_actions.press(self.state, user, last.message_id, buttons[0]["callback_data"])

    async def book_a_joined_client(self) -> None:
        """The practitioner books a client who has joined, soon, so that reminders,
        confirmations and check-ins come into play."""
        rt = runtime_of(self.app)
        async with rt.uow() as uow:
            practitioner = await uow.practitioners.by_telegram_id(self.practitioner)
            joined = (
                [
                    c
                    for c in await uow.clients.for_practitioner(practitioner.id)
                    if c.telegram_user_id
                ]
                if practitioner is not None
                else []
            )
        if not joined or not self._open(self.practitioner):
            return
        client = self.rng.choice(joined)
        starts = self.clock.now() + timedelta(hours=self.rng.randint(2, 72))
        line = f"/book {client.full_name} {starts:%Y-%m-%d} {starts:%H}:00"
        user_actions.send_text(self.state, self.practitioner, line)

    async def time_passes(self) -> None:
        """The clock moves; the bot's jobs run (sessions end, check-ins are planned and
        followed, morning lists go out) and what is due is sent."""
        self.clock.advance(timedelta(minutes=self.rng.choice([1, 30, 180, 60 * 24, 60 * 24 * 3])))
        rt = runtime_of(self.app)
        await complete_ended_sessions(rt.ctx)
        await follow_sent_checkins(rt.ctx)
        await pause_silent(rt.ctx)
        await morning_list.morning_lists(rt.ctx)
        await self.dispatcher.dispatch_due()


def _tokens(state: SandboxState, chat_id: int) -> list[str]:
    found: list[str] = []
    for message in state.chats[chat_id].messages.values():
        if message.from_bot:
            found += re.findall(r"start=([A-Za-z0-9_-]+)", json.dumps(message.to_api()))
    return sorted(set(found))


async def fuzz(
    updates: int,
    seed: int,
    database_url: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> FuzzReport:
    """Drive the bot with at least ``updates`` random updates; what went wrong."""
    report = FuzzReport()
    rng = random.Random(seed)
    clock = MovableClock(START, frozen=True)  # time moves only when the fuzz says
    state = SandboxState(clock, limits=False)
    errors = _ErrorLines(report.errors)
    logging.getLogger().addHandler(errors)
    # Invite tokens from the seed too, so that a finding comes back with the same seed.
    tokens = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "_-"

    def seeded_token() -> str:
        return "".join(tokens.choice(alphabet) for _ in range(32))

    # The invite service calls the name it imported (bot.domain.invites.new_token), so
    # that is the name to replace, for this run only.
    with (
        mock.patch.object(invite_service, "new_token", seeded_token),
        tempfile.TemporaryDirectory() as folder,
    ):
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'fuzz.db'}"
        await upgrade(url)
        engine = create_engine(url)
        try:
            started = time.monotonic()
            uow = make_uow_factory(engine)
            # Updates come far faster than people type: flood control would quiet everyone.
            settings = load_settings(
                None,
                practitioner_ids=(state.practitioner_user_id,),
                database_url=url,
                flood_updates=1000,
                flood_window_s=0.001,
            )
            await practitioners.ensure_configured(
                uow, settings.practitioner_ids, timezone="Europe/Berlin", locale="en", clock=clock
            )
            app = _application(state, report, settings, clock, uow)
            async with app:
                fuzzer = Fuzzer(app, state, clock, rng)
                user_actions.send_text(state, fuzzer.practitioner, "/start")
                for user in fuzzer.clients:
                    user_actions.send_text(state, user, "/start")
                report.updates += await fuzzer.drain()
                while report.updates < updates:
                    await fuzzer.step()
                    before = report.updates
                    report.updates += await fuzzer.drain()
                    if progress is not None and before // 10_000 < report.updates // 10_000:
                        progress(report.updates)
                await fuzzer.dispatcher.dispatch_due()
            report.seconds = time.monotonic() - started
        finally:
            logging.getLogger().removeHandler(errors)
            await engine.dispose()
    return report


def _application(
    state: SandboxState,
    report: FuzzReport,
    settings: Settings,
    clock: MovableClock,
    uow: UnitOfWorkFactory,
) -> Application:  # type: ignore[type-arg]
    from bot.app import build_dispatcher  # noqa: PLC0415

    request = EmulatorRequest(state, report.bad_requests)
    runtime = Runtime(settings, clock, uow)
    app = application_over(runtime, request, state.bot_token)
    dispatcher = build_dispatcher(settings, uow, TelegramNotifier(app.bot), clock)
    install(app, dataclasses.replace(runtime, dispatcher=dispatcher))
    return app


def main() -> None:
    """``python -m tests.fuzzing``: print the figures as JSON; exit 1 on any finding."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", help="a database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    def progress(done: int) -> None:
        sys.stderr.write(f"fuzz: {done} updates (seed {args.seed})\n")

    report = asyncio.run(fuzz(args.updates, args.seed, args.database, progress))
    print(json.dumps(report.summary(), indent=1, ensure_ascii=False))
    raise SystemExit(1 if report.errors or report.bad_requests else 0)


if __name__ == "__main__":
    main()
