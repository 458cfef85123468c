"""getUpdates (offsets, long polling, Conflict, allowed_updates), webhooks, and a real
PTB Application long-polling the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.sandbox import SandboxClient, SandboxServer


async def test_offset_confirms_earlier_updates(bot: Bot, client: SandboxClient, user: int) -> None:
    await client.send(user, "one")
    await client.send(user, "two")
    first = await bot.get_updates()
    assert [u.message.text for u in first if u.message] == ["/start", "one", "two"]
    ids = [u.update_id for u in first]
    assert ids == list(range(ids[0], ids[0] + 3))
    assert [u.update_id for u in await bot.get_updates()] == ids  # nothing confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=ids[2])] == [ids[2]]
    assert await bot.get_updates(offset=ids[2] + 1) == ()
    await client.send(user, "three")
    again = await bot.get_updates()
    assert [u.message.text for u in again if u.message] == ["three"]
    assert again[0].update_id == ids[2] + 1


async def test_negative_offset_keeps_the_last_updates(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    for text in ("a", "b", "c", "d"):
        await client.send(user, text)
    last_two = await bot.get_updates(offset=-2)
    assert [u.message.text for u in last_two if u.message] == ["c", "d"]
    assert [u.message.text for u in await bot.get_updates() if u.message] == ["c", "d"]


async def test_limit(bot: Bot, client: SandboxClient, user: int, server: SandboxServer) -> None:
    for text in ("a", "b", "c"):
        await client.send(user, text)
    assert len(await bot.get_updates(limit=2)) == 2
    async with httpx.AsyncClient() as http:
        url = f"{server.base_url}{server.bot_token}/getUpdates"
        for limit, expected in ((0, 1), (1, 1), (1000, 4)):
            body = (await http.get(url, params={"limit": limit})).json()
            assert len(body["result"]) == expected, limit


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    (start,) = await bot.get_updates()
    poll = asyncio.create_task(bot.get_updates(offset=start.update_id + 1, timeout=30))
    await asyncio.sleep(0.05)
    assert not poll.done()
    await client.send(user, "hello")
    updates = await asyncio.wait_for(poll, 5)
    assert [u.message.text for u in updates if u.message] == ["hello"]


async def test_long_poll_ends_empty_after_its_timeout(server: SandboxServer) -> None:
    async with httpx.AsyncClient() as http:
        url = f"{server.base_url}{server.bot_token}/getUpdates"
        body = (await http.post(url, data={"timeout": "0.1"})).json()
    assert body == {"ok": True, "result": []}


async def test_a_second_poll_ends_the_first_with_conflict(bot: Bot, server: SandboxServer) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await wait_until(lambda: server.state.updates._poll is not None)
    async with Bot(server.bot_token, base_url=server.base_url) as second_bot:
        assert await second_bot.get_updates(timeout=0) == ()
    with pytest.raises(Conflict) as caught:
        await asyncio.wait_for(first, 5)
    assert caught.value.message == (
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running"
    )


async def test_allowed_updates(bot: Bot, client: SandboxClient, user: int) -> None:
    (start,) = await bot.get_updates(allowed_updates=["callback_query"])
    sent = await bot.send_message(
        user,
        "Pick",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]),
    )
    await client.send(user, "filtered out")
    await client.press(user, sent.message_id, "a")
    updates = await bot.get_updates(offset=start.update_id + 1, allowed_updates=[])
    assert [u.callback_query.data for u in updates if u.callback_query] == ["a"]
    assert all(u.message is None for u in updates)
    await client.send(user, "all types again")
    updates = await bot.get_updates(offset=updates[-1].update_id + 1)
    assert [u.message.text for u in updates if u.message] == ["all types again"]


async def test_webhook_blocks_get_updates(bot: Bot, server: SandboxServer, user: int) -> None:
    assert await bot.set_webhook("https://example.org/hook", allowed_updates=["message"]) is True
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.allowed_updates) == (
        "https://example.org/hook",
        1,
        ("message",),
    )
    with pytest.raises(Conflict) as caught:
        await bot.get_updates()
    assert caught.value.message == (
        "Conflict: can't use getUpdates method while webhook is active; "
        "use deleteWebhook to delete the webhook first"
    )
    await wait_until(lambda: server.state.webhook.last_error_message is not None)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1  # never posted off this machine
    assert info.last_error_message == (
        "The sandbox delivers webhook updates to loopback addresses only"
    )
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("", 0)
    assert await bot.get_updates() == ()


async def test_setting_a_webhook_ends_a_waiting_poll(bot: Bot, server: SandboxServer) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.05)
    async with Bot(server.bot_token, base_url=server.base_url) as other:
        await other.set_webhook("https://example.org/hook")
    with pytest.raises(Conflict, match=r"webhook is active"):
        await asyncio.wait_for(poll, 5)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.org/hook", "Bad webhook: an https url must be provided for webhook"),
        ("https://example.org:1234/hook", "Bad webhook: webhook can be set up only on ports 80"),
    ],
)
async def test_webhook_url_rules(bot: Bot, url: str, message: str) -> None:
    with pytest.raises(BadRequest, match=rf"^{message}"):
        await bot.set_webhook(url)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[Any], list[int]]]:
    """A local HTTP endpoint recording webhook posts; answers with the status in ``codes``."""
    received: list[Any] = []
    codes = [200]

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(status=codes[0])

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/hook", received, codes
    await runner.cleanup()


async def wait_until(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition did not become true within 5 s")


async def test_webhook_delivery(
    bot: Bot,
    client: SandboxClient,
    user: int,
    receiver: tuple[str, list[Any], list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.sandbox.webhook.RETRY_PAUSE_S", 0.02)
    url, received, codes = receiver
    await bot.set_webhook(url, secret_token="sandbox_secret-1")
    await wait_until(lambda: len(received) == 1)
    secret, update = received[0]
    assert secret == "sandbox_secret-1"
    first = Update.de_json(update, bot)
    assert first.message is not None
    assert first.message.text == "/start"

    codes[0] = 500
    await client.send(user, "are you there?")
    await wait_until(lambda: len(received) >= 3)  # refused, then retried
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert {r[1]["message"]["text"] for r in received[1:]} == {"are you there?"}

    codes[0] = 200
    for _ in range(500):
        if (await bot.get_webhook_info()).pending_update_count == 0:
            break
        await asyncio.sleep(0.01)
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_application_long_polling_end_to_end(
    server: SandboxServer, client: SandboxClient
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Confirm", callback_data="confirm")]])
        await update.effective_message.reply_html(
            f"Welcome, <b>{' '.join(context.args or [])}</b>", reply_markup=markup
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Confirmed")
        await query.edit_message_text(f"You chose {query.data}.")

    app = ApplicationBuilder().token(server.bot_token).base_url(server.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=5)
        user = await client.create_user("Client")
        await client.send(user, "/start invite-token")
        (welcome,) = await client.wait_for_messages(user, after=1)
        assert welcome["text"] == "Welcome, invite-token"
        assert welcome["entities"] == [{"type": "bold", "offset": 9, "length": 12}]
        callback_id = await client.press(user, welcome["message_id"], "confirm")
        for _ in range(500):
            listing = await client.messages(user, after=1)
            if listing[0]["edited"]:
                break
            await asyncio.sleep(0.01)
        assert listing[0]["text"] == "You chose confirm."
        assert listing[0]["buttons"] == []
        answer = await client.callback_answer(callback_id)
        assert (answer["answered"], answer["text"]) == (True, "Confirmed")
        await app.updater.stop()
        await app.stop()
