"""Shared pieces of the benchmarks: scratch databases, the emulator, bot processes, counting.

The emulator runs in the benchmark's own process; the bots run as separate processes
(``stillpoint run``) against it, so the bot's CPU time is its own and SIGKILL is real.
What each chat received is read from the emulator's state, never from the bot's database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.clock import SystemClock
from bot.db.encrypted import use_data_keys
from bot.db.engine import create_engine
from bot.db.migrate import upgrade
from bot.db.tables import OutboxRow
from bot.db.url import is_sqlite, normalize_database_url
from bot.domain.models import OutboxKind, OutboxState
from bot.encryption import KeyRing, new_key
from bot.sandbox.server import SandboxServer
from bot.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgresql://root@127.0.0.1:5432/test"
TELEGRAM_MESSAGES_PER_S = 30.0
# Rows in these states will not change any more by themselves.
FINAL_STATES = frozenset(
    {
        OutboxState.SENT,
        OutboxState.FAILED,
        OutboxState.UNCERTAIN,
        OutboxState.SKIPPED_STALE,
        OutboxState.CANCELLED,
    }
)
# A final state that says why a row was not (or may not have been) delivered.
EXPLAINED_STATES = frozenset(FINAL_STATES - {OutboxState.SENT})
BENCH_TEMPLATE = "stop.done"  # a catalog message without parameters
INSERT_CHUNK = 5_000
_CLOCK = SystemClock()
# One data key per benchmark run: this process writes rows with it, the bots it starts
# read them with it (bot_env), as processes sharing DATA_KEY do.
DATA_KEY = new_key(_CLOCK.now())


def now() -> datetime:
    """The current UTC time (the bot's processes read the same system clock)."""
    return _CLOCK.now()


def progress(message: str) -> None:
    """One human progress line on stderr."""
    stamp = time.strftime("%H:%M:%S")
    print(f"[bench {stamp}] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by nearest rank; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def rounded(value: float | None, digits: int = 3) -> float | None:
    """``value`` rounded for the JSON output."""
    return None if value is None else round(value, digits)


KEEP_ENV = "STILLPOINT_BENCH_KEEP"  # set to keep each run's folder (bot logs, SQLite files)


@contextlib.contextmanager
def workspace(label: str) -> Iterator[Path]:
    """A scratch folder for one run: bot logs, SQLite files; removed unless ``KEEP_ENV`` is set."""
    if os.environ.get(KEEP_ENV):
        folder = Path(tempfile.mkdtemp(prefix=f"stillpoint-bench-{label}-"))
        progress(f"{label}: keeping {folder}")
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix=f"stillpoint-bench-{label}-") as folder_name:
        yield Path(folder_name)


# --- databases ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Database:
    """A scratch database for one run: the URL the bot uses, and what kind it is."""

    url: str
    kind: str  # "sqlite" or "postgresql"

    def sync_url(self) -> str:
        """The same database for a synchronous driver (APScheduler's job store)."""
        parsed = make_url(normalize_database_url(self.url))
        driver = "sqlite" if self.kind == "sqlite" else "postgresql+psycopg"
        return parsed.set(drivername=driver).render_as_string(hide_password=False)


def database_kind(server: str | None) -> str:
    """``sqlite`` for no URL, the word ``sqlite`` or an SQLite URL; else ``postgresql``."""
    if server is None or server.strip().lower() == "sqlite":
        return "sqlite"
    return "sqlite" if is_sqlite(server) else "postgresql"


@contextlib.asynccontextmanager
async def scratch_database(server: str | None, folder: Path, label: str) -> AsyncIterator[Database]:
    """A fresh, migrated database, removed afterwards.

    SQLite (no ``server``, ``sqlite`` or any SQLite URL): a new file in ``folder``.
    PostgreSQL: a database ``stillpoint_bench_<hex>`` created on ``server`` and dropped.
    """
    use_data_keys(KeyRing.parse(DATA_KEY))
    if database_kind(server) == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{folder / f'{label}.sqlite3'}", "sqlite")
        await upgrade(database.url)
        yield database
        return
    assert server is not None
    admin_url = normalize_database_url(server)
    name = f"stillpoint_bench_{secrets.token_hex(4)}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        database = Database(url, "postgresql")
        try:
            await upgrade(database.url)
            yield database
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@contextlib.asynccontextmanager
async def engine_for(database: Database) -> AsyncIterator[AsyncEngine]:
    """The application's own engine on ``database``, disposed afterwards."""
    engine = create_engine(database.url)
    try:
        yield engine
    finally:
        await engine.dispose()


def outbox_row(chat_id: int, due_at: datetime, key: str, created_at: datetime) -> dict[str, Any]:
    """The column values of one pending flag-alert row (a kind quiet hours never delay)."""
    return {
        "chat_id": chat_id,
        "kind": OutboxKind.FLAG_ALERT,
        "template": BENCH_TEMPLATE,
        "payload": {"params": {}, "buttons": []},
        "due_at": due_at,
        "dedup_key": key,
        "state": OutboxState.PENDING,
        "next_attempt_at": due_at,
        "expires_at": None,
        "priority": 0,
        "attempts": 0,
        "silent": False,
        "created_at": created_at,
    }


async def insert_outbox(
    engine: AsyncEngine, due: Sequence[tuple[int, datetime]], *, key_prefix: str
) -> None:
    """Insert one pending row per ``(chat_id, due_at)`` with SQLAlchemy Core, in chunks."""
    created = now()
    rows = iter(enumerate(due))
    while chunk := list(itertools.islice(rows, INSERT_CHUNK)):
        values = [outbox_row(chat, at, f"{key_prefix}:{n}", created) for n, (chat, at) in chunk]
        async with engine.begin() as connection:
            await connection.execute(insert(OutboxRow), values)


async def analyze(engine: AsyncEngine) -> None:
    """Refresh the planner's statistics after a bulk load, as autovacuum would shortly."""
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))


async def delete_outbox(engine: AsyncEngine) -> None:
    """Empty the outbox."""
    async with engine.begin() as connection:
        await connection.execute(delete(OutboxRow))


async def count_by_state(engine: AsyncEngine) -> dict[str, int]:
    """How many outbox rows are in each state (states with no row are left out)."""
    statement = select(OutboxRow.state, func.count()).group_by(OutboxRow.state)
    async with engine.connect() as connection:
        return {str(state): count for state, count in await connection.execute(statement)}


async def states_by_chat(engine: AsyncEngine) -> dict[int, str]:
    """The state of each chat's row (the benchmarks put one row in each chat)."""
    statement = select(OutboxRow.chat_id, OutboxRow.state)
    async with engine.connect() as connection:
        return {chat: str(state) for chat, state in await connection.execute(statement)}


async def all_final(engine: AsyncEngine) -> bool:
    """Whether no row is pending or being sent."""
    counts = await count_by_state(engine)
    return not counts.get(OutboxState.PENDING, 0) and not counts.get(OutboxState.SENDING, 0)


# --- the emulator ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def emulator(*, limits: bool) -> AsyncIterator[SandboxServer]:
    """A Bot API emulator on a free local port, in this process."""
    server = SandboxServer(limits=limits)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def open_chats(server: SandboxServer, count: int) -> list[int]:
    """``count`` users whose chats accept messages, as if each had sent /start."""
    chats = []
    for n in range(count):
        user = server.state.create_user(f"Client {n + 1}")
        # Set on the emulator's state directly: a /start through the control API would
        # make the bot answer each one, spending the message budget being measured.
        server.state.open_chat_quietly(user.id)
        chats.append(user.id)
    return chats


def arrivals(server: SandboxServer, chat_ids: Sequence[int]) -> dict[int, list[datetime]]:
    """When each bot message arrived in each chat, by the emulator's clock (real time)."""
    found: dict[int, list[datetime]] = {}
    for chat_id in chat_ids:
        chat = server.state.chats[chat_id]
        found[chat_id] = sorted(m.date for m in chat.messages.values() if m.sender.is_bot)
    return found


def delivered_count(server: SandboxServer, chat_ids: Sequence[int]) -> int:
    """How many of the chats got at least one bot message."""
    chats = server.state.chats
    return sum(
        1 for chat_id in chat_ids if any(m.sender.is_bot for m in chats[chat_id].messages.values())
    )


@dataclass(frozen=True, slots=True)
class Tally:
    """What the chats received, by the emulator's count."""

    messages: int
    delivered: int  # chats with at least one message
    delivered_once: int  # chats with exactly one
    duplicates: int  # messages beyond the first in a chat
    lost: int  # chats with none
    first: datetime | None
    last: datetime | None
    per_chat: dict[int, list[datetime]] = field(repr=False)


def tally(server: SandboxServer, chat_ids: Sequence[int]) -> Tally:
    """Count deliveries and duplicates per chat from the emulator's message lists."""
    per_chat = arrivals(server, chat_ids)
    times = [at for chat_times in per_chat.values() for at in chat_times]
    return Tally(
        messages=len(chat_ids),
        delivered=sum(1 for t in per_chat.values() if t),
        delivered_once=sum(1 for t in per_chat.values() if len(t) == 1),
        duplicates=sum(max(0, len(t) - 1) for t in per_chat.values()),
        lost=sum(1 for t in per_chat.values() if not t),
        first=min(times, default=None),
        last=max(times, default=None),
        per_chat=per_chat,
    )


def http_errors(server: SandboxServer, code: int) -> int:
    """How many answers with ``code`` the emulator gave."""
    return int(server.state.stats.errors_returned.get(str(code), 0))


def api_calls(server: SandboxServer, method: str) -> int:
    """How many calls of ``method`` the emulator answered."""
    return int(server.state.stats.calls.get(method, 0))


# --- bot processes -----------------------------------------------------------------------


def without_bot_settings(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without any variable the bot reads as a setting."""
    settings = {name.upper() for name in Settings.model_fields}
    return {k: v for k, v in env.items() if k.upper() not in settings}


def bot_env(server: SandboxServer, database: Database, **extra: str) -> dict[str, str]:
    """This environment without any bot setting, plus what the bot needs for the emulator."""
    env = without_bot_settings(os.environ)
    python_path = [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    env.update(
        BOT_TOKEN=server.bot_token,
        TELEGRAM_API_URL=server.url,
        DATABASE_URL=database.url,
        DATA_KEY=DATA_KEY,
        LOG_LEVEL="INFO",
        PYTHONPATH=os.pathsep.join(python_path),
        PYTHONUNBUFFERED="1",
        HEALTH_PORT="0",  # several bots may run at once; a benchmark that scrapes says so
    )
    env.update(extra)
    return env


STILLPOINT_RUN = (sys.executable, "-m", "bot", "run")  # what `stillpoint run` runs


class BotProcess:
    """One bot process; restartable; its output appended to ``<folder>/<name>.log``."""

    def __init__(
        self, command: Sequence[str], env: dict[str, str], folder: Path, name: str
    ) -> None:
        """Prepare (not start) the process; it runs in ``folder``, where no ``.env`` is."""
        self.command = tuple(command)
        self.env = env
        self.folder = folder
        self.log_path = folder / f"{name}.log"
        self.name = name
        self.started_at = 0.0
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: TextIO | None = None

    @property
    def pid(self) -> int | None:
        """The running process's id."""
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        """Whether the process was started and has not ended."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the process; ``started_at`` is the monotonic time just before."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        if self._log is None:
            self._log = self.log_path.open("a", encoding="utf-8")
        self.starts += 1
        self._log.write(f"--- start {self.starts} ---\n")
        self._log.flush()
        self.started_at = time.monotonic()
        self._process = subprocess.Popen(
            self.command,
            cwd=self.folder,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    async def kill(self) -> None:
        """SIGKILL, and wait for the process to be gone."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(process.wait)

    async def stop(self, timeout: float = 20.0) -> int | None:  # noqa: ASYNC109 - a grace period
        """SIGTERM, then SIGKILL if it has not ended within ``timeout`` s; its exit status."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, timeout)
            except subprocess.TimeoutExpired:
                progress(f"{self.name} did not stop within {timeout:g} s; killing it")
                await self.kill()
        return process.returncode

    def close(self) -> None:
        """Close the log file (after the process has ended)."""
        if self._log is not None:
            self._log.close()
            self._log = None

    def exited_early(self) -> str | None:
        """If the process ended by itself, a line saying so with the end of its log."""
        process = self._process
        if process is None or process.poll() is None:
            return None
        return f"{self.name} exited with {process.returncode}: {self.log_tail()}"

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the process's log."""
        if self._log is not None:
            self._log.flush()
        try:
            tail = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return " | ".join(tail[-lines:])

    def memory_mb(self) -> tuple[float, float] | None:
        """Resident memory now and at its peak (VmRSS, VmHWM), in MB; Linux only."""
        if self.pid is None:
            return None
        try:
            status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        except OSError:
            return None
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        try:
            rss_kb = int(fields["VmRSS"].split()[0])
            peak_kb = int(fields["VmHWM"].split()[0])
        except (KeyError, ValueError, IndexError):
            return None
        return rss_kb / 1024, peak_kb / 1024


@contextlib.asynccontextmanager
async def bot_processes(processes: Sequence[BotProcess]) -> AsyncIterator[Sequence[BotProcess]]:
    """Start the processes; stop them (SIGTERM, then SIGKILL) and close their logs at the end."""
    try:
        for process in processes:
            process.start()
        yield processes
    finally:
        await asyncio.gather(*(p.stop() for p in processes))
        for process in processes:
            process.close()


async def wait_until(
    condition: Callable[[], Awaitable[bool] | bool],
    *,
    timeout: float,  # noqa: ASYNC109 - a polling deadline
    what: str,
    interval: float = 0.05,
    processes: Sequence[BotProcess] = (),
) -> float:
    """Poll ``condition`` until it holds; the seconds it took. Fails if a process died."""
    started = time.monotonic()
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.monotonic() - started
        for process in processes:
            if (problem := process.exited_early()) is not None:
                raise RuntimeError(f"while waiting for {what}: {problem}")
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"waited {timeout:g} s for {what}")
        await asyncio.sleep(interval)


async def wait_polling(
    server: SandboxServer,
    processes: Sequence[BotProcess],
    *,
    before: int,
    timeout: float = 60.0,  # noqa: ASYNC109 - a polling deadline
) -> float:
    """Wait until every process has started long polling (its start-up is done)."""
    wanted = before + len(processes)
    return await wait_until(
        lambda: api_calls(server, "getUpdates") >= wanted,
        timeout=timeout,
        what=f"{len(processes)} bot process(es) to start polling",
        processes=processes,
    )


async def wait_delivered(
    server: SandboxServer,
    chat_ids: Sequence[int],
    engine: AsyncEngine | None,
    *,
    timeout: float,  # noqa: ASYNC109 - a polling deadline
    processes: Sequence[BotProcess] = (),
    settle: float = 1.0,
) -> bool:
    """Wait until every chat got a message, or every row is final; then ``settle`` s more.

    Returns whether it finished before ``timeout`` (the caller reports what arrived).
    """
    started = time.monotonic()
    last_db_check = 0.0
    while time.monotonic() - started < timeout:
        if delivered_count(server, chat_ids) >= len(chat_ids):
            break
        if engine is not None and time.monotonic() - last_db_check > 1.0:
            last_db_check = time.monotonic()
            if await all_final(engine):
                break
        for process in processes:
            if (problem := process.exited_early()) is not None:
                raise RuntimeError(problem)
        await asyncio.sleep(0.05)
    else:
        return False
    await asyncio.sleep(settle)  # a duplicate would arrive now
    return True


@contextlib.contextmanager
def elapsed_timer() -> Iterator[Callable[[], float]]:
    """``with elapsed_timer() as elapsed: ...; elapsed()`` in seconds (monotonic)."""
    started = time.monotonic()
    yield lambda: time.monotonic() - started


def seconds_between(start: datetime, end: datetime | None) -> float | None:
    """``end - start`` in seconds, or ``None`` if there is no end."""
    return None if end is None else (end - start).total_seconds()


def in_seconds(seconds: float) -> datetime:
    """The UTC time ``seconds`` from now."""
    return now() + timedelta(seconds=seconds)
