"""Delivery of updates to the URL set with setWebhook, one at a time and in order.

An update is confirmed when the bot's server answers 2xx; otherwise the failure is
recorded for getWebhookInfo (``last_error_date``, ``last_error_message``) and the
same update is retried after a pause.

Updates are only ever posted to loopback addresses, so test data never leaves the
machine; a webhook elsewhere is accepted (as Telegram would) but its updates stay
pending, and getWebhookInfo says why.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import aiohttp

from bot.sandbox.state import SandboxState

logger = logging.getLogger(__name__)

IDLE_WAIT_S = 1.0
RETRY_PAUSE_S = 0.5
REQUEST_TIMEOUT_S = 10.0
WEBHOOK_HEADER = "X-Telegram-Bot-Api-Secret-Token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
NOT_LOCAL = "The sandbox delivers webhook updates to loopback addresses only"


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine."""
    host = urlsplit(url).hostname or ""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


class WebhookSender:
    """A background task posting pending updates to the webhook URL."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        """Start the delivery loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the delivery loop."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not self._stopping:
                webhook = self.state.webhook
                pending = self.state.updates.peek(1)
                if not webhook.url or not pending:
                    await self.state.updates.wait(IDLE_WAIT_S)
                elif not is_loopback(webhook.url):
                    self._failed(NOT_LOCAL)
                    await self.state.updates.wait(IDLE_WAIT_S)
                elif await self._post(session, webhook.url, pending[0]):
                    still = self.state.updates.peek(1)
                    if still and still[0] is pending[0]:
                        self.state.updates.pop_first()
                else:
                    await asyncio.sleep(RETRY_PAUSE_S)

    async def _post(self, session: aiohttp.ClientSession, url: str, update: object) -> bool:
        webhook = self.state.webhook
        headers = {WEBHOOK_HEADER: webhook.secret_token} if webhook.secret_token else {}
        try:
            async with session.post(url, json=update, headers=headers) as response:
                if 200 <= response.status < 300:
                    return True
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Connection failed: {exc.__class__.__name__}"
        logger.debug("webhook delivery to %s failed: %s", url, error)
        self._failed(error)
        return False

    def _failed(self, error: str) -> None:
        webhook = self.state.webhook
        if webhook.last_error_message != error:
            webhook.last_error_date = self.state.now()
        webhook.last_error_message = error
