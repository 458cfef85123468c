"""A load balancer for webhook replicas, on loopback: each update posted to it goes to the
next replica in turn, and to the one after if that one cannot be reached (a replica
restarting), as a load balancer in front of ``stillpoint run --webhook-url`` would."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Sequence

import aiohttp
from aiohttp import web

PATH = "/telegram"
_PASSED_HEADERS = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RoundRobinProxy:
    """Posts each request to the replicas in turn; 502 when none can be reached."""

    def __init__(self) -> None:
        self.replicas: list[str] = []
        self._next: itertools.cycle[int] = itertools.cycle(())
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""
        self.passed_over = 0
        """Requests a replica could not take and the next one did."""

    async def start(self) -> str:
        """Listen on a free loopback port; the webhook URL to give Telegram."""
        app = web.Application()
        app.router.add_post(PATH, self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self.url = f"http://127.0.0.1:{port}{PATH}"
        return self.url

    def route_to(self, replicas: Sequence[str]) -> None:
        """The webhook URLs behind it (known once it listens: theirs name its address)."""
        self.replicas = list(replicas)
        self._next = itertools.cycle(range(len(self.replicas)))

    async def stop(self) -> None:
        """Stop listening."""
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: request.headers[k] for k in _PASSED_HEADERS if k in request.headers}
        if self._session is None:
            raise RuntimeError("the proxy is not started")
        for attempt in range(len(self.replicas)):
            replica = self.replicas[next(self._next)]
            try:
                async with self._session.post(replica, data=body, headers=headers) as answer:
                    self.passed_over += attempt
                    return web.Response(status=answer.status, body=await answer.read())
            except aiohttp.ClientConnectionError:
                continue
        return web.Response(status=502, text="no replica could be reached")
