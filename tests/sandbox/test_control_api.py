"""The control API: people, media, edits, presses, blocking, groups, clock, stats, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    ChatMemberBanned,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from bot.clock import MovableClock
from bot.sandbox import SandboxClient, SandboxError, SandboxServer


async def raw(server: SandboxServer, method: str, path: str, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as http:
        return await http.request(method, path, **kw)


async def test_info_names_the_bot_and_the_practitioner(
    client: SandboxClient, server: SandboxServer
) -> None:
    info = await client.info()
    assert info["bot_username"] == "stillpoint_sandbox_bot"
    practitioner = server.state.users[info["practitioner_user_id"]]
    assert (practitioner.first_name, practitioner.language_code) == ("Practitioner", "en")
    assert datetime.fromisoformat(info["now"]).tzinfo is not None


async def test_users_get_increasing_ids(client: SandboxClient) -> None:
    first = await client.create_user("Client", last_name="One", username="client_one")
    second = await client.create_user("Client", language_code="de")
    assert second > first
    listed = {u["id"]: u for u in await client.users()}
    assert listed[first]["username"] == "client_one"
    assert listed[second]["language_code"] == "de"


@pytest.mark.parametrize(
    "body",
    [{}, {"first_name": ""}, {"first_name": 5}, {"first_name": "A", "username": "a b"}],
)
async def test_create_user_validation(server: SandboxServer, body: dict[str, Any]) -> None:
    answer = await raw(server, "POST", "/sandbox/users", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]


async def test_non_json_body_is_refused(server: SandboxServer) -> None:
    answer = await raw(server, "POST", "/sandbox/users", content=b"first_name=A")
    assert (answer.status_code, answer.json()) == (400, {"error": "the body must be a JSON object"})


async def test_send_starts_the_chat_and_delivers_a_command(bot: Bot, client: SandboxClient) -> None:
    user = await client.create_user("Client")
    assert await client.send(user, "/start tok_123") == 1
    (update,) = await bot.get_updates()
    assert update.message is not None
    assert update.message.text == "/start tok_123"
    assert update.message.entities[0].type == "bot_command"
    assert update.message.from_user is not None
    assert update.message.from_user.id == user == update.message.chat.id


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/sandbox/users/999/send", {"text": "hi"}, 404),
        ("/sandbox/users/abc/send", {"text": "hi"}, 404),
        ("/sandbox/users/{user}/send", {"text": ""}, 400),
        ("/sandbox/users/{user}/send", {"text": "x" * 4097}, 400),
        ("/sandbox/users/{user}/send", {"text": "a", "media": "photo"}, 400),
        ("/sandbox/users/{user}/send", {"media": "hologram"}, 400),
        ("/sandbox/users/{user}/send", {"media": "sticker", "caption": "no"}, 400),
        ("/sandbox/users/{user}/press", {"message_id": 1, "data": "x"}, 400),
        ("/sandbox/users/{user}/press", {"message_id": "1", "data": "x"}, 400),
        ("/sandbox/users/{user}/edit", {"message_id": 42, "text": "x"}, 400),
        ("/sandbox/users/{user}/block", {"blocked": "yes"}, 400),
        ("/sandbox/groups", {"title": ""}, 400),
        ("/sandbox/groups", {"title": "T", "user_id": 1}, 404),
        ("/sandbox/groups/-1/send", {"user_id": 1, "text": "x"}, 404),
        ("/sandbox/faults", {"method": "sendTelepathy", "error_code": 429}, 400),
        ("/sandbox/faults", {"method": "sendMessage", "error_code": 418}, 400),
        ("/sandbox/faults", {"method": "sendMessage", "error_code": 429, "times": 0}, 400),
        ("/sandbox/faults", {"method": "sendMessage", "error_code": 429, "retry_after": 0}, 400),
    ],
)
async def test_refused_control_requests(
    server: SandboxServer, user: int, path: str, body: dict[str, Any], status: int
) -> None:
    answer = await raw(server, "POST", path.format(user=user), json=body)
    assert answer.status_code == status
    assert isinstance(answer.json()["error"], str)


@pytest.mark.parametrize(
    "path",
    [
        "/sandbox/users/999/messages",
        "/sandbox/chats/5/messages",
        "/sandbox/callbacks/nope",
    ],
)
async def test_unknown_ids_are_not_found(server: SandboxServer, path: str) -> None:
    assert (await raw(server, "GET", path)).status_code == 404


async def test_messages_after_must_be_a_message_id(server: SandboxServer, user: int) -> None:
    for after in ("abc", "-1"):
        answer = await raw(server, "GET", f"/sandbox/users/{user}/messages?after={after}")
        assert answer.status_code == 400


@pytest.mark.parametrize("kind", ["photo", "sticker", "voice", "document"])
async def test_users_can_send_media(bot: Bot, client: SandboxClient, user: int, kind: str) -> None:
    caption = None if kind == "sticker" else "look"
    message_id = await client.send_media(user, kind, caption=caption)
    update = (await bot.get_updates())[-1]
    message = update.message
    assert message is not None
    assert message.message_id == message_id
    assert message.caption == caption
    if kind == "photo":
        assert message.photo[-1].width == 64
        data = await (await message.photo[-1].get_file()).download_as_bytearray()
        assert data.startswith(b"\x89PNG")
    else:
        media = getattr(message, kind)
        assert media is not None
        assert media.file_id
    listing = (await client.messages(user, after=1))[0]
    assert (listing["kind"], listing["text"]) == (kind, caption or "")


async def test_user_edit_delivers_edited_message(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    note = await client.send(user, "sore")
    await client.edit(user, note, "very sore")
    update = (await bot.get_updates())[-1]
    assert update.edited_message is not None
    assert update.edited_message.text == "very sore"
    assert update.edited_message.edit_date is not None
    listing = (await client.messages(user, after=1))[0]
    assert (listing["text"], listing["edited"]) == ("very sore", True)
    with pytest.raises(SandboxError) as caught:
        await client.edit(user, note, "very sore")
    assert caught.value.status == 400


async def test_press_needs_the_button(bot: Bot, client: SandboxClient, user: int) -> None:
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Site", url="https://example.org")],
         [InlineKeyboardButton("Yes", callback_data="yes")]]
    )  # fmt: skip
    sent = await bot.send_message(user, "Pick", reply_markup=markup)
    listing = (await client.messages(user, after=1))[0]
    assert listing["buttons"] == [
        [{"text": "Site", "url": "https://example.org"}],
        [{"text": "Yes", "data": "yes"}],
    ]
    for message_id, data in ((sent.message_id, "no"), (1, "yes"), (77, "yes")):
        with pytest.raises(SandboxError) as caught:
            await client.press(user, message_id, data)
        assert caught.value.status == 400
    first = await client.press(user, sent.message_id, "yes")
    second = await client.press(user, sent.message_id, "yes")
    assert first != second  # every press is a fresh callback query


async def test_blocking_sends_my_chat_member_updates(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    await client.block(user)
    await client.block(user)  # no change, no update
    await client.block(user, blocked=False)
    updates = await bot.get_updates()
    members = [u.my_chat_member for u in updates if u.my_chat_member]
    assert len(members) == 2
    assert isinstance(members[0].new_chat_member, ChatMemberBanned)
    assert members[0].new_chat_member.user.id == bot.id
    assert isinstance(members[1].new_chat_member, ChatMemberMember)
    assert members[0].chat.id == user


async def test_blocked_users_cannot_write_until_unblocked(client: SandboxClient, user: int) -> None:
    await client.block(user)
    with pytest.raises(SandboxError) as caught:
        await client.send(user, "hello?")
    assert caught.value.status == 409
    await client.block(user, blocked=False)
    assert await client.send(user, "hello") == 2


async def test_blocking_before_starting_sends_nothing(bot: Bot, client: SandboxClient) -> None:
    stranger = await client.create_user("Stranger")
    await client.block(stranger)
    assert await bot.get_updates() == ()


async def test_group_creation_tells_the_bot(bot: Bot, client: SandboxClient) -> None:
    group = await client.create_group("Practice team")
    await client.group_send(group, (await client.info())["practitioner_user_id"], "hello all")
    updates = await bot.get_updates()
    assert updates[0].my_chat_member is not None
    assert updates[0].my_chat_member.chat.id == group
    assert isinstance(updates[0].my_chat_member.new_chat_member, ChatMemberMember)
    assert updates[1].message is not None
    assert (updates[1].message.chat.type, updates[1].message.text) == ("group", "hello all")


async def test_clock_moves_forward_only() -> None:
    start = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
    sandbox = SandboxServer(clock=MovableClock(start, frozen=True))
    async with sandbox, SandboxClient(sandbox.url) as client:
        assert await client.clock() == start
        assert await client.advance(3600) == start + timedelta(hours=1)
        target = datetime(2030, 1, 8, 9, 30, tzinfo=UTC)
        assert await client.set_clock(target) == target
        assert sandbox.clock.now() == target
        with pytest.raises(SandboxError, match=r"only moves forward") as caught:
            await client.set_clock(start)
        assert caught.value.status == 400
        with pytest.raises(SandboxError, match=r"only moves forward"):
            await client.advance(-1)
        for body in ({}, {"advance": 1, "to": "2031-01-01T00:00:00+00:00"}, {"advance": "1"},
                     {"to": "2031-01-01T00:00:00"}, {"to": "next tuesday"}):  # fmt: skip
            answer = await raw(sandbox, "POST", "/sandbox/clock", json=body)
            assert answer.status_code == 400, body
        assert (await client.info())["now"] == target.isoformat()


async def test_clock_listeners_hear_moves(server: SandboxServer, client: SandboxClient) -> None:
    heard: list[datetime] = []
    server.clock.on_change(heard.append)
    moved = await client.advance(60)
    assert heard == [moved]


async def test_stats(bot: Bot, client: SandboxClient, user: int) -> None:
    await bot.send_message(user, "a")
    await bot.send_message(user, "b")
    with pytest.raises(Exception, match=r"Chat not found"):
        await bot.send_message(1, "c")
    stats = await client.stats()
    assert stats["calls"]["sendMessage"] == 3
    assert stats["calls"]["getMe"] == 1
    assert stats["delivered"] == 2
    assert stats["errors_returned"] == {"400": 1}
    await client.reset_stats()
    assert await client.stats() == {"calls": {}, "errors_returned": {}, "delivered": 0}


async def test_wait_for_messages(bot: Bot, client: SandboxClient, user: int) -> None:
    await bot.send_message(user, "first")
    assert [m["text"] for m in await client.wait_for_messages(user, after=1)] == ["first"]
    with pytest.raises(TimeoutError, match=r"2 new bot message\(s\) in chat .* 1 arrived"):
        await client.wait_for_messages(user, after=1, count=2, timeout=0.1)


async def test_client_accepts_the_bot_api_base_url(server: SandboxServer) -> None:
    async with SandboxClient(server.base_url) as client:
        assert (await client.info())["bot_username"] == "stillpoint_sandbox_bot"
