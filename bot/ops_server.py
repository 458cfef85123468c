"""``/healthz`` and ``/metrics`` for an operator, on ``HEALTH_LISTEN:HEALTH_PORT`` beside
``stillpoint run`` (every role: long polling, webhook, worker).

``/healthz`` answers 200 when the database answers within a few seconds and the
dispatcher has been at work lately (a pass started or ended, or a message handled, within
``DISPATCHER_SILENT_S``), 503 otherwise; the body says which check failed. ``/metrics``
is ``bot.metrics`` in the Prometheus text format.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bot import metrics
from bot.runtime import Runtime

DATABASE_TIMEOUT_S = 5.0
DISPATCHER_SILENT_S = 60.0
"""A dispatcher silent this long is stuck: the tick starts a pass every second, and a
long pass handles messages as it goes."""

_log = logging.getLogger(__name__)
_RUNTIME = web.AppKey("runtime", Runtime)


async def _database_answers(runtime: Runtime) -> str | None:
    """``None`` if the database answers in time, else why not (no details of the URL)."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_S), runtime.uow() as uow:
            await uow.outbox.next_attempt_at()
    except TimeoutError:
        return f"no answer within {DATABASE_TIMEOUT_S:g} s"
    except Exception as error:  # any failure to reach it is the answer
        return f"unreachable ({type(error).__name__})"
    return None


async def healthz(request: web.Request) -> web.Response:
    """200 with every check ``ok``, or 503 naming what failed."""
    runtime = request.app[_RUNTIME]
    checks = {"database": await _database_answers(runtime) or "ok"}
    silent = runtime.sender.seconds_since_beat()
    checks["dispatcher"] = "ok" if silent <= DISPATCHER_SILENT_S else f"silent for {silent:.0f} s"
    healthy = all(result == "ok" for result in checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "unhealthy", "checks": checks},
        status=200 if healthy else 503,
    )


async def metrics_page(request: web.Request) -> web.Response:
    """Every metric; the database's gauges as they stood at the last scrape that could
    read them, when it cannot be read now."""
    runtime = request.app[_RUNTIME]
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_S):
            await metrics.read_database(runtime.uow, runtime.clock.now())
    except Exception as error:  # the process's own counters are still worth serving
        _log.warning("metrics: the database could not be read (%s)", type(error).__name__)
    body, content_type = metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": content_type})


def ops_app(runtime: Runtime) -> web.Application:
    """The two routes, for ``runtime``."""
    app = web.Application()
    app[_RUNTIME] = runtime
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    return app


@asynccontextmanager
async def serving_ops(runtime: Runtime, host: str, port: int) -> AsyncIterator[str | None]:
    """Serve the routes on ``host:port`` inside the block (port 0: not at all); yields the
    address served, for the log."""
    if port == 0:
        yield None
        return
    runner = web.AppRunner(ops_app(runtime), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        address = f"http://{host}:{port}"
        _log.info("health and metrics on %s/healthz and %s/metrics", address, address)
        yield address
    finally:
        await runner.cleanup()
