"""getUpdates and the webhook methods."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from bot.sandbox.errors import bad_request, conflict
from bot.sandbox.params import ApiMethod, Params
from bot.sandbox.state import SandboxState
from bot.sandbox.updates import WEBHOOK_ACTIVE
from bot.sandbox.webhook import is_loopback

MAX_LIMIT = 100
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


async def get_updates(state: SandboxState, params: Params) -> list[dict[str, Any]]:
    """getUpdates with offset, limit (clamped to 1..100), long-poll timeout, allowed_updates."""
    if state.webhook.url:
        raise conflict(WEBHOOK_ACTIVE)
    offset = params.get_int("offset") or 0
    requested = params.get_int("limit")
    limit = MAX_LIMIT if requested is None else min(max(requested, 1), MAX_LIMIT)
    timeout = max(params.get_float("timeout") or 0.0, 0.0)
    state.updates.set_allowed(params.get_json("allowed_updates"))
    return await state.updates.poll(offset, limit, timeout)


def _check_webhook_url(url: str) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise bad_request("bad webhook: Failed to resolve host: Name or service not known")
    if is_loopback(url) and parts.scheme in ("http", "https"):
        return  # the sandbox delivers to local plain-HTTP servers too
    if parts.scheme != "https":
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if (parts.port or 443) not in WEBHOOK_PORTS:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


async def set_webhook(state: SandboxState, params: Params) -> bool:
    """setWebhook; an empty url removes the webhook."""
    url = (params.get_str("url") or "").strip()
    if not url:
        return await delete_webhook(state, params)
    _check_webhook_url(url)
    secret = params.get_str("secret_token")
    if secret is not None and not _SECRET.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = params.get_int("max_connections") or 40
    if not 1 <= max_connections <= MAX_LIMIT:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed = params.get_json("allowed_updates")
    state.updates.set_allowed(allowed)
    if params.get_bool("drop_pending_updates"):
        state.updates.drop_all()
    webhook = state.webhook
    webhook.url, webhook.secret_token, webhook.max_connections = url, secret, max_connections
    if isinstance(allowed, list):
        webhook.allowed_updates = [k for k in allowed if isinstance(k, str)]
    webhook.last_error_date = webhook.last_error_message = None
    state.updates.end_poll(conflict(WEBHOOK_ACTIVE))
    state.updates.wake_all()
    return True


async def delete_webhook(state: SandboxState, params: Params) -> bool:
    """deleteWebhook, optionally dropping pending updates."""
    if params.get_bool("drop_pending_updates"):
        state.updates.drop_all()
    state.webhook.url = ""
    state.webhook.secret_token = None
    state.webhook.allowed_updates = None
    return True


async def get_webhook_info(state: SandboxState, params: Params) -> dict[str, Any]:
    """getWebhookInfo."""
    return state.webhook.info(len(state.updates))


METHODS: dict[str, ApiMethod] = {
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
}
