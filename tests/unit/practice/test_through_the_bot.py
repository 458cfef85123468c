"""The client card through the real application (offline Bot API, fake database): the
command, a chart sent as a photo, and presses that are forged or malformed."""

from __future__ import annotations

from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta

import pytest

import messages
from bot.domain import callbacks
from bot.domain.callbacks import CardAction
from bot.sandbox.media import image_size
from handlers import client_card as client_card_handlers
from tests.integration.support import Bot
from tests.unit.flags.support import NOW, OTHER_PRACTITIONER, PRACTITIONER, Practice, audit
from tests.unit.practice.support import answered_checkin


async def test_the_card_and_its_chart_through_the_bot(practice: Practice, bot: Bot) -> None:
    await answered_checkin(practice, NOW + timedelta(days=2), score=3, day=3)
    [card] = await bot.send(PRACTITIONER, "/client Sample")
    assert card.startswith("🗂 <b>Sample &lt;i&gt;Client&lt;/i&gt;</b>")

    before = len(bot.request.calls)
    assert await bot.press(PRACTITIONER, callbacks.card(practice.client.id, CardAction.CHART)) == []
    [photo] = [c for c in bot.request.calls[before:] if c.method == "sendPhoto"]
    assert photo.params["caption"].startswith("Discomfort 7 → 3 over 2 check-ins since")
    [png] = photo.files.values()
    assert image_size(png) == (1200, 800)


async def test_a_forged_or_malformed_press_is_refused_and_recorded(
    practice: Practice, bot: Bot
) -> None:
    for action in CardAction:
        [refusal] = await bot.press(OTHER_PRACTITIONER, callbacks.card(practice.client.id, action))
        assert refusal.startswith("I can't find that.")
    refused = [e for e in audit(practice) if e.action == "access.refused"]
    assert len(refused) == len(CardAction)
    before = len(bot.request.calls)
    assert await bot.press(PRACTITIONER, "cl:1:zz") == []
    [answered] = [c for c in bot.request.calls[before:] if c.method == "answerCallbackQuery"]
    assert answered.params["text"] == messages.render_plain("input.stale_button")


async def test_a_chart_whose_drawing_process_died_gets_a_kind_word(
    practice: Practice, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> bytes:
        raise BrokenProcessPool("a drawing process was killed")

    monkeypatch.setattr(client_card_handlers, "draw", broken)
    await answered_checkin(practice, NOW + timedelta(days=2), score=3, day=3)
    [said] = await bot.press(PRACTITIONER, callbacks.card(practice.client.id, CardAction.CHART))
    assert said == messages.render("chart.not_drawn")
