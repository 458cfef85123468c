"""The check-in conversation: score → compared with before → body areas → words → thanks.

Each press answers in place (the handler edits the pressed message). Where the
conversation stands is ``CheckIn.step``; every step can be skipped, and "Remind me later"
asks again through the outbox (kind ``CHECKIN``, key ``checkin:{id}:snooze:{n}``) with the
question of the step it stands at.

A press is checked against the caller and the check-in as it stands now:

- another user's check-in (or none): refused and audited;
- a client who has stopped, a cancelled check-in, or one older than the client's latest
  sent check-in: a kind refusal;
- a second answer to a step already answered (two quick taps, or a tap on a message not
  yet redrawn) is logged as a new reply, never over the first, and the conversation goes
  on from where it stands;
- a press for a step that is no longer current (skipped or passed): a kind refusal.

The first real answer (a tap or words, not Skip or Later) marks the check-in answered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from bot.domain.aftercare import BODY_AREAS, CHANGES, STEP_ORDER, next_step, snooze_until
from bot.domain.callbacks import CheckInAction, CheckInPress
from bot.domain.models import (
    CheckInState,
    CheckInStep,
    ClientStatus,
    OutboxKind,
    Reply,
)
from bot.domain.outgoing import OutgoingMessage, Recipient, Text
from bot.ports import Clock, UnitOfWork
from bot.services.access import Refused, refuse
from bot.services.checkins import views
from bot.services.checkins.replies import (
    Logged,
    Writer,
    closing,
    latest_sent,
    log_reply,
    reactions_in,
)
from bot.services.context import UseCaseContext
from bot.services.delivery.outbox import outbox_row
from bot.services.policy import Policy
from bot.services.sessions.views import practitioner_name

_ANSWERS = {
    CheckInAction.SCORE: CheckInStep.SCORE,
    CheckInAction.CHANGE: CheckInStep.CHANGE,
    CheckInAction.AREAS_DONE: CheckInStep.AREAS,
}
STALE = Text("input.stale_button")


def snooze_key(checkin_id: int, snoozes: int) -> str:
    """The outbox key of a check-in's question asked again after its ``snoozes``-th snooze."""
    return f"checkin:{checkin_id}:snooze:{snoozes}"


async def press_checkin(
    ctx: UseCaseContext,
    *,
    actor: int,
    press: CheckInPress,
    ticked: Collection[int] = (),
) -> OutgoingMessage:
    """A press under a check-in: an answer, Skip, Later, a snooze choice or an area toggle.

    ``ticked`` are the body areas ticked on the pressed message (``views.ticked_areas``
    reads them from its buttons). Raises ``Refused`` as described in the module's notes.
    """
    async with ctx.uow() as uow:
        writer = await _pressed(uow, ctx.clock, actor, press)
        checkin = writer.checkin
        if checkin is None:  # pragma: no cover -- _pressed always finds one
            raise Refused(STALE)
        if checkin.step is CheckInStep.DONE and press.action in (
            CheckInAction.LATER,
            CheckInAction.SNOOZE,
            CheckInAction.SKIP,
            CheckInAction.AREA,
        ):
            raise Refused(Text("checkin.finished"))
        match press.action:
            case CheckInAction.LATER:
                return views.later_question(checkin.id)
            case CheckInAction.SNOOZE:
                return await _snooze(uow, ctx.clock, ctx.policy, writer, press.argument)
            case CheckInAction.AREA:
                return _toggle(writer, press.argument, ticked)
            case CheckInAction.SKIP:
                return await _skip(uow, ctx.policy, writer, press.argument)
            case _:
                return await _answer(uow, ctx.clock, ctx.policy, writer, press=press, ticked=ticked)


async def _pressed(uow: UnitOfWork, clock: Clock, actor: int, press: CheckInPress) -> Writer:
    """The caller's own check-in, still open to answers, with its client and practitioner."""
    checkin = await uow.checkins.get(press.checkin_id)
    client = None if checkin is None else await uow.clients.get(checkin.client_id)
    if checkin is None or client is None or client.telegram_user_id != actor:
        raise await refuse(
            uow,
            clock,
            actor=actor,
            action=f"checkin.{press.action.name.lower()}",
            reason="not their check-in" if checkin else "no such check-in",
            answer=Text("access.not_found"),
            subject_type="checkin",
            subject_id=press.checkin_id,
        )
    if client.status is not ClientStatus.ACTIVE:
        raise Refused(Text("checkin.client_stopped"))
    if checkin.state is CheckInState.CANCELLED:
        raise Refused(Text("checkin.cancelled"))
    if checkin.due_at > clock.now():
        raise Refused(STALE)  # its question has not been sent: a made-up press
    latest = await latest_sent(uow, clock, client)
    if latest is not None and (latest.due_at, latest.id) > (checkin.due_at, checkin.id):
        raise Refused(Text("checkin.old"))
    practitioner = await uow.practitioners.get(client.practitioner_id)
    if practitioner is None:
        raise Refused(Text("access.not_found"))
    return Writer(client, practitioner, checkin)


def _toggle(writer: Writer, argument: int | None, ticked: Collection[int]) -> OutgoingMessage:
    """Tick or untick a body area; nothing is stored until Done."""
    checkin = writer.checkin
    toggle = views.area_toggle(argument)
    if checkin is None or toggle is None:
        raise Refused(STALE)
    if checkin.step is not CheckInStep.AREAS:
        raise Refused(Text("checkin.step_passed"))
    index, tick = toggle
    now_ticked = (set(ticked) | {index}) if tick else (set(ticked) - {index})
    return views.areas_question(checkin.id, now_ticked)


async def _skip(
    uow: UnitOfWork, policy: Policy, writer: Writer, argument: int | None
) -> OutgoingMessage:
    """Skip the step the button belongs to (the current one for a button without it)."""
    checkin = writer.checkin
    if checkin is None:  # pragma: no cover
        raise Refused(STALE)
    if argument is not None and not 0 <= argument < len(STEP_ORDER):
        raise Refused(STALE)
    step = checkin.step if argument is None else STEP_ORDER[argument]
    if step is not checkin.step:
        raise Refused(Text("checkin.step_passed"))
    moved = await uow.checkins.update(dataclasses.replace(checkin, step=next_step(step)))
    answer = await _next(uow, policy, dataclasses.replace(writer, checkin=moved))
    await uow.commit()
    return answer


async def _answer(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    writer: Writer,
    *,
    press: CheckInPress,
    ticked: Collection[int],
) -> OutgoingMessage:
    """A score, a change or the body areas: logged as a reply, triaged, and on to the next
    step (or, for a second answer to a step, on from where the conversation stands)."""
    checkin = writer.checkin
    if checkin is None:  # pragma: no cover
        raise Refused(STALE)
    step = _ANSWERS[press.action]
    reply = _tapped(writer, press, ticked, clock)
    if reply is None:  # no area ticked: Done is a skip
        return await _skip(uow, policy, writer, STEP_ORDER.index(step))
    if step is not checkin.step and not await _answered(uow, checkin.id, step):
        done = checkin.step is CheckInStep.DONE
        raise Refused(Text("checkin.finished" if done else "checkin.step_passed"))
    logged = await log_reply(uow, clock, policy, writer, reply)
    current = logged.checkin or checkin
    if step is current.step:
        current = await uow.checkins.update(dataclasses.replace(current, step=next_step(step)))
    answer = await _next(uow, policy, dataclasses.replace(writer, checkin=current), logged)
    await uow.commit()
    return answer


def _tapped(
    writer: Writer, press: CheckInPress, ticked: Collection[int], clock: Clock
) -> Reply | None:
    """The reply a tap makes (``None``: Done with nothing ticked); a refusal if malformed."""
    checkin = writer.checkin
    argument = press.argument
    reply = Reply(
        id=0,
        client_id=writer.client.id,
        received_at=clock.now(),
        checkin_id=checkin.id if checkin else None,
    )
    match press.action:
        case CheckInAction.SCORE if argument is not None and argument in views.SCORES:
            return dataclasses.replace(reply, score=argument)
        case CheckInAction.CHANGE if argument is not None and 0 <= argument < len(CHANGES):
            return dataclasses.replace(reply, comparison=CHANGES[argument])
        case CheckInAction.AREAS_DONE:
            areas = tuple(BODY_AREAS[i] for i in sorted(set(ticked)) if 0 <= i < len(BODY_AREAS))
            return dataclasses.replace(reply, body_areas=areas) if areas else None
    raise Refused(STALE)


async def _answered(uow: UnitOfWork, checkin_id: int, step: CheckInStep) -> bool:
    """Whether the check-in already has an answer to ``step``."""
    for reply in await uow.replies.for_checkin(checkin_id):
        if (
            (step is CheckInStep.SCORE and reply.score is not None)
            or (step is CheckInStep.CHANGE and reply.comparison is not None)
            or (step is CheckInStep.AREAS and reply.body_areas)
        ):
            return True
    return False


async def _next(
    uow: UnitOfWork, policy: Policy, writer: Writer, logged: Logged | None = None
) -> OutgoingMessage:
    """The question the conversation stands at, or its closing words when done. After a
    tap that raised a flag, a line above the question says it was passed on."""
    checkin = writer.checkin
    if checkin is None:  # pragma: no cover
        raise Refused(STALE)
    if checkin.step is CheckInStep.DONE:
        replies = await uow.replies.for_checkin(checkin.id)
        reactions = reactions_in(replies, writer.client.locale, policy.triage)
        return closing(writer, replies, policy, reactions)
    question = views.question(checkin.id, checkin.step)
    if logged is not None and logged.flag is not None:
        note = views.passed_on_note(practitioner_name(writer.practitioner))
        return views.with_note(note, question)
    return question


async def _snooze(
    uow: UnitOfWork, clock: Clock, policy: Policy, writer: Writer, argument: int | None
) -> OutgoingMessage:
    """Ask again later: the current step's question goes in the outbox for then."""
    checkin, client = writer.checkin, writer.client
    if checkin is None or argument is None or not 0 <= argument < len(views.SNOOZES):
        raise Refused(STALE)
    if client.telegram_user_id is None:  # pragma: no cover -- an active client has joined
        raise Refused(STALE)
    now = clock.now()
    at = snooze_until(
        views.SNOOZES[argument],
        now,
        client.timezone,
        policy.checkins_for(writer.practitioner).at,
    )
    snoozes = checkin.snoozes + 1
    await uow.outbox.cancel_pending(
        dedup_prefix=f"checkin:{checkin.id}:snooze:",
        kinds=(OutboxKind.CHECKIN,),
        reason="the client snoozed the check-in again",
    )
    row = await uow.outbox.add(
        outbox_row(
            views.question(checkin.id, checkin.step),
            Recipient.client(client),
            kind=OutboxKind.CHECKIN,
            dedup_key=snooze_key(checkin.id, snoozes),
            now=now,
            quiet=policy.quiet,
            due_at=at,
            expires_at=at + policy.checkin_max_age,
            appointment_id=checkin.appointment_id,
        )
    )
    await uow.checkins.update(dataclasses.replace(checkin, snoozes=snoozes))
    await uow.audit.record(
        now,
        "checkin.snoozed",
        actor_telegram_id=client.telegram_user_id,
        subject_type="checkin",
        subject_id=checkin.id,
        detail={"client_id": client.id, "snoozes": snoozes, "until": row.due_at.isoformat()},
        client_id=client.id,
    )
    await uow.commit()
    return views.snoozed(row.due_at, client.timezone)
