"""Injected faults and Telegram's flood control, seen through PTB's exceptions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.sandbox import SandboxClient, SandboxServer
from bot.sandbox.limits import FloodControl
from tests.sandbox.conftest import make_bot, retry_seconds


async def test_fault_fails_the_next_times_calls_then_stops(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    await client.fault("sendMessage", 429, retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(user, "reminder")
        assert retry_seconds(caught.value) == 7
    assert (await bot.send_message(user, "reminder")).text == "reminder"
    stats = await client.stats()
    assert stats["errors_returned"] == {"429": 2}
    assert stats["calls"]["sendMessage"] == 3
    assert stats["delivered"] == 1


async def test_fault_user_filter_matches_chat_id(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    other = await client.create_user("Other client")
    await client.send(other, "/start")
    await client.fault("sendMessage", 403, user_id=user)
    assert (await bot.send_message(other, "fine")).chat.id == other
    with pytest.raises(Forbidden, match=r"^Forbidden: bot was blocked by the user$"):
        await bot.send_message(user, "refused")
    assert (await bot.send_message(user, "fine again")).chat.id == user


async def test_fault_codes_map_to_ptb_exceptions(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    await client.fault("sendMessage", 500)
    with pytest.raises(NetworkError, match=r"^Internal Server Error$"):
        await bot.send_message(user, "x")
    await client.fault("sendMessage", 400)
    with pytest.raises(BadRequest, match=r"^Fault injected by the sandbox$"):
        await bot.send_message(user, "x")
    await client.fault("editMessageText", 400, description="Bad Request: message to edit not found")
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await bot.edit_message_text("x", chat_id=user, message_id=1)
    await client.fault("getMe", 429)
    with pytest.raises(RetryAfter) as caught:
        await bot.get_me()
    assert retry_seconds(caught.value) == 1
    assert (await client.stats())["errors_returned"] == {"500": 1, "400": 2, "429": 1}


async def test_faults_can_be_listed_and_cleared(client: SandboxClient) -> None:
    await client.fault("sendPhoto", 500, times=3)
    assert await client._call("GET", "/sandbox/faults") == {
        "faults": [
            {
                "method": "sendPhoto",
                "error_code": 500,
                "times": 3,
                "retry_after": None,
                "user_id": None,
                "description": None,
            }
        ]
    }
    await client.clear_faults()
    assert (await client._call("GET", "/sandbox/faults"))["faults"] == []


@pytest.fixture
async def limited(limited_server: SandboxServer) -> AsyncIterator[tuple[Bot, SandboxClient]]:
    async with make_bot(limited_server) as ptb_bot, SandboxClient(limited_server.url) as control:
        yield ptb_bot, control


async def started_users(client: SandboxClient, count: int) -> list[int]:
    users = [await client.create_user(f"Client {n}") for n in range(count)]
    for user_id in users:
        await client.send(user_id, "/start")
    return users


async def test_one_message_a_second_per_chat_after_a_short_burst(
    limited: tuple[Bot, SandboxClient], limited_server: SandboxServer
) -> None:
    bot, client = limited
    (user,) = await started_users(client, 1)
    # The buckets' time moves only when the test says so: request latency cannot refill them.
    now = [1000.0]
    limited_server.state.flood = FloodControl(monotonic=lambda: now[0])
    for n in range(3):
        await bot.send_message(user, f"burst {n}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(user, "one too many")
    assert retry_seconds(caught.value) == 1
    assert await bot.send_chat_action(user, "typing")  # not a counted method
    now[0] += 1.0
    assert (await bot.send_message(user, "after the pause")).text == "after the pause"
    stats = await client.stats()
    assert (stats["delivered"], stats["errors_returned"]) == (4, {"429": 1})


async def test_thirty_messages_a_second_overall(
    limited: tuple[Bot, SandboxClient], limited_server: SandboxServer
) -> None:
    bot, client = limited
    users = await started_users(client, 31)
    # Stop the buckets' time so that request latency cannot refill them.
    limited_server.state.flood = FloodControl(monotonic=lambda: 1000.0)
    results = await asyncio.gather(
        *(bot.send_message(u, "reminder") for u in users), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, RetryAfter)]
    assert len(refused) == 1
    assert retry_seconds(refused[0]) == 1
    assert sum(1 for r in results if not isinstance(r, Exception)) == 30


async def test_forward_and_copy_count_too(limited: tuple[Bot, SandboxClient]) -> None:
    bot, client = limited
    (user,) = await started_users(client, 1)
    await bot.send_message(user, "one")
    await bot.copy_message(user, from_chat_id=user, message_id=1)
    await bot.forward_message(user, from_chat_id=user, message_id=1)
    with pytest.raises(RetryAfter):
        await bot.copy_message(user, from_chat_id=user, message_id=1)


async def test_twenty_messages_a_minute_per_group(limited: tuple[Bot, SandboxClient]) -> None:
    bot, client = limited
    group = await client.create_group("Practice team")
    await asyncio.gather(*(bot.send_message(group, f"note {n}") for n in range(20)))
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(group, "one too many")
    assert 59 <= retry_seconds(caught.value) <= 60  # the minute of the first 20 must pass


async def test_with_limits_off_nothing_is_refused(bot: Bot, client: SandboxClient) -> None:
    users = await started_users(client, 40)
    await asyncio.gather(*(bot.send_message(u, "reminder") for u in users))
    await asyncio.gather(*(bot.send_message(users[0], f"n{n}") for n in range(20)))
    stats = await client.stats()
    assert (stats["delivered"], stats["errors_returned"]) == (60, {})
