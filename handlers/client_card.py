"""The practitioner's client card: ``/client <name>`` and its buttons (Chart, History,
Export; Book goes to the guided booking)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from telegram import Update
from telegram.ext import ContextTypes

import messages
from bot.domain import callbacks
from bot.domain.callbacks import CardAction
from bot.domain.outgoing import OutgoingMessage, Text
from bot.services.access import Refused
from bot.services.practice import client_card, client_record
from bot.services.practice.client_record import ChartRequest, RecordExport
from bot.telegram.charts import draw
from handlers import fallbacks
from handlers.common import (
    acknowledge,
    answer_call,
    command_args,
    locale_of,
    runtime,
    send_file_in_chat,
    send_new,
    send_refusal,
    sender_id,
)

_log = logging.getLogger(__name__)

CHART_FILE_NAME = "trend.png"
_RECORD_TURNS_KEY = "client_record_turns"
T = TypeVar("T")


async def client(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/client <name>``: the client's card, or a list to pick from."""
    rt, query = runtime(context), " ".join(command_args(context))
    await answer_call(
        update, context, client_card.card_by_name(rt.ctx, actor=sender_id(update), query=query)
    )


async def card_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on a client's name (the card) or on the card's Chart, History or Export."""
    press = await fallbacks.read_press(update, context, callbacks.parse_card)
    if press is None:
        return
    client_id, action = press
    rt, actor = runtime(context), sender_id(update)
    match action:
        case CardAction.SHOW:  # a new message: the list or digest pressed stays as it is
            card = await _unless_refused(
                update, context, client_card.card(rt.ctx, actor=actor, client_id=client_id)
            )
            if card is not None:
                send_new(update, context, card)
        case CardAction.BACK:
            await answer_call(
                update, context, client_card.card(rt.ctx, actor=actor, client_id=client_id)
            )
        case CardAction.HISTORY:
            await answer_call(
                update, context, client_card.history(rt.ctx, actor=actor, client_id=client_id)
            )
        case CardAction.CHART:
            async with _record_turns(context):
                found = await _unless_refused(
                    update, context, client_record.chart(rt.ctx, actor=actor, client_id=client_id)
                )
                if found is not None:
                    await _send_chart_or_words(update, context, found)
        case CardAction.EXPORT:
            async with _record_turns(context):
                record = await _unless_refused(
                    update, context, client_record.export(rt.ctx, actor=actor, client_id=client_id)
                )
                if isinstance(record, RecordExport):
                    await _send_export(update, context, record)
                elif record is not None:
                    send_new(update, context, record)


async def _unless_refused(
    update: Update, context: ContextTypes.DEFAULT_TYPE, call: Awaitable[T]
) -> T | None:
    """Acknowledge the press, then the service's result; ``None`` once a refusal is sent."""
    await acknowledge(update)
    try:
        return await call
    except Refused as refusal:
        send_refusal(update, context, refusal)
        return None


def _record_turns(context: ContextTypes.DEFAULT_TYPE) -> asyncio.Semaphore:
    """Charts and exports read a client's whole record: one at a time, so that many asked
    for at once take turns with everyone else's replies instead of holding them up."""
    turns = context.bot_data.setdefault(_RECORD_TURNS_KEY, asyncio.Semaphore(1))
    if not isinstance(turns, asyncio.Semaphore):
        raise TypeError("bot_data holds no record turns")
    return turns


async def _send_export(
    update: Update, context: ContextTypes.DEFAULT_TYPE, record: RecordExport
) -> None:
    caption = record.caption
    send_file_in_chat(
        update,
        context,
        record.document,
        filename=record.file_name,
        caption_html=messages.render(caption.key, locale_of(update), **caption.params),
    )
    if record.chart is not None:
        await _send_chart_or_words(update, context, record.chart)


async def _send_chart_or_words(
    update: Update, context: ContextTypes.DEFAULT_TYPE, found: ChartRequest | OutgoingMessage
) -> None:
    if isinstance(found, OutgoingMessage):
        send_new(update, context, found)
        return
    locale = locale_of(update)
    try:
        picture = await draw(
            found.trend, client_name=found.client_name, timezone=found.timezone, locale=locale
        )
    except BrokenProcessPool:
        _log.warning("a chart could not be drawn: its drawing process stopped")
        send_new(update, context, OutgoingMessage(Text("chart.not_drawn")))
        return
    send_file_in_chat(
        update,
        context,
        picture,
        filename=CHART_FILE_NAME,
        caption_html=messages.render(found.caption.key, locale, **found.caption.params),
        photo=True,
    )
