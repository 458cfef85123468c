"""The Bot API endpoint: ``/bot<token>/<method>``, answered in Telegram's envelope.

Success is ``{"ok": true, "result": ...}``; a failure has the HTTP status of its
``error_code`` and ``{"ok": false, "error_code": N, "description": "..."}``. Method
names are matched case-insensitively, as Telegram does. Injected faults are applied
after the token and method are known, before the method runs.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web

from bot.sandbox import methods_bot, methods_messages, methods_profile, methods_updates
from bot.sandbox.errors import ApiError, internal_error, not_found, unauthorized
from bot.sandbox.params import ApiMethod, Params, read_params
from bot.sandbox.state import SandboxState

logger = logging.getLogger(__name__)

METHODS: dict[str, ApiMethod] = {
    **methods_messages.METHODS,
    **methods_bot.METHODS,
    **methods_updates.METHODS,
    **methods_profile.METHODS,
}
_BY_LOWER = {name.lower(): name for name in METHODS}


def canonical_method(name: str) -> str | None:
    """The emulated method's proper name (Telegram matches names case-insensitively)."""
    return _BY_LOWER.get(name.lower())


_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")


def _fault_chat(params: Params) -> int | None:
    try:
        return params.get_int("chat_id")
    except ApiError:
        return None


@web.middleware
async def telegram_not_found(request: web.Request, handler: Any) -> web.StreamResponse:
    """Answer unknown paths outside the control API as Telegram does (JSON 404)."""
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as error:
        if error.status < 400 or request.path.startswith("/sandbox"):
            raise
        body = {"ok": False, "error_code": error.status, "description": error.reason}
        return web.json_response(body, status=error.status)
    return response


class BotApi:
    """aiohttp handlers for the Bot API and file downloads of one sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[web.RouteDef]:
        """The routes to add to the application."""
        return [
            web.route("*", "/bot{token}/{method}", self.handle),
            web.get("/file/bot{token}/{path:.+}", self.download),
        ]

    def _error(self, error: ApiError) -> web.Response:
        self.state.stats.errors_returned[str(error.error_code)] += 1
        return web.json_response(error.to_json(), status=error.error_code)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one Bot API call."""
        token = request.match_info["token"]
        if token != self.state.bot_token:
            return self._error(unauthorized() if _TOKEN_SHAPE.fullmatch(token) else not_found())
        name = canonical_method(request.match_info["method"])
        if name is None:
            return self._error(not_found())
        self.state.stats.calls[name] += 1
        try:
            result = await self._run(name, await read_params(request))
        except ApiError as error:
            return self._error(error)
        except web.HTTPRequestEntityTooLarge:
            return self._error(ApiError(413, "Request Entity Too Large"))
        except Exception:
            logger.exception("sandbox method %s failed", name)
            return self._error(internal_error())
        return web.json_response({"ok": True, "result": result})

    async def _run(self, name: str, params: Params) -> Any:
        fault = self.state.faults.take(name, _fault_chat(params))
        if fault is not None:
            raise fault
        return await METHODS[name](self.state, params)

    async def download(self, request: web.Request) -> web.Response:
        """Serve a file's bytes at the path getFile returned."""
        if request.match_info["token"] != self.state.bot_token:
            return self._error(unauthorized())
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        stored = self.state.files.get(file_id)
        if stored is None:
            return self._error(not_found())
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )
