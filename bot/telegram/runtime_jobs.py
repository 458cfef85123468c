"""Repeating jobs that take the ``Runtime`` as their data, and run again at once whenever the
sandbox's movable clock moves (so what became due happens without waiting for the next run)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from telegram.ext import Application, ContextTypes

from bot.clock import MovableClock
from bot.runtime import Runtime

JobCallback = Callable[[ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def job_runtime(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    """The ``Runtime`` a job was started with."""
    runtime = context.job.data if context.job is not None else None
    if not isinstance(runtime, Runtime):
        raise TypeError("this job needs the Runtime as its data")
    return runtime


def start_runtime_job(
    application: Application,  # type: ignore[type-arg]
    runtime: Runtime,
    callback: JobCallback,
    *,
    job_id: str,
    every_seconds: float,
    first_seconds: float = 0.0,
) -> None:
    """Run ``callback`` every ``every_seconds``, one run at a time, and once more at once
    whenever a movable clock moves (a burst of moves becomes one extra run)."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("the application was built without a job queue")
    once = {"id": job_id, "max_instances": 1, "coalesce": True, "replace_existing": True}
    job_queue.run_repeating(
        callback,
        interval=every_seconds,
        first=first_seconds,
        name=job_id,
        data=runtime,
        job_kwargs=once,
    )
    clock = runtime.clock
    if not isinstance(clock, MovableClock):
        return
    loop = asyncio.get_running_loop()
    now_id = f"{job_id}-now"

    def run_now(_now: datetime) -> None:
        loop.call_soon_threadsafe(
            lambda: job_queue.run_once(
                callback, when=0, name=now_id, data=runtime, job_kwargs={**once, "id": now_id}
            )
        )

    clock.on_change(run_now)
