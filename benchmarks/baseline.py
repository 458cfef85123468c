"""``baseline``: the same burst and chaos runs for this bot and for an APScheduler job-store bot.

The baseline (``benchmarks/apscheduler_bot.py``) keeps one date-triggered job per message
in APScheduler's ``SQLAlchemyJobStore`` on the same kind of database, and sends with
PTB's ``Bot`` and ``AIORateLimiter``. Both face the same emulator setup (limits on), the
same number of messages and the same number of SIGKILLs at random moments.

APScheduler removes a date-triggered job from its store as it hands the job to the
executor, before the message is sent: whatever a kill interrupts is gone without a trace.
"""

from __future__ import annotations

import json
import random
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks import burst, chaos
from benchmarks.common import (
    TELEGRAM_MESSAGES_PER_S,
    BotProcess,
    Database,
    api_calls,
    bot_env,
    bot_processes,
    database_kind,
    delivered_count,
    elapsed_timer,
    emulator,
    engine_for,
    http_errors,
    in_seconds,
    now,
    open_chats,
    progress,
    rounded,
    scratch_database,
    seconds_between,
    tally,
    wait_until,
    workspace,
)
from bot.sandbox.server import SandboxServer

APSCHEDULER_BOT = (sys.executable, "-m", "benchmarks.apscheduler_bot")
QUIET_S = 3.0  # no new delivery for this long, and no job left: the baseline is done
FAILED_JOB = "raised an exception"  # APScheduler's log line for a job that failed


async def jobs_left(engine: AsyncEngine) -> int:
    """How many jobs the APScheduler job store still holds."""
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(text("SELECT count(*) FROM apscheduler_jobs")) or 0)
    except DBAPIError:  # the table appears when the scheduler first starts
        return 0


class _Quiet:
    """True once no job is left and no delivery has come for ``QUIET_S`` seconds."""

    def __init__(self, server: SandboxServer, chats: Sequence[int], engine: AsyncEngine) -> None:
        self._server, self._chats, self._engine = server, chats, engine
        self._count = -1
        self._since = time.monotonic()

    async def __call__(self) -> bool:
        count = delivered_count(self._server, self._chats)
        if count != self._count:
            self._count, self._since = count, time.monotonic()
            return False
        if time.monotonic() - self._since < QUIET_S:
            return False
        return count >= len(self._chats) or await jobs_left(self._engine) == 0


async def _schedule(
    server: SandboxServer, db: Database, folder: Path, chats: Sequence[int], due: str
) -> float:
    """Write the jobs with the baseline's own code; the seconds it took."""
    chats_file = folder / "chats.json"
    chats_file.write_text(json.dumps(list(chats)), encoding="utf-8")
    planner = BotProcess(
        (*APSCHEDULER_BOT, "schedule", "--chats", str(chats_file), "--due", due),
        bot_env(server, db, JOBSTORE_URL=db.sync_url()),
        folder,
        "apscheduler-schedule",
    )
    with elapsed_timer() as took:
        planner.start()
        await wait_until(lambda: not planner.running, timeout=600, what="the jobs to be written")
    code = await planner.stop()
    planner.close()
    if code != 0:
        raise RuntimeError(f"scheduling the APScheduler jobs failed: {planner.log_tail()}")
    return took()


def _failed_jobs(process: BotProcess) -> int:
    try:
        log = process.log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    return log.count(FAILED_JOB)


async def apscheduler_burst(messages: int, *, database: str | None) -> dict[str, Any]:
    """N jobs due at one instant, run by the APScheduler bot; the burst fields."""
    with workspace("baseline") as workdir:
        async with (
            scratch_database(database, workdir, "jobs") as db,
            engine_for(db) as engine,
            emulator(limits=True) as server,
        ):
            chats = open_chats(server, messages)
            # Written before the bot starts (its scheduler reads the store when it starts),
            # due once it will surely be running.
            due_at = in_seconds(5 + messages / 500)
            took = await _schedule(server, db, workdir, chats, due_at.isoformat())
            progress(f"baseline: {messages} APScheduler jobs written in {took:.2f} s")
            bot = BotProcess(
                (*APSCHEDULER_BOT, "run"),
                bot_env(server, db, JOBSTORE_URL=db.sync_url()),
                workdir,
                "apscheduler-bot",
            )
            async with bot_processes([bot]):
                await wait_until(
                    lambda: api_calls(server, "getMe") > 0,
                    timeout=60,
                    what="the APScheduler bot to start",
                    processes=[bot],
                )
                if now() > due_at:
                    progress("baseline: warning: the APScheduler bot started after the due time")
                await wait_until(
                    lambda: now() > due_at, timeout=600, what="the due time", interval=0.1
                )
                await wait_until(
                    _Quiet(server, chats, engine),
                    timeout=messages / TELEGRAM_MESSAGES_PER_S * 4 + 60,
                    what="the APScheduler bot to finish",
                    interval=0.2,
                    processes=[bot],
                )
                left = await jobs_left(engine)
            failed = _failed_jobs(bot)
    result = tally(server, chats)
    elapsed = seconds_between(due_at, result.last)
    return {
        "messages": messages,
        "delivered": result.delivered,
        "duplicates": result.duplicates,
        "lost": result.lost,
        "http_429": http_errors(server, 429),
        "elapsed_s": rounded(elapsed),
        "limit_s": rounded(messages / TELEGRAM_MESSAGES_PER_S),
        "first_send_after_due_s": rounded(seconds_between(due_at, result.first)),
        "failed_jobs_logged": failed,
        "jobs_left": left,
    }


async def apscheduler_chaos(
    messages: int, kills: int, *, database: str | None, seed: int
) -> dict[str, Any]:
    """The chaos run against the APScheduler bot; the chaos fields."""
    rng = random.Random(seed)
    with workspace("baseline") as workdir:
        async with (
            scratch_database(database, workdir, "jobs") as db,
            engine_for(db) as engine,
            emulator(limits=True) as server,
        ):
            chats = open_chats(server, messages)
            await _schedule(server, db, workdir, chats, now().isoformat())
            progress(f"baseline: {messages} APScheduler jobs due now; {kills} kills")
            process = BotProcess(
                (*APSCHEDULER_BOT, "run"),
                bot_env(server, db, JOBSTORE_URL=db.sync_url()),
                workdir,
                "apscheduler-bot",
            )

            async def nothing_recorded() -> set[int]:
                return set()  # APScheduler keeps no record of a job it has started

            async def has_work() -> bool:
                return await jobs_left(engine) > 0

            subject = chaos.Subject(
                process=process,
                settled=_Quiet(server, chats, engine),
                in_flight=nothing_recorded,
                has_work=has_work,
                settle_timeout=messages / TELEGRAM_MESSAGES_PER_S * 4 + 120,
            )
            report = await chaos.kill_repeatedly(server, chats, subject, kills, rng)
            left = await jobs_left(engine)
            failed = _failed_jobs(process)
    result = tally(server, chats)
    # A job that raised is at least in the log; everything else that never arrived left
    # no trace anywhere.
    return {
        "messages": messages,
        "delivered_once": result.delivered_once,
        "duplicates": result.duplicates,
        "lost_silently": max(0, result.lost - failed),
        "uncertain": 0,
        "failed": failed,
        "kills": report.kills,
        "jobs_left": left,
        "http_429": http_errors(server, 429),
        "seconds": round(report.seconds, 1),
    }


def _side(burst_fields: dict[str, Any], chaos_fields: dict[str, Any]) -> dict[str, Any]:
    """One side of the comparison: the burst fields, then the chaos fields (``chaos_*``
    where the names clash), and both runs in full."""
    flat = {
        key: burst_fields.get(key)
        for key in (
            "messages",
            "delivered",
            "duplicates",
            "lost",
            "http_429",
            "elapsed_s",
            "limit_s",
        )
    }
    flat.update(
        {
            "delivered_once": chaos_fields.get("delivered_once"),
            "chaos_duplicates": chaos_fields.get("duplicates"),
            "lost_silently": chaos_fields.get("lost_silently"),
            "uncertain": chaos_fields.get("uncertain"),
            "failed": chaos_fields.get("failed"),
            "kills": chaos_fields.get("kills"),
        }
    )
    return {**flat, "burst": burst_fields, "chaos": chaos_fields}


async def run(
    messages: int,
    kills: int,
    *,
    database: str | None = None,
    seed: int | None = None,
    chaos_messages: int | None = None,
    ours: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Both bots, burst then chaos; the side-by-side JSON fields.

    ``chaos_messages`` (default ``messages``) sizes the chaos runs. ``ours`` passes this
    bot's burst and chaos results when they were just measured with the same sizes.
    """
    if messages < 1 or kills < 0:
        raise ValueError("--messages must be at least 1 and --kills at least 0")
    seed = secrets.randbits(32) if seed is None else seed
    crash_size = chaos_messages or messages
    if ours is None:
        progress(f"baseline: this bot, burst of {messages}")
        ours_burst = await burst.run(messages, database=database)
        progress(f"baseline: this bot, chaos: {crash_size} messages, {kills} kills")
        ours_chaos = await chaos.run(crash_size, kills, database=database, seed=seed)
    else:
        ours_burst, ours_chaos = ours
    progress(f"baseline: APScheduler bot, burst of {messages}")
    theirs_burst = await apscheduler_burst(messages, database=database)
    progress(f"baseline: APScheduler bot, chaos: {crash_size} messages, {kills} kills")
    theirs_chaos = await apscheduler_chaos(crash_size, kills, database=database, seed=seed)
    return {
        "benchmark": "baseline",
        "database": database_kind(database),
        "messages": messages,
        "chaos_messages": crash_size,
        "kills": kills,
        "seed": seed,
        "ours": _side(ours_burst, ours_chaos),
        "apscheduler": _side(theirs_burst, theirs_chaos),
    }
