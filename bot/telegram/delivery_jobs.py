"""APScheduler (through PTB's JobQueue) drives the dispatcher: a steady tick, and a wake-up
at the next due time. The jobs keep no state of their own; the outbox table is the record."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from telegram.ext import Application, ContextTypes

from bot.clock import MovableClock
from bot.ports import Clock
from bot.services.delivery.dispatcher import Dispatcher
from bot.telegram.rate_limiter import PacedRateLimiter

DISPATCHER_KEY = "dispatcher"
TICK_JOB_ID = "outbox-tick"
WAKE_JOB_ID = "outbox-wake"
TICK_SECONDS = 1.0

_log = logging.getLogger(__name__)


async def dispatch_due(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send what is due, then plan a precise wake-up for what comes next."""
    dispatcher: Dispatcher = context.bot_data[DISPATCHER_KEY]
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
    dispatcher: Dispatcher = application.bot_data[DISPATCHER_KEY]
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


def start_delivery(application: Application, clock: Clock) -> None:  # type: ignore[type-arg]
    """Start the repeating tick; with a movable clock, also wake up whenever it moves.

    The dispatcher is told to claim only what the bot's rate limiter lets out promptly.
    """
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("the application was built without a job queue")
    dispatcher: Dispatcher = application.bot_data[DISPATCHER_KEY]
    limiter = application.bot.rate_limiter
    if isinstance(limiter, PacedRateLimiter):
        # Claims follow the same budget the sends are paced by: what is claimed but not
        # yet sent is what a crash leaves uncertain.
        dispatcher.pace_with(limiter)
    # APScheduler starts an interval job one interval late; the first pass goes at once.
    job_queue.run_once(dispatch_due, when=0, name=WAKE_JOB_ID, job_kwargs={"id": WAKE_JOB_ID})
    job_queue.run_repeating(
        dispatch_due,
        interval=TICK_SECONDS,
        first=TICK_SECONDS,
        name=TICK_JOB_ID,
        job_kwargs={
            "id": TICK_JOB_ID,
            "max_instances": 1,
            "coalesce": True,
            "replace_existing": True,
        },
    )
    if isinstance(clock, MovableClock):
        loop = asyncio.get_running_loop()

        def wake_up_now(now: datetime) -> None:
            loop.call_soon_threadsafe(plan_wake_up, application, now)

        clock.on_change(wake_up_now)
