"""What a failed send still leads to, done in a pass of its own once the failure is stored.

The dispatcher only records outcomes; a failure that has consequences is stored with
``follow_up`` set (``FollowUp``), and this pass draws them, each row in a unit of work
of its own:

- a chat that cannot be reached (blocked, never started) and belongs to a client: what
  else is pending for that chat is cancelled, the client becomes unreachable (they come
  back when they write again, ``bot.services.delivery.reachability``) and their
  practitioner is told once;
- an alert about an open flag that cannot reach its practitioner, whether the chat is
  unreachable or the send failed for good: the backup contact and the operator hear at
  once (``bot.services.flags.escalation``). Nothing pending for a practitioner is
  cancelled: an alert is never given up because one send failed.

The mark is cleared in the same commit as the work, so after a crash the next pass does
it, and two processes never do one row's work twice.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.models import Client, ClientStatus, FollowUp, OutboxMessage
from bot.domain.outgoing import Text
from bot.domain.timing import QuietHours
from bot.ports import Clock, UnitOfWork, UnitOfWorkFactory
from bot.services.delivery.outbox import notify_practitioner
from bot.services.flags.escalation import alert_undelivered

_log = logging.getLogger(__name__)

UNREACHABLE_REASON = "the recipient cannot be reached"


@dataclass(frozen=True, slots=True)
class FollowUps:
    """Draws the consequences of failed sends. Safe to run in several processes."""

    uow: UnitOfWorkFactory
    clock: Clock
    quiet: QuietHours
    backup_chat_id: int | None = None
    """Who hears at once when an alert about a flag cannot reach its practitioner."""
    operator_chat_id: int | None = None
    batch: int = 20

    async def run(self) -> int:
        """Follow up a batch of failed rows; how many were done. A row whose follow-up
        fails is logged and kept for the next pass."""
        async with self.uow() as uow:
            rows = await uow.outbox.awaiting_follow_up(self.batch)
        done = 0
        for row in rows:
            try:
                async with self.uow() as uow:
                    if not await uow.outbox.take_follow_up(row.id):
                        continue  # another process took it
                    await self._follow_up(uow, row)
                    await uow.commit()
            except Exception:
                _log.exception("the follow-up of message %s failed; it is tried again", row.id)
                continue
            done += 1
        return done

    async def _follow_up(self, uow: UnitOfWork, row: OutboxMessage) -> None:
        if row.follow_up is FollowUp.UNREACHABLE:
            clients = await uow.clients.by_telegram_id(row.chat_id)
            if clients:
                await self._stop_client_messages(uow, row, clients)
                return
            _log.warning(
                "chat %s (not a client's) cannot be reached; message %s failed, what else "
                "is pending for it stays",
                row.chat_id,
                row.id,
            )
        await alert_undelivered(
            uow,
            row,
            now=self.clock.now(),
            quiet=self.quiet,
            backup_chat_id=self.backup_chat_id,
            operator_chat_id=self.operator_chat_id,
        )

    async def _stop_client_messages(
        self, uow: UnitOfWork, row: OutboxMessage, clients: Sequence[Client]
    ) -> None:
        cancelled = await uow.outbox.cancel_pending(chat_id=row.chat_id, reason=UNREACHABLE_REASON)
        now = self.clock.now()
        for client in clients:
            if client.status in (ClientStatus.UNREACHABLE, ClientStatus.STOPPED):
                continue
            await uow.clients.update(dataclasses.replace(client, status=ClientStatus.UNREACHABLE))
            await uow.audit.record(
                now,
                "client.unreachable",
                subject_type="client",
                subject_id=client.id,
                client_id=client.id,
            )
            await notify_practitioner(
                uow,
                client.practitioner_id,
                Text("delivery.unreachable_notice", {"client": client.full_name}),
                dedup_key=f"unreachable:{client.id}",
                now=now,
                quiet=self.quiet,
                about_client_id=client.id,
            )
        _log.info(
            "chat %s cannot be reached (message %s): %d pending cancelled",
            row.chat_id,
            row.id,
            cancelled,
        )
