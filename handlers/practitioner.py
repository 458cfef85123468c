"""The practitioner's commands and buttons: invites, booking, and the session lists."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.domain import booking_input, callbacks
from bot.domain.booking_input import BookingInputError
from bot.domain.outgoing import OutgoingMessage, Text
from bot.services.practice import invites
from bot.services.sessions import booking, calendar, changes
from bot.services.sessions import lists as session_lists
from handlers import fallbacks
from handlers.common import answer, answer_call, command_args, runtime, sender_id


async def new_client(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/newclient <full name>``: an invite link to send the client."""
    rt = runtime(context)

    async def call() -> OutgoingMessage:
        name = " ".join(command_args(context))
        new = await invites.create(rt.ctx, actor=sender_id(update), full_name=name)
        return invites.invite_answer(new, context.bot.username)

    await answer_call(update, context, call())


async def open_invites(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/invites``: links not used yet, each with Revoke."""
    rt = runtime(context)
    await answer_call(update, context, invites.open_invites(rt.ctx, actor=sender_id(update)))


async def revoke_invite(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The Revoke button under an invite."""
    invite_id = await fallbacks.read_press(update, context, callbacks.parse_revoke_invite)
    if invite_id is None:
        return
    rt = runtime(context)
    await answer_call(
        update,
        context,
        invites.revoke(rt.ctx, actor=sender_id(update), invite_id=invite_id),
    )


async def book(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/book <client> <YYYY-MM-DD> <HH:MM> [minutes]``, or ``/book`` alone for the guided flow."""
    rt, args = runtime(context), command_args(context)
    if not args:
        await answer_call(update, context, booking.start_guided(rt.ctx, actor=sender_id(update)))
        return
    try:
        request = booking_input.parse_book_args(args)
    except BookingInputError as error:
        await answer(update, context, OutgoingMessage(calendar.input_problem(error).answer))
        return
    await answer_call(
        update,
        context,
        booking.book_by_name(rt.ctx, actor=sender_id(update), request=request),
    )


async def book_step(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press in the guided booking."""
    press = await fallbacks.read_press(update, context, callbacks.parse_book)
    if press is None:
        return
    rt = runtime(context)
    await answer_call(
        update,
        context,
        booking.guided_step(rt.ctx, actor=sender_id(update), press=press),
    )


async def reschedule(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/reschedule <client> <YYYY-MM-DD> <HH:MM>``: move the client's next session."""
    rt = runtime(context)
    try:
        query, day, at = booking_input.parse_move_args(command_args(context))
    except BookingInputError as error:
        await answer(update, context, OutgoingMessage(calendar.input_problem(error).answer))
        return
    await answer_call(
        update,
        context,
        changes.move_by_name(rt.ctx, actor=sender_id(update), query=query, day=day, at=at),
    )


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/cancel <client>``: cancel the client's next session, after a question."""
    rt, query = runtime(context), " ".join(command_args(context))
    if not query:
        await answer(update, context, OutgoingMessage(Text("booking.cancel_usage")))
        return
    await answer_call(
        update,
        context,
        changes.cancel_by_name(rt.ctx, actor=sender_id(update), query=query),
    )


async def today(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/today``: today's sessions."""
    rt = runtime(context)
    await answer_call(
        update, context, session_lists.sessions_today(rt.ctx, actor=sender_id(update))
    )


async def upcoming(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/upcoming``: the next two weeks."""
    rt = runtime(context)
    await answer_call(
        update, context, session_lists.sessions_upcoming(rt.ctx, actor=sender_id(update))
    )


async def clients(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/clients``: every client, their state and next session, a page at a time."""
    rt = runtime(context)
    await answer_call(update, context, session_lists.client_list(rt.ctx, actor=sender_id(update)))


async def list_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The Back or More button under a list: that page, in place of the one shown."""
    press = await fallbacks.read_press(update, context, callbacks.parse_list_page)
    if press is None:
        return
    name, page = press
    rt = runtime(context)
    await answer_call(
        update,
        context,
        session_lists.list_page(rt.ctx, actor=sender_id(update), name=name, page=page),
    )
