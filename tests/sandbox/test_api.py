"""The Bot API envelope: tokens, methods, request encodings, commands, callbacks, misc."""

from __future__ import annotations

import json

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
    MenuButtonDefault,
)
from telegram.error import BadRequest, EndPointNotFound, InvalidToken

from bot.sandbox import SandboxClient, SandboxServer


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "stillpoint_sandbox_bot"
    assert str(me.id) == bot.token.split(":")[0]
    assert me.can_join_groups is True


async def test_custom_bot_username() -> None:
    sandbox = SandboxServer(bot_username="other_sandbox_bot")
    async with sandbox, Bot(sandbox.bot_token, base_url=sandbox.base_url) as other:
        assert other.username == "other_sandbox_bot"


async def test_wrong_token_is_unauthorized(server: SandboxServer) -> None:
    wrong = server.bot_token.split(":")[0] + ":" + "A" * 35
    with pytest.raises(InvalidToken, match=r"^Unauthorized$"):
        await Bot(wrong, base_url=server.base_url).get_me()
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{server.base_url}{wrong}/getMe")
        malformed = await http.get(f"{server.base_url}not-a-token/getMe")
    assert answer.status_code == 401
    assert answer.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert malformed.status_code == 404


async def test_unknown_method_is_not_found(bot: Bot, server: SandboxServer) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{server.base_url}{server.bot_token}/sendTelepathy")
    assert answer.status_code == 404
    assert answer.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_error_bodies_have_telegrams_shape(server: SandboxServer) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{server.base_url}{server.bot_token}/sendMessage", data={"chat_id": 5, "text": "x"}
        )
    assert answer.status_code == 400
    assert answer.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: chat not found",
    }


async def test_json_body_query_string_and_case_insensitive_method_names(
    server: SandboxServer, client: SandboxClient, user: int
) -> None:
    base = f"{server.base_url}{server.bot_token}"
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    async with httpx.AsyncClient() as http:
        as_json = await http.post(
            f"{base}/sendMessage",
            json={"chat_id": user, "text": "true", "reply_markup": markup},
        )
        as_query = await http.get(
            f"{base}/SENDMESSAGE", params={"chat_id": str(user), "text": "123"}
        )
        as_form = await http.post(
            f"{base}/sendmessage",
            data={"chat_id": str(user), "text": "0", "reply_markup": json.dumps(markup)},
        )
        broken = await http.post(
            f"{base}/sendMessage",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
    assert as_json.json()["result"]["text"] == "true"
    assert as_json.json()["result"]["reply_markup"] == markup
    assert as_query.json()["result"]["text"] == "123"
    assert as_form.json()["result"]["reply_markup"] == markup
    assert broken.status_code == 400
    assert (await client.stats())["calls"]["sendMessage"] == 4


async def test_bad_reply_markup_json(server: SandboxServer, user: int) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{server.base_url}{server.bot_token}/sendMessage",
            data={"chat_id": user, "text": "x", "reply_markup": "{oops"},
        )
    assert answer.json()["description"] == (
        "Bad Request: can't parse reply keyboard markup JSON object"
    )


async def test_commands_per_scope_and_language(bot: Bot, client: SandboxClient, user: int) -> None:
    default = [BotCommand("start", "Begin"), BotCommand("help", "How this works")]
    private_de = [BotCommand("start", "Beginnen")]
    assert await bot.set_my_commands(default) is True
    assert await bot.set_my_commands(
        private_de, scope=BotCommandScopeAllPrivateChats(), language_code="de"
    )
    assert await bot.set_my_commands([BotCommand("today", "Sessions")], BotCommandScopeChat(user))
    assert await bot.get_my_commands() == tuple(default)
    assert await bot.get_my_commands(BotCommandScopeAllPrivateChats(), "de") == tuple(private_de)
    assert await bot.get_my_commands(BotCommandScopeAllPrivateChats()) == ()
    assert [c.command for c in await bot.get_my_commands(BotCommandScopeChat(user))] == ["today"]
    stored = await client.commands()
    assert {(s["scope"]["type"], s["language_code"]) for s in stored} == {
        ("default", ""),
        ("all_private_chats", "de"),
        ("chat", ""),
    }
    assert await bot.delete_my_commands() is True
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.set_my_commands(default, BotCommandScopeChat(12345))


@pytest.mark.parametrize(
    ("command", "description", "error"),
    [
        ("Start", "Begin", "^Bot_command_invalid$"),
        ("x" * 33, "Begin", "^Bot_command_invalid$"),
        ("with-dash", "Begin", "^Bot_command_invalid$"),
        ("", "Begin", "^Bot_command_invalid$"),
        ("start", "", "^Bot_command_description_invalid$"),
        ("start", "d" * 257, "^Bot_command_description_invalid$"),
    ],
)
async def test_command_validation(bot: Bot, command: str, description: str, error: str) -> None:
    with pytest.raises(BadRequest, match=error):
        await bot.set_my_commands([BotCommand(command, description)])


async def test_command_limits_accepted(bot: Bot) -> None:
    commands = [BotCommand(f"c{i}_" + "x" * 20, "d" * 256) for i in range(100)]
    assert await bot.set_my_commands(commands)
    assert len(await bot.get_my_commands()) == 100
    with pytest.raises(BadRequest):
        await bot.set_my_commands([*commands, BotCommand("one_more", "d")])


async def pressed(bot: Bot, client: SandboxClient, user: int) -> str:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
    sent = await bot.send_message(user, "Confirm?", reply_markup=markup)
    return await client.press(user, sent.message_id, "yes")


async def test_answer_callback_query(bot: Bot, client: SandboxClient, user: int) -> None:
    callback_id = await pressed(bot, client, user)
    updates = await bot.get_updates()
    query = updates[-1].callback_query
    assert query is not None
    assert (query.id, query.data, query.from_user.id) == (callback_id, "yes", user)
    assert query.message is not None
    assert query.message.message_id == 2
    assert query.chat_instance
    assert await query.answer("Noted", show_alert=True) is True
    answer = await client.callback_answer(callback_id)
    assert (answer["answered"], answer["text"], answer["show_alert"]) == (True, "Noted", True)


async def test_callback_answer_errors(
    bot: Bot, client: SandboxClient, user: int, server: SandboxServer
) -> None:
    callback_id = await pressed(bot, client, user)
    with pytest.raises(BadRequest, match=r"^Message_too_long$"):
        await bot.answer_callback_query(callback_id, "x" * 201)
    assert await bot.answer_callback_query(callback_id, "x" * 200)
    too_old = "^Query is too old and response timeout expired or query id is invalid$"
    with pytest.raises(BadRequest, match=too_old):
        await bot.answer_callback_query(callback_id)  # answered already
    with pytest.raises(BadRequest, match=too_old):
        await bot.answer_callback_query("12345")
    server.state.callback_timeout = 0.0
    late = await pressed(bot, client, user)
    with pytest.raises(BadRequest, match=too_old):
        await bot.answer_callback_query(late)


async def test_close_and_log_out(bot: Bot) -> None:
    assert await bot.close() is True
    assert await bot.log_out() is True


async def test_unknown_paths_answer_in_json(server: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        telegram_style = await http.get("/nothing/here")
        control = await http.get("/sandbox/nothing")
        wrong_verb = await http.put("/sandbox/clock", json={})
    assert telegram_style.status_code == 404
    assert telegram_style.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert (control.status_code, control.json()) == (404, {"error": "Not Found"})
    assert (wrong_verb.status_code, wrong_verb.json()) == (405, {"error": "Method Not Allowed"})


async def test_bot_profile(bot: Bot, user: int) -> None:
    assert (await bot.get_my_name()).name == "Stillpoint"
    assert await bot.set_my_name("Stillpoint Aftercare")
    assert await bot.set_my_description("Reminders and aftercare check-ins.")
    assert await bot.set_my_description("Erinnerungen.", language_code="de")
    assert await bot.set_my_short_description("Aftercare companion")
    assert (await bot.get_my_name()).name == "Stillpoint Aftercare"
    assert (await bot.get_my_description()).description == "Reminders and aftercare check-ins."
    assert (await bot.get_my_description("de")).description == "Erinnerungen."
    assert (await bot.get_my_description("fr")).description == "Reminders and aftercare check-ins."
    assert (await bot.get_my_short_description()).short_description == "Aftercare companion"
    with pytest.raises(BadRequest, match=r"^Short description is too long$"):
        await bot.set_my_short_description("x" * 121)
    assert await bot.set_chat_menu_button(user, MenuButtonCommands())
    assert isinstance(await bot.get_chat_menu_button(user), MenuButtonCommands)
    assert isinstance(await bot.get_chat_menu_button(), MenuButtonCommands)
    assert await bot.set_chat_menu_button(menu_button=MenuButtonDefault())
    assert isinstance(await bot.get_chat_menu_button(), MenuButtonDefault)


async def test_delete_messages(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = [await bot.send_message(user, str(n)) for n in range(3)]
    assert await bot.delete_messages(user, [sent[0].message_id, sent[2].message_id, 99])
    assert [m["text"] for m in await client.messages(user, after=1)] == ["1"]
    with pytest.raises(BadRequest):
        await bot.delete_messages(user, [])
