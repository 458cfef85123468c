"""The client's side: joining with consent, their sessions' buttons, their settings, and
unblocking the bot."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.ext import ContextTypes

from bot.domain import callbacks
from bot.domain.callbacks import CLIENT_ACTIONS
from bot.domain.roles import Role
from bot.services.delivery import reachability
from bot.services.practice import client_settings, invites
from bot.services.sessions import changes, client_actions
from bot.telegram.menus import set_chat_menu
from handlers import fallbacks
from handlers.common import (
    acknowledge,
    answer,
    answer_call,
    command_args,
    locale_of,
    runtime,
    sender_id,
)


async def start_with_token(update: Update, context: ContextTypes.DEFAULT_TYPE, token: str) -> None:
    """``/start <token>`` (what tapping an invite link sends): the consent question."""
    rt = runtime(context)
    await answer(
        update,
        context,
        await invites.consent_request(rt.ctx, actor=sender_id(update), token=token),
    )


async def consent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Agree or No thanks under the consent message."""
    parsed = await fallbacks.read_press(update, context, callbacks.parse_consent)
    if parsed is None:
        return
    agreed, token = parsed
    await acknowledge(update)
    rt = runtime(context)
    outcome = await invites.answer_consent(
        rt.ctx,
        actor=sender_id(update),
        token=token,
        agreed=agreed,
        locale=locale_of(update),
    )
    await answer(update, context, outcome.answer)
    if outcome.joined is not None:
        await set_chat_menu(context.bot, sender_id(update), Role.CLIENT, outcome.joined.locale)


async def session_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on a session's button: the client's own actions or the practitioner's."""
    press = await fallbacks.read_press(update, context, callbacks.parse_session)
    if press is None:
        return
    rt = runtime(context)
    service = (
        client_actions.client_press
        if press.action in CLIENT_ACTIONS
        else changes.practitioner_press
    )
    await answer_call(update, context, service(rt.ctx, actor=sender_id(update), press=press))


async def next_session(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/next``: the client's next session."""
    rt = runtime(context)
    await answer_call(update, context, client_actions.next_session(rt.ctx, actor=sender_id(update)))


async def timezone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/timezone [zone or city]``: show or change the client's time zone."""
    rt, text = runtime(context), " ".join(command_args(context))
    if not text:
        call = client_settings.show_timezone(rt.ctx, actor=sender_id(update))
    else:
        call = client_settings.set_timezone(rt.ctx, actor=sender_id(update), text=text)
    await answer_call(update, context, call)


async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/pause``: no check-ins until ``/resume``."""
    rt = runtime(context)
    await answer_call(
        update,
        context,
        client_settings.set_paused(rt.ctx, actor=sender_id(update), paused=True),
    )


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/resume``: check-ins again."""
    rt = runtime(context)
    await answer_call(
        update,
        context,
        client_settings.set_paused(rt.ctx, actor=sender_id(update), paused=False),
    )


async def bot_membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Telegram says a user blocked or unblocked the bot; on unblocking, a client who had
    become unreachable is restored (``bot.services.delivery.reachability``)."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    if change.new_chat_member.status == ChatMember.MEMBER:
        rt = runtime(context)
        await reachability.unblocked(rt.ctx, actor=change.from_user.id)
