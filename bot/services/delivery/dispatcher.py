"""Sending what is due: claim, send within Telegram's limits, record each outcome.

docs/architecture.md, decisions: a row is claimed (``sending``) in one commit, sent,
and its outcome recorded in a commit of its own. Rows left ``sending`` by a crash become
``uncertain`` at start-up and are never sent again blindly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from bot import metrics
from bot.domain.delivery import (
    MessageRejected,
    OutcomeUnknown,
    RateLimited,
    RecipientUnreachable,
    SendOutcome,
    TemporaryFailure,
)
from bot.domain.delivery_rules import RetryPolicy
from bot.domain.models import FollowUp, OutboxKind, OutboxMessage
from bot.domain.outgoing import OutgoingMessage, SentMessage, Text
from bot.domain.timing import QuietHours
from bot.ports import Clock, Notifier, UnitOfWork, UnitOfWorkFactory
from bot.services.delivery.follow_up import FollowUps
from bot.services.delivery.outbox import decode, notify_practitioner
from bot.services.delivery.pacing import SendBudget

_log = logging.getLogger(__name__)

T = TypeVar("T")

CRASH_REASON = "the bot stopped while sending; it may or may not have arrived"
STOP_REASON = "the bot was stopped while sending; it may or may not have arrived"
HEARTBEAT = timedelta(seconds=2)
"""How often a process sharing the database renews its heartbeat."""
SILENT_AFTER = timedelta(seconds=6)
"""A process whose heartbeat is older than this has died (or hangs): a peer removes it,
and what it had claimed becomes ``uncertain``, within a second or so (the next pass)."""
_CHAT_WAIT_S = 0.2
"""How soon to look again when all that is due waits for its chat's own limit."""
CLAIM_AHEAD = timedelta(milliseconds=250)
"""With a send budget, claim only what it lets out within this long: a crash can strand
(make ``uncertain``) only rows that were about to go anyway, never a queue of them."""
SENDS_AT_ONCE = 3
"""With a send budget, the most rows claimed and not yet recorded at any moment: what a
kill can leave ``uncertain``. A send and its record take a few tens of milliseconds, so
three at a time still keep up with Telegram's 30 messages a second."""


def _assume_alive(_pid: int) -> bool:
    return True


class Dispatcher:
    """Sends due outbox rows. One per process; safe to run in several processes on PostgreSQL."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        notifier: Notifier,
        clock: Clock,
        *,
        quiet: QuietHours,
        retry: RetryPolicy | None = None,
        batch_size: int = 28,
        store_patience: timedelta = timedelta(minutes=5),
        claim_lease: timedelta | None = None,
        budget: SendBudget | None = None,
        claim_ahead: timedelta = CLAIM_AHEAD,
        sends_at_once: int = SENDS_AT_ONCE,
        backup_chat_id: int | None = None,
        operator_chat_id: int | None = None,
    ) -> None:
        self._uow = uow
        self._notifier = notifier
        self._clock = clock
        self._quiet = quiet
        self._retry = retry or RetryPolicy()
        # Without a budget (tests, benchmarks) every claim takes ``batch_size`` rows; with
        # one, only what the budget lets out within ``claim_ahead``, and never more than
        # ``sends_at_once`` in flight.
        self._batch_size = batch_size
        self._sends_at_once = sends_at_once
        self._budget = budget
        self._claim_ahead = claim_ahead.total_seconds()
        self._store_patience = store_patience
        # What a failure leads to is done after it is stored, outside the send loop.
        self._follow_ups = FollowUps(
            uow, clock, quiet, backup_chat_id=backup_chat_id, operator_chat_id=operator_chat_id
        )
        self._follow_up_task: asyncio.Task[int] | None = None
        # Whether follow-ups may be waiting: at start (a crash may have left some), after
        # a failure was recorded, and always with a lease (a peer may have died).
        self._follow_ups_waiting = True
        self._claim_lease = claim_lease
        self.process_id: int | None = None
        """This process's record among those sharing the database (``join``)."""
        self._host, self._pid = "", 0
        self._alive: Callable[[int], bool] = _assume_alive
        self._lock = asyncio.Lock()
        self._sending_to: Counter[int] = Counter()  # chats with a send in flight here
        self._stopping = False
        self._beat = time.monotonic()
        self.outcomes: Counter[SendOutcome] = Counter()

    @property
    def clock(self) -> Clock:
        """The clock due times are compared with."""
        return self._clock

    def pace_with(self, budget: SendBudget | None) -> None:
        """Claim only as many rows as ``budget`` lets out promptly (``None``: batch_size)."""
        self._budget = budget

    def seconds_since_beat(self) -> float:
        """Seconds since a pass began or ended or a message was handled: the sign of a
        dispatcher at work (the tick starts a pass every second when none is under way)."""
        return time.monotonic() - self._beat

    def stop_claiming(self) -> None:
        """Claim nothing more: the bot is shutting down. Sends under way finish and are
        recorded; what is not claimed stays ``pending`` for the next start."""
        self._stopping = True

    @property
    def busy(self) -> bool:
        """Whether a pass is under way (it plans the next wake-up when it ends)."""
        return self._lock.locked()

    async def join(self, host: str, pid: int, alive: Callable[[int], bool]) -> None:
        """Sharing the database with other processes (PostgreSQL): record this one, whose
        claims are its own from now on, with a heartbeat (:meth:`beat`).

        A process recorded on this host whose process id is not ``alive``, or is this
        one's own (a restarted container), is the one this replaces: it is removed at
        once, and the next pass frees its claims, without waiting for its heartbeat."""
        if self._claim_lease is None:
            return
        async with self._uow() as uow:
            for process_id, other_pid in await uow.processes.on_host(host):
                if other_pid == pid or not alive(other_pid):
                    _log.info("process %s on this host is gone; its claims are freed", process_id)
                    await uow.processes.remove(process_id)
            self.process_id = await uow.processes.register(host, pid, self._clock.now())
            await uow.commit()
        self._host, self._pid, self._alive = host, pid, alive

    async def beat(self) -> None:
        """Renew this process's heartbeat (every :data:`HEARTBEAT`). A peer that took it
        for dead has made its claims ``uncertain``: it joins again, as a new process."""
        if self.process_id is None:
            return
        async with self._uow() as uow:
            alive = await uow.processes.beat(self.process_id, self._clock.now())
            await uow.commit()
        if not alive:
            _log.warning(
                "process %s was taken for dead (no heartbeat for %s s); joining again",
                self.process_id,
                SILENT_AFTER.total_seconds(),
            )
            await self.join(self._host, self._pid, self._alive)

    async def leave(self) -> list[OutboxMessage]:
        """At a clean stop, after the last pass: what this process still holds becomes
        ``uncertain`` at once (its practitioners told) and its record goes, so no peer
        waits for its heartbeat to stop."""
        if self.process_id is None:
            return []
        process_id, self.process_id = self.process_id, None
        async with self._uow() as uow:
            held = await uow.outbox.recover_in_flight(STOP_REASON, claimed_by=process_id)
            await self._tell_uncertain(uow, held)
            await uow.processes.remove(process_id)
            await uow.commit()
        for row in held:
            self._log_outcome(SendOutcome.UNCERTAIN, row, STOP_REASON)
        return held

    async def recover(self) -> list[OutboxMessage]:
        """Turn rows a crash left in ``sending`` into ``uncertain``; tell their practitioners.

        Without ``claim_lease`` this process is the only sender (SQLite's instance lock
        guarantees it), so every ``sending`` row is stranded. Otherwise other processes
        may be sending right now: a process silent for :data:`SILENT_AFTER` is removed and
        the rows it claimed are stranded (and claims that name no process, once older
        than the lease), every pass looking again.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            if self._claim_lease is None:
                stranded = await uow.outbox.recover_in_flight(CRASH_REASON)
            else:
                # Never itself: a sandbox clock moved on makes its own heartbeat look old.
                silent = await uow.processes.remove_silent(now - SILENT_AFTER, keep=self.process_id)
                for process_id in silent:
                    _log.warning("process %s stopped beating; its claims are freed", process_id)
                stranded = await uow.outbox.recover_abandoned(
                    CRASH_REASON, unowned_before=now - self._claim_lease
                )
            await self._tell_uncertain(uow, stranded)
            await uow.commit()
        for row in stranded:
            self._log_outcome(SendOutcome.UNCERTAIN, row, CRASH_REASON)
        return stranded

    async def _tell_uncertain(self, uow: UnitOfWork, rows: Sequence[OutboxMessage]) -> None:
        by_practitioner = Counter(r.practitioner_id for r in rows if r.practitioner_id)
        for practitioner_id, count in by_practitioner.items():
            await notify_practitioner(
                uow,
                practitioner_id,
                Text("delivery.uncertain_notice", {"count": count}),
                dedup_key=f"uncertain:{practitioner_id}:{min(r.id for r in rows)}",
                now=self._clock.now(),
                quiet=self._quiet,
                about_client_id=None,
            )

    async def next_attempt_at(self) -> datetime | None:
        """When the earliest pending row may be tried."""
        async with self._uow() as uow:
            return await uow.outbox.next_attempt_at()

    async def dispatch_due(self) -> int:
        """Send everything due now; returns how many rows were handled.

        With a send budget (the bot's pacing), sends run side by side and more rows are
        claimed as earlier ones finish, so a message waiting for its own chat's limit (a
        second alert to one practitioner within a second) never holds up other chats.
        Without one (tests, benchmarks), batch after batch. Then what failed sends lead to
        (``FollowUps``), and what that schedules goes in the same pass.
        """
        async with self._lock:
            self._beat = time.monotonic()
            if self._claim_lease is not None:
                await self.recover()  # a peer that died leaves claims behind
            handled = 0
            while True:
                if self._budget is None:
                    handled += await self._dispatch_batches()
                else:
                    handled += await self._dispatch_paced()
                if not await self._follow_up_now() or self._stopping:
                    self._beat = time.monotonic()
                    return handled

    def _follow_up_soon(self) -> None:
        """Start the follow-ups beside the send loop, so a failed alert's backup is not
        held up by a queue of routine messages."""
        self._follow_ups_waiting = True
        if self._follow_up_task is None or self._follow_up_task.done():
            self._follow_up_task = asyncio.create_task(self._follow_ups.run())

    async def _follow_up_now(self) -> int:
        """Wait for the follow-ups under way, then do any left (a crash's, a peer's).

        Looks in the table only when some may be waiting, so a pass with nothing to
        follow up costs no unit of work (on SQLite every unit of work takes a turn)."""
        done = 0
        if self._follow_up_task is not None:
            task, self._follow_up_task = self._follow_up_task, None
            done += await task
        if self._follow_ups_waiting or self._claim_lease is not None:
            self._follow_ups_waiting = False
            followed = await self._follow_ups.run()
            # A full batch may leave more behind.
            self._follow_ups_waiting = followed >= self._follow_ups.batch
            done += followed
        return done

    async def _dispatch_batches(self) -> int:
        handled = 0
        while not self._stopping and (batch := await self._claim(self._batch_size)):
            await asyncio.gather(*(self._deliver(row) for row in batch))
            handled += len(batch)
        return handled

    async def _dispatch_paced(self) -> int:
        handled = 0
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping:
                batch = await self._claim(self._sends_at_once - len(in_flight))
                for row in batch:
                    task = asyncio.create_task(self._deliver(row))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                handled += len(batch)
                if not in_flight:
                    if not await self._due_now():
                        return handled
                    # Due rows whose chats must wait for their own limit: soon.
                    await asyncio.sleep(_CHAT_WAIT_S)
                    continue
                # Claim again once a send has been recorded (the pacer has then seen it).
                await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            return handled
        finally:
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    async def _due_now(self) -> bool:
        next_at = await self.next_attempt_at()
        return next_at is not None and next_at <= self._clock.now()

    async def _claim(self, most: int) -> list[OutboxMessage]:
        """Skip what expired, then claim up to ``most`` due rows in one commit.

        A claimed row is ``sending`` until its outcome is stored, and a crash makes it
        ``uncertain``: with a budget, claim no more than can leave now, not a queue, and
        one row per chat that may receive it now (its most urgent), so one chat's backlog
        waits its turn in the table while other chats' messages go.
        """
        budget = self._budget
        limit = most if budget is None else await budget.admit(most, within=self._claim_ahead)
        async with self._uow() as uow:
            now = self._clock.now()
            for row in await uow.outbox.skip_expired(now):
                self._log_outcome(SendOutcome.SKIPPED_STALE, row, "expired before it could be sent")
            if budget is None:
                batch = await uow.outbox.claim_due(now, limit, claimed_by=self.process_id)
            else:
                batch = await uow.outbox.claim_each_chat(
                    now,
                    limit,
                    ready=budget.ready,
                    busy_chats=set(self._sending_to),
                    claimed_by=self.process_id,
                )
            await uow.commit()
        return batch

    async def _deliver(self, row: OutboxMessage) -> None:
        self._sending_to[row.chat_id] += 1
        try:
            await self._deliver_row(row)
            if row.forget_after_send:  # rare: an erasure notice, a morning list
                await self._uow.purge_freed()
        finally:
            self._sending_to[row.chat_id] -= 1
            if not self._sending_to[row.chat_id]:
                del self._sending_to[row.chat_id]

    async def _deliver_row(self, row: OutboxMessage) -> None:
        try:
            message, locale = decode(row)
            sent = await self._sent(row.chat_id, message, locale)
        except RateLimited as error:
            asked = timedelta(seconds=error.retry_after)
            await self._record(
                row, SendOutcome.RETRY, str(error), retry_at=self._clock.now() + asked
            )
        except RecipientUnreachable as error:
            # Blocked or never started: a client's messages stop and their practitioner
            # hears; an alert goes on to the backup contact (``FollowUps``).
            await self._record(row, SendOutcome.FAILED, str(error), follow_up=FollowUp.UNREACHABLE)
        except MessageRejected as error:
            await self._record(row, SendOutcome.FAILED, str(error))
        except TemporaryFailure as error:
            wait = self._retry.wait_after(row.attempts)
            if wait is None:
                await self._record(
                    row, SendOutcome.FAILED, f"gave up after {row.attempts} tries: {error}"
                )
            else:
                await self._record(
                    row, SendOutcome.RETRY, str(error), retry_at=self._clock.now() + wait
                )
        except OutcomeUnknown as error:
            await self._record(row, SendOutcome.UNCERTAIN, str(error))
        except Exception as error:  # a row that cannot even be read must not stop the rest
            _log.exception("delivery of message %s failed unexpectedly", row.id)
            await self._record(row, SendOutcome.FAILED, f"unexpected error: {type(error).__name__}")
        else:
            now = self._clock.now()
            lateness = max(0, int((now - row.due_at).total_seconds() * 1000))

            async def sent_now(uow: UnitOfWork) -> bool:
                return await uow.outbox.mark_sent(
                    row.id, sent_at=now, telegram_message_id=sent.message_id, lateness_ms=lateness
                )

            changed = await self._store(row, sent_now)
            outcome = SendOutcome.SENT if changed else SendOutcome.SENT_UNRECORDED
            metrics.LATENESS.observe(lateness / 1000)
            self._log_outcome(outcome, row, f"{lateness} ms late")

    async def _sent(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
        """The notifier's send, its failures counted by class."""
        try:
            return await self._notifier.send(chat_id, message, locale)
        except Exception as error:
            metrics.count_telegram_error(error)
            raise

    async def _record(
        self,
        row: OutboxMessage,
        outcome: SendOutcome,
        reason: str,
        *,
        retry_at: datetime | None = None,
        follow_up: FollowUp | None = None,
    ) -> None:
        """Store one outcome in a commit of its own, with what a failure still leads to
        (an alert that failed for good: its backup)."""
        if (
            outcome is SendOutcome.FAILED
            and follow_up is None
            and row.kind is OutboxKind.FLAG_ALERT
        ):
            follow_up = FollowUp.UNDELIVERED

        async def write(uow: UnitOfWork) -> bool:
            match outcome:
                case SendOutcome.RETRY if retry_at is not None:
                    return await uow.outbox.retry_later(
                        row.id, next_attempt_at=retry_at, reason=reason
                    )
                case SendOutcome.FAILED:
                    return await uow.outbox.mark_failed(row.id, reason, follow_up=follow_up)
                case SendOutcome.UNCERTAIN:
                    return await uow.outbox.mark_uncertain(row.id, reason)
            raise ValueError(f"no such outcome: {outcome}")

        stored = await self._store(row, write)
        self._log_outcome(outcome, row, reason)
        if stored and follow_up is not None:
            self._follow_up_soon()

    async def _store(
        self, row: OutboxMessage, write: Callable[[UnitOfWork], Awaitable[T]]
    ) -> T | None:
        """Commit an outcome, retrying while the database is away: what happened to a message
        must not be forgotten. Gives up after ``store_patience``; the row then stays
        ``sending`` and becomes ``uncertain`` at the next start."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._store_patience.total_seconds()
        wait = 0.2
        while True:
            try:
                async with self._uow() as uow:
                    result = await write(uow)
                    await uow.commit()
                    return result
            except Exception as error:
                if loop.time() >= give_up_at:
                    _log.error(
                        "could not record what happened to message %s (%s); it becomes "
                        "uncertain at the next start",
                        row.id,
                        type(error).__name__,
                    )
                    return None
                _log.warning(
                    "could not record what happened to message %s (%s: %s); retrying in %.1f s",
                    row.id,
                    type(error).__name__,
                    error,
                    wait,
                )
                await asyncio.sleep(wait)
                wait = min(wait * 2, 5.0)

    def _log_outcome(self, outcome: SendOutcome, row: OutboxMessage, detail: str) -> None:
        self.outcomes[outcome] += 1
        self._beat = time.monotonic()
        metrics.SENDS.labels(str(outcome)).inc()
        _log.info(
            "delivery outcome=%s message=%s kind=%s chat=%s attempts=%s: %s",
            outcome,
            row.id,
            row.kind,
            row.chat_id,
            row.attempts,
            detail,
        )
