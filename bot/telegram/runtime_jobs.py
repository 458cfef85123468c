"""The one way a repeating job starts: every so often, one run at a time, and once more
at once whenever the sandbox's movable clock moves (so what became due happens without
waiting for the next run). Jobs reach the ``Runtime`` as handlers do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from telegram.ext import Application, ContextTypes

from bot.clock import MovableClock
from bot.runtime import runtime_of

JobCallback = Callable[[ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def start_job(
    application: Application,  # type: ignore[type-arg]
    callback: JobCallback,
    *,
    job_id: str,
    every_seconds: float,
    first_seconds: float = 0.0,
) -> None:
    """Run ``callback`` every ``every_seconds`` (the first after ``first_seconds``), one
    run at a time, and once more at once whenever a movable clock moves (a burst of moves
    becomes one extra run)."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("the application was built without a job queue")
    once = {"id": job_id, "max_instances": 1, "coalesce": True, "replace_existing": True}
    if first_seconds <= 0:
        # APScheduler starts an interval job one interval late: the first run goes now.
        job_queue.run_once(
            callback, when=0, name=job_id, job_kwargs={**once, "id": f"{job_id}-first"}
        )
        first_seconds = every_seconds
    job_queue.run_repeating(
        callback, interval=every_seconds, first=first_seconds, name=job_id, job_kwargs=once
    )
    clock = runtime_of(application).clock
    if not isinstance(clock, MovableClock):
        return
    loop = asyncio.get_running_loop()
    now_id = f"{job_id}-now"

    def run_now(_now: datetime) -> None:
        loop.call_soon_threadsafe(
            lambda: job_queue.run_once(
                callback, when=0, name=now_id, job_kwargs={**once, "id": now_id}
            )
        )

    clock.on_change(run_now)
