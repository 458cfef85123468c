"""The baseline: a plain bot that keeps one APScheduler job per message in a SQLAlchemyJobStore.

This is how a Telegram bot is commonly written: each reminder is a date-triggered job in
APScheduler's persistent job store, and the job sends the message with PTB's ``Bot``
(through PTB's ``AIORateLimiter``: 30 messages a second overall, flood control retried
up to three times). Nothing else: no outbox, no claims, no record of outcomes. Jobs
run however late they are (``misfire_grace_time=None``), so a restart still sends them.

Two commands, both configured by the environment (``JOBSTORE_URL``, a synchronous
SQLAlchemy URL; ``BOT_TOKEN`` and ``TELEGRAM_API_URL`` for ``run``)::

    python -m benchmarks.apscheduler_bot schedule --chats FILE --due ISO-TIME
    python -m benchmarks.apscheduler_bot run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.background import BackgroundScheduler
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, ExtBot

import messages

JOB_REFERENCE = "benchmarks.apscheduler_bot:send_reminder"
TEMPLATE = "stop.done"  # the same text the delivery engine's benchmark rows carry
JOB_DEFAULTS = {"misfire_grace_time": None, "coalesce": True}

_bot: ExtBot | None = None  # type: ignore[type-arg]


async def send_reminder(chat_id: int) -> None:
    """The job: send one message to ``chat_id``."""
    if _bot is None:
        raise RuntimeError("the bot is not running")
    await _bot.send_message(chat_id, messages.render(TEMPLATE, "en"), parse_mode=ParseMode.HTML)


def schedule(jobstore_url: str, chats: Sequence[int], due: datetime) -> None:
    """Write one date-triggered job per chat into the job store."""
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=jobstore_url)},
        job_defaults=JOB_DEFAULTS,
        timezone=UTC,
    )
    scheduler.start(paused=True)  # jobs added now go straight to the store
    try:
        for chat_id in chats:
            scheduler.add_job(
                JOB_REFERENCE, "date", run_date=due, args=[chat_id], id=f"reminder-{chat_id}"
            )
    finally:
        scheduler.shutdown(wait=False)


async def serve(jobstore_url: str, token: str, api_url: str) -> None:
    """Run the scheduler and the bot until SIGTERM or SIGINT."""
    global _bot  # noqa: PLW0603 -- the job function is referenced by name from the store
    bot = ExtBot(token, base_url=f"{api_url}/bot", rate_limiter=AIORateLimiter(max_retries=3))
    _bot = bot
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with bot:
        scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=jobstore_url)},
            job_defaults=JOB_DEFAULTS,
            timezone=UTC,
        )
        scheduler.start()
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)


def main(argv: Sequence[str] | None = None) -> int:
    """``schedule`` or ``run``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.apscheduler_bot")
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("schedule")
    plan.add_argument("--chats", type=Path, required=True, help="a JSON list of chat ids")
    plan.add_argument("--due", required=True, help="ISO time, with its offset")
    commands.add_parser("run")
    args = parser.parse_args(argv)
    jobstore_url = os.environ["JOBSTORE_URL"]
    if args.command == "schedule":
        chats = [int(c) for c in json.loads(args.chats.read_text(encoding="utf-8"))]
        schedule(jobstore_url, chats, datetime.fromisoformat(args.due))
        return 0
    asyncio.run(serve(jobstore_url, os.environ["BOT_TOKEN"], os.environ["TELEGRAM_API_URL"]))
    return 0


if __name__ == "__main__":
    # Run the copy imported under the module's own name: the jobs refer to it by that name.
    from benchmarks.apscheduler_bot import main as module_main

    sys.exit(module_main())
