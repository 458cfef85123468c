"""/mydata, /stop and /erase: a client's control over messages and data."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

import messages
from bot.domain.outgoing import Button, OutgoingMessage, Text
from bot.domain.text_params import when
from bot.services.privacy import client_copy, rights
from handlers.common import (
    acknowledge,
    answer,
    is_quiet,
    locale_of,
    reply,
    runtime,
    send_file_in_chat,
)

COPY_FILE_NAME = "stillpoint-my-data.json"

ERASE_CONFIRM = "erase:yes"
ERASE_CANCEL = "erase:no"
ERASE_BUTTONS = (
    Button(Text("erase.confirm_button"), ERASE_CONFIRM),
    Button(Text("erase.cancel_button"), ERASE_CANCEL),
)


async def mydata(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the client a JSON file of everything kept about them."""
    user = update.effective_user
    if user is None or is_quiet(update, context):
        return  # a flooding sender gets nothing, so no copy is made (nor recorded as sent)
    rt = runtime(context)
    copy = await client_copy.client_copy(rt.ctx, user.id)
    if copy is None:
        await reply(update, context, "mydata.nothing")
        return
    document = copy.as_json().encode("utf-8")
    day = when(rt.clock.now(), copy.timezone, "date")
    caption = messages.render("mydata.caption", locale_of(update), day=day)
    send_file_in_chat(update, context, document, filename=COPY_FILE_NAME, caption_html=caption)


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop every message to this user and tell their practitioner."""
    user = update.effective_user
    if user is None:
        return
    rt = runtime(context)
    stopped = await rights.stop_messages(rt.ctx, user.id)
    await reply(update, context, "stop.done" if stopped else "stop.nothing")


async def erase(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask for confirmation before erasing everything kept about this user."""
    user = update.effective_user
    if user is None:
        return
    kept = await rights.has_data(runtime(context).uow, user.id)
    if not kept:
        await reply(update, context, "erase.nothing")
        return
    await reply(update, context, "erase.ask", buttons=[ERASE_BUTTONS])


async def erase_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Erase on Confirm, keep on Cancel; the question is replaced by the outcome."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await acknowledge(update)
    key = "erase.kept"
    if query.data == ERASE_CONFIRM:
        rt = runtime(context)
        erased = await rights.erase(rt.ctx, user.id)
        key = "erase.done" if erased else "erase.nothing"
    await answer(update, context, OutgoingMessage(Text(key)))
