"""``burst --webhook``: the burst with the bot's replicas taking updates by webhook.

``--processes`` replicas of ``stillpoint run --webhook-url`` (one PostgreSQL database)
behind a round-robin load balancer on loopback (``webhook_proxy``); N reminders due at
once to N chats, and, while they go out, ``--updates`` clients writing to the bot (each
a new user sending ``/start``, answered once). With ``--restart``, the first replica is
stopped and started again halfway through the updates. What is counted: the reminders
(delivered, duplicates, lost), Telegram's ``409 Conflict`` answers (two processes
long-polling one bot would get them), the updates answered, answered twice, and lost,
and ``/metrics`` against the emulator: the outbox's ``sent`` rows (read from the
database by a replica at a scrape) and the sum of the replicas' own sent counters (a
restarted replica's start again), both once everything has arrived, against the chats the
emulator saw receive a reminder; and once halfway, the outbox's ``sent`` rows by a scrape
between two counts of the emulator's (it may lag them by the sends not yet recorded).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.common import (
    STILLPOINT_RUN,
    TELEGRAM_MESSAGES_PER_S,
    BotProcess,
    Database,
    bot_env,
    bot_processes,
    delivered_count,
    in_seconds,
    insert_outbox,
    progress,
    tally,
    wait_delivered,
    wait_until,
)
from benchmarks.webhook_proxy import RoundRobinProxy, free_port
from bot.sandbox import user_actions
from bot.sandbox.server import SandboxServer

SECRET = "burst-replicas"  # noqa: S105 -- the webhook secret of a benchmark's replicas
UPDATE_EVERY_S = 0.02


@dataclass(frozen=True, slots=True)
class _Replica:
    process: BotProcess
    health: str


def _replicas(
    server: SandboxServer, db: Database, workdir: Path, count: int, url: str
) -> tuple[list[_Replica], list[str]]:
    replicas, webhooks = [], []
    for n in range(count):
        port, health = free_port(), free_port()
        env = bot_env(
            server,
            db,
            SEND_RATE=f"{28 / count:g}",
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
            HEALTH_PORT=str(health),
        )
        command = (*STILLPOINT_RUN, "--webhook-url", url)
        process = BotProcess(command, env, workdir, f"replica-{n + 1}")
        replicas.append(_Replica(process, f"http://127.0.0.1:{health}"))
        webhooks.append(f"http://127.0.0.1:{port}/telegram")
    return replicas, webhooks


async def _healthy(session: aiohttp.ClientSession, replicas: list[_Replica]) -> bool:
    for replica in replicas:
        try:
            async with session.get(f"{replica.health}/healthz") as answer:
                if answer.status != 200:
                    return False
        except aiohttp.ClientConnectionError:
            return False
    return True


async def _metric(
    session: aiohttp.ClientSession, replica: _Replica, name: str, label: str
) -> float:
    """The sum of ``name``'s samples carrying ``label`` (``state="sent"``), any others."""
    async with session.get(f"{replica.health}/metrics") as answer:
        page = await answer.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in page.splitlines()
        if line.startswith(name + "{") and label in line
    )


async def _write(server: SandboxServer, users: list[int], restart: BotProcess | None) -> None:
    """Each user sends /start, one every ``UPDATE_EVERY_S``; ``restart`` is stopped and
    started again halfway."""
    for n, user in enumerate(users):
        if restart is not None and n == len(users) // 2:
            progress("burst: restarting replica 1 mid-burst")
            await restart.stop()
            restart.start()
        user_actions.send_text(server.state, user, "/start")
        await asyncio.sleep(UPDATE_EVERY_S)


async def run(
    server: SandboxServer,
    db: Database,
    engine: AsyncEngine,
    workdir: Path,
    chats: list[int],
    *,
    processes: int,
    updates: int,
    restart: bool,
    lead_s: float,
) -> tuple[datetime, bool, dict[str, Any]]:
    """The burst through ``processes`` webhook replicas: when the rows were due, whether
    everything arrived in time, and its own JSON fields."""
    proxy = RoundRobinProxy()
    url = await proxy.start()
    replicas, webhooks = _replicas(server, db, workdir, processes, url)
    proxy.route_to(webhooks)
    users = [server.state.create_user(f"Writer {n + 1}").id for n in range(updates)]
    bots = [r.process for r in replicas]
    try:
        async with aiohttp.ClientSession() as session, bot_processes(bots):
            startup = await wait_until(
                lambda: _healthy(session, replicas),
                timeout=60,
                what="the replicas to be up",
                interval=0.2,
                processes=bots,
            )
            progress(f"burst: {processes} webhook replica(s) up after {startup:.2f} s")
            server.state.stats.errors_returned.clear()
            due_at = in_seconds(lead_s)
            await insert_outbox(engine, [(c, due_at) for c in chats], key_prefix="burst")
            writing = asyncio.create_task(_write(server, users, bots[0] if restart else None))
            budget = len(chats) / TELEGRAM_MESSAGES_PER_S * 4 + 60
            await wait_until(
                lambda: delivered_count(server, chats) >= len(chats) // 2,
                timeout=lead_s + budget,
                what="half the reminders",
            )
            seen_before = delivered_count(server, chats)
            mid_sent = await _metric(
                session, replicas[-1], "stillpoint_outbox_messages", 'state="sent"'
            )
            mid_seen = (seen_before, delivered_count(server, chats))
            finished = await wait_delivered(server, chats, engine, timeout=lead_s + budget)
            await writing
            await wait_until(
                lambda: tally(server, users).lost == 0,
                timeout=30,
                what="every update answered",
                interval=0.2,
            )
            outbox_sent = await _metric(
                session, replicas[-1], "stillpoint_outbox_messages", 'state="sent"'
            )
            counted = [
                await _metric(session, r, "stillpoint_sends_total", 'outcome="sent"')
                for r in replicas
            ]
    finally:
        await proxy.stop()
    answers = tally(server, users)
    reminders = tally(server, chats)
    return (
        due_at,
        finished,
        {
            "webhook": True,
            "http_409": int(server.state.stats.errors_returned.get("409", 0)),
            "updates": updates,
            "updates_answered": answers.delivered,
            "updates_answered_twice": answers.duplicates,
            "lost_updates": answers.lost,
            "replica_restarted": restart,
            "proxy_passed_over": proxy.passed_over,
            "mid_burst_emulator_delivered": list(mid_seen),
            "mid_burst_metrics_outbox_sent": int(mid_sent),
            "metrics_outbox_sent": int(outbox_sent),
            "metrics_sent_counted": int(sum(counted)),
            "emulator_delivered": reminders.delivered,
            "metrics_match": int(outbox_sent) == reminders.delivered,
        },
    )
