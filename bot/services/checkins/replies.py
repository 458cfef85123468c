"""The reply log: every answer a client gives, tapped or written, stored with its check-in,
time and triage result, and passed on through a flag when it is worrying.

A client's words at any time are logged against their latest check-in that was sent (or
against none), triaged in their language with the check-in's answers so far and their
earlier check-ins, and answered by level: ``none`` thanks them with a note on the healing
reactions they mention, ``concern`` says their practitioner will see it, ``urgent`` gives
crisis resources for their country at once and says their practitioner has been alerted
(the alert itself goes through ``flags.raise_flag`` in the same transaction).

An edited message is a new version of its reply (same Telegram message id, next
version); nothing is ever overwritten. A photo, voice note or sticker during a check-in
gets a kind request for words and an audit entry without its content. A client who has
stopped gets no check-in processing: nothing is stored, and words of crisis still get
the crisis resources. Client words never reach the logs or the audit log.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot import metrics
from bot.domain.actor import Actor
from bot.domain.models import (
    CheckIn,
    CheckInState,
    CheckInStep,
    Client,
    ClientStatus,
    Flag,
    OutboxState,
    Practitioner,
    Reply,
    TriageLevel,
)
from bot.domain.outgoing import OutgoingMessage, Text
from bot.domain.trend import latest_answers
from bot.domain.triage import TriageResult, level_rank, triage
from bot.ports import Clock, UnitOfWork
from bot.services.checkins import views
from bot.services.checkins.schedule import dedup_key
from bot.services.delivery import reachability
from bot.services.flags.lifecycle import raise_flag
from bot.services.policy import Policy, TriageData
from bot.services.sessions.views import practitioner_name

_log = logging.getLogger(__name__)

RECENT_CHECKINS = 20
"""Check-ins read (latest due first) to find the latest sent one."""
HISTORY_CHECKINS = 30
"""Earlier check-ins whose answers triage weighs (a rise in score, worse twice)."""
HISTORY_REPLIES = 300
"""Scored or compared replies read (newest first) for those check-ins."""

_SENT = frozenset({CheckInState.SENT, CheckInState.ANSWERED})
_ARRIVED = frozenset({OutboxState.SENT, OutboxState.UNCERTAIN})


@dataclass(frozen=True, slots=True)
class Writer:
    """A client who answers, their practitioner, and the check-in the answer belongs to."""

    client: Client
    practitioner: Practitioner
    checkin: CheckIn | None


@dataclass(frozen=True, slots=True)
class Logged:
    """A stored reply, its triage, the flag it raised (if a new one), and its check-in as
    updated (answered)."""

    reply: Reply
    result: TriageResult
    flag: Flag | None
    checkin: CheckIn | None
    score: int | None
    change: str | None


# --- finding the check-in -----------------------------------------------------------------------


async def latest_sent(uow: UnitOfWork, clock: Clock, client: Client) -> CheckIn | None:
    """The client's latest check-in whose question went out (or may have: ``uncertain``)."""
    now = clock.now()
    for checkin in await uow.checkins.for_client(client.id, limit=RECENT_CHECKINS):
        if checkin.due_at > now:
            continue
        if checkin.state in _SENT:
            return checkin
        if checkin.state is CheckInState.SCHEDULED:  # sent, and not yet followed up
            row = await uow.outbox.by_dedup_key(dedup_key(checkin))
            if row is not None and row.state in _ARRIVED:
                return checkin
    return None


async def _writer(uow: UnitOfWork, clock: Clock, active: Sequence[Client]) -> Writer | None:
    """Of the user's joined client records (one per practitioner), the one with the latest
    sent check-in, else the first; ``None`` if its practitioner is gone."""
    best: tuple[Client, CheckIn | None] = (active[0], None)
    for client in active:
        checkin = await latest_sent(uow, clock, client)
        if checkin is not None and (best[1] is None or checkin.due_at > best[1].due_at):
            best = (client, checkin)
    client, checkin = best
    practitioner = await uow.practitioners.get(client.practitioner_id)
    return None if practitioner is None else Writer(client, practitioner, checkin)


# --- logging one reply --------------------------------------------------------------------------


async def log_reply(
    uow: UnitOfWork, clock: Clock, policy: Policy, writer: Writer, reply: Reply
) -> Logged:
    """Triage ``reply``, store it, raise a flag if it is worrying, and mark its check-in
    answered (and the keep-or-stop question answered). The caller commits.

    Triage reads the reply's words with the check-in's answers so far (this one included)
    and the answers of the client's earlier sent check-ins, oldest first.
    """
    client, checkin = writer.client, writer.checkin
    by_checkin: dict[int | None, list[Reply]] = {}
    answers = await uow.replies.answers_for_client(client.id, limit=HISTORY_REPLIES)
    for earlier_reply in reversed(answers):
        by_checkin.setdefault(earlier_reply.checkin_id, []).append(earlier_reply)
    earlier = [
        c
        for c in reversed(await uow.checkins.for_client(client.id, limit=HISTORY_CHECKINS))
        if c.state in _SENT and (checkin is None or (c.due_at, c.id) < (checkin.due_at, checkin.id))
    ]
    before = [latest_answers(by_checkin.get(c.id, [])) for c in earlier]
    previous_scores = [score for score, _ in before if score is not None]
    own = by_checkin.get(checkin.id, []) if checkin is not None else []
    score, change = latest_answers([*own, reply])
    result = triage(
        reply.text,
        score,
        previous_scores,
        policy.triage.lexicon(client.locale),
        change=change,
        previous_changes=[c for _, c in before],
        second_opinion=policy.triage.second_opinion(),
    )
    metrics.TRIAGE.labels(str(result.level)).inc()
    stored = await uow.replies.add(
        dataclasses.replace(reply, triage_level=result.level, triage_reasons=result.reasons)
    )
    flag = await raise_flag(
        uow,
        clock,
        policy,
        client=client,
        practitioner=writer.practitioner,
        reply=stored,
        score=score,
        previous_score=previous_scores[-1] if previous_scores else None,
        change=change,
    )
    now = clock.now()
    if checkin is not None and checkin.answered_at is None:
        checkin = await uow.checkins.update(
            dataclasses.replace(checkin, state=CheckInState.ANSWERED, answered_at=now)
        )
    if client.checkin_prompt_at is not None:  # answering is answering "keep them?" too
        await uow.clients.update(dataclasses.replace(client, checkin_prompt_at=None))
    _log.info(
        "reply %s logged: client=%s checkin=%s version=%s level=%s",
        stored.id,
        client.id,
        stored.checkin_id,
        stored.version,
        result.level,
    )
    return Logged(stored, result, flag, checkin, score, change)


def worst_level(replies: Sequence[Reply]) -> TriageLevel:
    """The most serious triage level among ``replies`` (``none`` if there are none)."""
    return max((r.triage_level for r in replies), key=level_rank, default=TriageLevel.NONE)


def reactions_in(replies: Sequence[Reply], locale: str, data: TriageData) -> list[str]:
    """The healing reactions the words among ``replies`` mention, in order."""
    lexicon = data.lexicon(locale)
    found: list[str] = []
    for reply in replies:
        if reply.text:
            found.extend(triage(reply.text, None, (), lexicon).reactions)
    return list(dict.fromkeys(found))


def closing(
    writer: Writer, replies: Sequence[Reply], policy: Policy, reactions: Sequence[str]
) -> OutgoingMessage:
    """What a finished check-in ends with, by the most serious of its replies."""
    match worst_level(replies):
        case TriageLevel.URGENT:
            return crisis_answer(writer, policy)
        case TriageLevel.CONCERN:
            return views.passed_on(practitioner_name(writer.practitioner))
        case _:
            return views.thanks(reactions)


def crisis_answer(writer: Writer, policy: Policy) -> OutgoingMessage:
    """Crisis resources for the client's country; their practitioner has been alerted."""
    line = policy.crisis.for_timezone(writer.client.timezone)
    return views.crisis(line, practitioner_name(writer.practitioner))


# --- words, edits and other messages ------------------------------------------------------------


async def record_text(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    actor: Actor,
    *,
    message_id: int,
    text: str,
    edited: bool = False,
) -> OutgoingMessage | None:
    """A client's words (``edited``: a new version of an earlier message): logged,
    triaged, answered.

    ``None`` when the sender is not a client (the caller answers as for anyone), and for an
    edit that changes nothing worth saying (its new version is logged all the same).
    """
    if not actor.clients:
        return None
    # A client who writes has unblocked the bot, if they had blocked it.
    clients = [await reachability.restore(uow, policy, c, clock.now()) for c in actor.clients]
    active = [c for c in clients if c.status is ClientStatus.ACTIVE]
    if not active:
        answer = await _stopped_words(
            uow, clock, policy, clients, text=text, message_id=message_id, edited=edited
        )
        await uow.commit()
        return answer
    if not text.strip():
        return None if edited else OutgoingMessage(Text("checkin.empty"))
    versions = await _versions(uow, active, message_id)
    writer = await _writer_of(uow, clock, active, versions)
    if writer is None:
        return None
    if versions and not edited:
        # The same message again (an update delivered twice, say after a crash): it is
        # logged already, but its answer may never have gone out, so it goes again.
        return _answer_again(writer, policy, versions[-1])
    logged = await log_reply(
        uow,
        clock,
        policy,
        writer,
        Reply(
            id=0,
            client_id=writer.client.id,
            received_at=clock.now(),
            checkin_id=writer.checkin.id if writer.checkin else None,
            text=text,
            telegram_message_id=message_id,
            version=max((v.version for v in versions), default=0) + 1,
        ),
    )
    if versions:
        answer = _edit_answer(writer, policy, logged, versions)
    else:
        answer = await _words_answer(uow, writer, policy, logged)
    await uow.commit()
    return answer


async def _versions(uow: UnitOfWork, active: Sequence[Client], message_id: int) -> list[Reply]:
    """The stored versions of one Telegram message, oldest first."""
    found = [
        reply for client in active for reply in await uow.replies.versions_of(client.id, message_id)
    ]
    return sorted(found, key=lambda r: r.version)


async def _writer_of(
    uow: UnitOfWork, clock: Clock, active: Sequence[Client], versions: Sequence[Reply]
) -> Writer | None:
    """The writer of new words (latest check-in), or of an edit (the original's check-in)."""
    if not versions:
        return await _writer(uow, clock, active)
    original = versions[0]
    client = next(c for c in active if c.id == original.client_id)
    practitioner = await uow.practitioners.get(client.practitioner_id)
    checkin = None if original.checkin_id is None else await uow.checkins.get(original.checkin_id)
    return None if practitioner is None else Writer(client, practitioner, checkin)


async def _words_answer(
    uow: UnitOfWork, writer: Writer, policy: Policy, logged: Logged
) -> OutgoingMessage:
    """The answer to new words; words that answer the last question end the check-in."""
    level, checkin = logged.result.level, logged.checkin
    if checkin is not None and checkin.step is CheckInStep.TEXT:
        await uow.checkins.update(dataclasses.replace(checkin, step=CheckInStep.DONE))
        replies = await uow.replies.for_checkin(checkin.id)
        return closing(writer, replies, policy, logged.result.reactions)
    if level is TriageLevel.URGENT:
        return crisis_answer(writer, policy)
    if level is TriageLevel.CONCERN:
        return views.passed_on(practitioner_name(writer.practitioner))
    if checkin is None:
        return OutgoingMessage(Text("input.free_text"))
    if checkin.step is CheckInStep.DONE:
        return views.noted(logged.result.reactions)
    return views.noted_during_question()


def _edit_answer(
    writer: Writer, policy: Policy, logged: Logged, versions: Sequence[Reply]
) -> OutgoingMessage | None:
    """An edit is answered only when it is more worrying than the version before."""
    level = logged.result.level
    if level_rank(level) <= level_rank(versions[-1].triage_level):
        return None
    if level is TriageLevel.URGENT:
        return crisis_answer(writer, policy)
    return views.passed_on(practitioner_name(writer.practitioner))


def _answer_again(writer: Writer, policy: Policy, reply: Reply) -> OutgoingMessage:
    """The answer to words already logged, by their stored triage level."""
    if reply.triage_level is TriageLevel.URGENT:
        return crisis_answer(writer, policy)
    if reply.triage_level is TriageLevel.CONCERN:
        return views.passed_on(practitioner_name(writer.practitioner))
    return views.noted(reactions_in([reply], writer.client.locale, policy.triage))


async def _stopped_words(
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy,
    clients: Sequence[Client],
    *,
    text: str,
    message_id: int,
    edited: bool,
) -> OutgoingMessage | None:
    """For a client who has stopped: nothing is kept, except words of crisis. Those are
    stored and alert their practitioner all the same (safety comes before the stop), and
    the client gets the crisis resources. The caller commits."""
    client = clients[0]
    lexicon = policy.triage.lexicon(client.locale)
    opinion = policy.triage.second_opinion()
    if triage(text, None, (), lexicon, second_opinion=opinion).level is not (TriageLevel.URGENT):
        return None if edited else OutgoingMessage(Text("checkin.client_stopped"))
    writer = None
    for stopped in clients:
        practitioner = await uow.practitioners.get(stopped.practitioner_id)
        if practitioner is None:
            continue
        writer = Writer(stopped, practitioner, None)
        versions = await uow.replies.versions_of(stopped.id, message_id)
        reply = Reply(
            id=0,
            client_id=stopped.id,
            received_at=clock.now(),
            checkin_id=None,
            text=text,
            telegram_message_id=message_id,
            version=max((v.version for v in versions), default=0) + 1,
        )
        await log_reply(uow, clock, policy, writer, reply)
    if writer is None:
        return views.crisis(policy.crisis.for_timezone(client.timezone), None)
    return crisis_answer(writer, policy)


def crisis_fallback(policy: Policy, text: str, language_code: str | None) -> OutgoingMessage | None:
    """Crisis resources for words of crisis when they could not be logged (the database
    failed): the operator's default zone stands for the country. ``None`` otherwise."""
    lexicon = policy.triage.lexicon(language_code)
    result = triage(text, None, (), lexicon, second_opinion=policy.triage.second_opinion())
    if result.level is not TriageLevel.URGENT:
        return None
    return views.crisis(policy.crisis.for_timezone(policy.default_timezone), None)


async def record_not_text(
    uow: UnitOfWork, clock: Clock, actor: Actor, *, message_id: int, kind: str
) -> OutgoingMessage | None:
    """A photo, voice note, sticker or file while a check-in waits for an answer: a kind
    request for words or a tap, and an audit entry without its content.

    ``None`` when no check-in of this client is waiting (the caller answers as for anyone).
    """
    active = actor.active_clients
    writer = await _writer(uow, clock, active) if active else None
    checkin = writer.checkin if writer else None
    if writer is None or checkin is None or checkin.step is CheckInStep.DONE:
        return None
    await uow.audit.record(
        clock.now(),
        "checkin.not_text",
        actor_telegram_id=actor.telegram_id,
        subject_type="checkin",
        subject_id=checkin.id,
        detail={"client_id": writer.client.id, "kind": kind, "message_id": message_id},
        client_id=writer.client.id,
    )
    await uow.commit()
    return OutgoingMessage(Text("checkin.not_text"))
