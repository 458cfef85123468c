"""APScheduler (through PTB's JobQueue) drives the dispatcher: a steady tick, and a wake-up
at the next due time. The jobs keep no state of their own; the outbox table is the record."""

from __future__ import annotations

import logging
from datetime import datetime

from telegram.ext import Application, ContextTypes

from bot.runtime import runtime_of
from bot.services.delivery.dispatcher import HEARTBEAT
from bot.telegram.rate_limiter import PacedRateLimiter
from bot.telegram.runtime_jobs import start_job

TICK_JOB_ID = "outbox-tick"
WAKE_JOB_ID = "outbox-wake"
HEARTBEAT_JOB_ID = "heartbeat"
TICK_SECONDS = 1.0

_log = logging.getLogger(__name__)


async def dispatch_due(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send what is due, then plan a precise wake-up for what comes next."""
    dispatcher = runtime_of(context.application).sender
    if dispatcher.busy:
        return  # the pass under way plans the next wake-up when it ends
    try:
        await dispatcher.dispatch_due()
        plan_wake_up(context.application, await dispatcher.next_attempt_at())
    except Exception as error:  # e.g. the database is away; nothing is lost, the next tick retries
        _log.warning(
            "delivery pass stopped (%s: %s); retrying next tick", type(error).__name__, error
        )


def plan_wake_up(application: Application, when: datetime | None) -> None:  # type: ignore[type-arg]
    """Run ``dispatch_due`` at ``when`` if that comes before the next tick."""
    if when is None or application.job_queue is None:
        return
    dispatcher = runtime_of(application).sender
    delay = (when - dispatcher.clock.now()).total_seconds()
    if delay >= TICK_SECONDS:
        return
    application.job_queue.run_once(
        dispatch_due,
        when=max(0.0, delay),
        name=WAKE_JOB_ID,
        job_kwargs={
            "id": WAKE_JOB_ID,
            "replace_existing": True,
            "misfire_grace_time": None,
            # A wake-up is planned from inside the running one; with one instance allowed,
            # APScheduler would skip it. ``dispatcher.busy`` already keeps passes apart.
            "max_instances": 2,
        },
    )


def start_delivery(application: Application) -> None:  # type: ignore[type-arg]
    """Start the repeating tick (and a pass whenever a movable clock moves).

    The dispatcher is told to claim only what the bot's rate limiter lets out promptly.
    """
    limiter = application.bot.rate_limiter
    if isinstance(limiter, PacedRateLimiter):
        # Claims follow the same budget the sends are paced by: what is claimed but not
        # yet sent is what a crash leaves uncertain.
        runtime_of(application).sender.pace_with(limiter)
    start_job(application, dispatch_due, job_id=TICK_JOB_ID, every_seconds=TICK_SECONDS)
    start_job(
        application, heartbeat, job_id=HEARTBEAT_JOB_ID, every_seconds=HEARTBEAT.total_seconds()
    )


async def heartbeat(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Renew this process's heartbeat (a process sharing a PostgreSQL database)."""
    try:
        await runtime_of(context.application).sender.beat()
    except Exception as error:  # the database is away: the next beat tries again
        _log.warning("heartbeat failed (%s: %s)", type(error).__name__, error)
