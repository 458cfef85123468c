"""Replies leave the handler at once and go out in order per chat, urgent ones first."""

from __future__ import annotations

import asyncio
import logging

import pytest
from telegram.error import BadRequest, Forbidden

from bot.telegram.chat_lanes import ChatLanes


async def test_replies_go_out_in_order_per_chat_and_urgent_ones_first() -> None:
    lanes = ChatLanes()
    sent: list[str] = []
    gate = asyncio.Event()

    def sender(label: str, wait: bool = False):  # type: ignore[no-untyped-def]
        async def send() -> None:
            if wait:
                await gate.wait()
            sent.append(label)

        return send

    lanes.submit(1, sender("a1", wait=True))
    await asyncio.sleep(0)  # a1 is on its way
    lanes.submit(1, sender("a2"))
    lanes.submit(1, sender("a3"))
    lanes.submit(1, sender("crisis", wait=False), urgent=True)
    lanes.submit(2, sender("b1"))
    await asyncio.sleep(0.01)
    assert sent == ["b1"]  # chat 2 is not held up by chat 1's slow first reply
    assert lanes.busy_chats == 1
    gate.set()
    await lanes.wait_sent()
    assert sent == ["b1", "a1", "crisis", "a2", "a3"]
    assert lanes.busy_chats == 0


async def test_a_failed_reply_is_logged_and_the_next_one_still_goes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    lanes = ChatLanes()
    sent: list[str] = []

    async def blocked() -> None:
        raise Forbidden("Forbidden: bot was blocked by the user")

    async def bad() -> None:
        raise BadRequest("Bad Request: message is too long")

    async def fine() -> None:
        sent.append("fine")

    for send in (blocked, bad, fine):
        lanes.submit(5, send)
    await lanes.wait_sent()
    assert sent == ["fine"]
    assert "chat 5 has blocked the bot" in caplog.text
    assert "Message is too long" in caplog.text
    assert "Traceback" not in caplog.text
