"""The sandbox HTTP server: the Bot API emulator and the control API on one port.

Point PTB at it exactly as at Telegram::

    server = SandboxServer()
    await server.start()
    app = ApplicationBuilder().token(server.bot_token).base_url(server.base_url).build()
"""

from __future__ import annotations

from aiohttp import web

from bot.clock import MovableClock
from bot.sandbox.bot_api import BotApi, telegram_not_found
from bot.sandbox.control_api import ControlApi, control_errors
from bot.sandbox.media import MAX_DOCUMENT_BYTES
from bot.sandbox.state import SandboxState
from bot.sandbox.webhook import WebhookSender

SHUTDOWN_TIMEOUT_S = 1.0
_MULTIPART_OVERHEAD = 1024 * 1024


class SandboxServer:
    """A Telegram Bot API emulator with a control API, served over real HTTP."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: bool = True,
        clock: MovableClock | None = None,
        bot_username: str = "stillpoint_sandbox_bot",
    ) -> None:
        self.host = host
        self.port = port
        self.clock = clock if clock is not None else MovableClock()
        self.state = SandboxState(self.clock, bot_username=bot_username, limits=limits)
        self.bot_token = self.state.bot_token
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._webhook = WebhookSender(self.state)

    @property
    def base_url(self) -> str:
        """The ``base_url`` for PTB: ``<url>/bot`` (PTB appends the token)."""
        return f"{self.url}/bot"

    def _app(self) -> web.Application:
        app = web.Application(
            middlewares=[telegram_not_found, control_errors],
            client_max_size=MAX_DOCUMENT_BYTES + _MULTIPART_OVERHEAD,
        )
        app.add_routes(BotApi(self.state).routes())
        app.add_routes(ControlApi(self.state).routes())
        return app

    async def start(self) -> None:
        """Bind and start serving; port 0 picks a free port, kept in ``port`` and ``url``."""
        if self._runner is not None:
            raise RuntimeError("the sandbox server is already running")
        runner = web.AppRunner(
            self._app(),
            handler_cancellation=True,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            access_log=None,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{self.port}"
        self._webhook.start()

    async def stop(self) -> None:
        """Release waiting long polls, stop webhook delivery and close the port."""
        if self._runner is None:
            return
        self.state.updates.wake_all()
        await self._webhook.stop()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
