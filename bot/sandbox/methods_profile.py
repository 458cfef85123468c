"""The bot's profile: name, descriptions and the chat menu button.

Bots commonly set these at start-up; the emulator stores them per language (and
the menu button per chat) and answers the getters with what was stored.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.commands import normalize_language
from bot.sandbox.errors import bad_request
from bot.sandbox.params import ApiMethod, Params
from bot.sandbox.state import SandboxState

_TEXTS = {"name": 64, "description": 512, "short_description": 120}
_MENU_TYPES = frozenset({"default", "commands", "web_app"})


def _setter(field: str) -> ApiMethod:
    async def set_text(state: SandboxState, params: Params) -> bool:
        value = params.get_str(field) or ""
        if len(value) > _TEXTS[field]:
            raise bad_request(f"{field.replace('_', ' ')} is too long")
        language = normalize_language(params.get_str("language_code"))
        state.profile[(field, language)] = value
        return True

    set_text.__doc__ = f"setMy{field.title().replace('_', '')}."
    return set_text


def _getter(field: str) -> ApiMethod:
    async def get_text(state: SandboxState, params: Params) -> dict[str, str]:
        language = normalize_language(params.get_str("language_code"))
        value = state.profile.get((field, language))
        if value is None:
            value = state.profile.get((field, ""), state.bot.first_name if field == "name" else "")
        return {field: value}

    get_text.__doc__ = f"getMy{field.title().replace('_', '')}."
    return get_text


async def set_chat_menu_button(state: SandboxState, params: Params) -> bool:
    """setChatMenuButton, for one chat or (without chat_id) the default."""
    button = params.get_json("menu_button", error="can't parse menu button JSON object")
    button = button if button is not None else {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in _MENU_TYPES:
        raise bad_request("can't parse menu button JSON object")
    chat_id = state.chat(params.chat_id()).id if params.has("chat_id") else None
    state.menu_buttons[chat_id] = button
    return True


async def get_chat_menu_button(state: SandboxState, params: Params) -> dict[str, Any]:
    """getChatMenuButton: the chat's button, else the default one."""
    chat_id = state.chat(params.chat_id()).id if params.has("chat_id") else None
    fallback = state.menu_buttons.get(None, {"type": "commands"})
    return state.menu_buttons.get(chat_id, fallback)


METHODS: dict[str, ApiMethod] = {
    "setMyName": _setter("name"),
    "getMyName": _getter("name"),
    "setMyDescription": _setter("description"),
    "getMyDescription": _getter("description"),
    "setMyShortDescription": _setter("short_description"),
    "getMyShortDescription": _getter("short_description"),
    "setChatMenuButton": set_chat_menu_button,
    "getChatMenuButton": get_chat_menu_button,
}
