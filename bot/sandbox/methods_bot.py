"""Bot API methods about the bot itself, chats, callback queries, commands and files."""

from __future__ import annotations

from typing import Any

from bot.sandbox.commands import normalize_language, normalize_scope, validate_commands
from bot.sandbox.errors import bad_request
from bot.sandbox.params import ApiMethod, Params
from bot.sandbox.state import SandboxState

MAX_CALLBACK_ANSWER = 200


async def get_me(state: SandboxState, params: Params) -> dict[str, Any]:
    """getMe."""
    return {
        **state.bot.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def get_chat(state: SandboxState, params: Params) -> dict[str, Any]:
    """getChat (a ChatFullInfo)."""
    return state.chat(params.chat_id()).full_info()


async def answer_callback_query(state: SandboxState, params: Params) -> bool:
    """answerCallbackQuery: once per query, within the answer window, text <= 200."""
    text = params.get_str("text") or ""
    if len(text) > MAX_CALLBACK_ANSWER:
        raise bad_request("MESSAGE_TOO_LONG")
    answer: dict[str, Any] = {"text": text, "show_alert": params.get_bool("show_alert")}
    if params.has("url"):
        answer["url"] = params.get_str("url")
    state.answer_callback(params.get_str("callback_query_id") or "", answer)
    return True


def _scope(state: SandboxState, params: Params) -> tuple[dict[str, Any], str]:
    scope = normalize_scope(
        params.get_json("scope", error="can't parse BotCommandScope JSON object")
    )
    if "chat_id" in scope:
        state.chat(scope["chat_id"])
    return scope, normalize_language(params.get_str("language_code"))


async def set_my_commands(state: SandboxState, params: Params) -> bool:
    """setMyCommands."""
    commands = validate_commands(
        params.get_json("commands", error="can't parse commands JSON object")
    )
    scope, language = _scope(state, params)
    state.commands.set(scope, language, commands)
    return True


async def get_my_commands(state: SandboxState, params: Params) -> list[dict[str, str]]:
    """getMyCommands: exactly what was stored for this scope and language."""
    scope, language = _scope(state, params)
    return state.commands.get(scope, language)


async def delete_my_commands(state: SandboxState, params: Params) -> bool:
    """deleteMyCommands."""
    scope, language = _scope(state, params)
    state.commands.delete(scope, language)
    return True


async def get_file(state: SandboxState, params: Params) -> dict[str, Any]:
    """getFile: the file_path is served under ``/file/bot<token>/``."""
    stored = state.files.get(params.get_str("file_id") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
        "file_path": f"{stored.kind}s/{stored.file_id}",
    }


async def close(state: SandboxState, params: Params) -> bool:
    """close: nothing to release in the emulator."""
    return True


async def log_out(state: SandboxState, params: Params) -> bool:
    """logOut: accepted; the emulator keeps serving the bot."""
    return True


METHODS: dict[str, ApiMethod] = {
    "getMe": get_me,
    "getChat": get_chat,
    "answerCallbackQuery": answer_callback_query,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "getFile": get_file,
    "close": close,
    "logOut": log_out,
}
