"""Bringing a client in: an invite link, the client's consent, and revoking a link.

Nothing about the client's Telegram account is stored before they agree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from bot.domain import callbacks
from bot.domain.invites import InviteStatus, hash_token, looks_like_token, new_token, status_of
from bot.domain.models import Client, ClientStatus, Invite, Practitioner
from bot.domain.names import tidy_name
from bot.domain.outgoing import Button, OutgoingMessage, Text
from bot.domain.text_params import when
from bot.ports import Clock, UnitOfWork
from bot.services.access import Refused, own_client, refuse, require_practitioner
from bot.services.context import UseCaseContext
from bot.services.delivery.outbox import notify_practitioner
from bot.services.sessions.views import practitioner_name

MAX_NAME_LENGTH = 100


@dataclass(frozen=True, slots=True)
class NewInvite:
    """A fresh invite: the client record it is for, and the token (shown once, never stored)."""

    practitioner: Practitioner
    client: Client
    invite: Invite
    token: str


def invite_link(bot_username: str, token: str) -> str:
    """The deep link that opens the bot with ``/start <token>``."""
    return f"https://t.me/{bot_username}?start={token}"


async def create(ctx: UseCaseContext, *, actor: int, full_name: str) -> NewInvite:
    """Make an invite for a new client, or a fresh one for a client invited before who has
    not joined yet (their older links stop working)."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "invite.create")
        name = tidy_name(full_name)
        if not name or len(name) > MAX_NAME_LENGTH:
            raise Refused(Text("invite.name_needed", {"max": MAX_NAME_LENGTH}))
        now = ctx.clock.now()
        client = await _waiting_client(uow, practitioner, name)
        if client is None:
            client = await uow.clients.add(
                Client(
                    id=0,
                    practitioner_id=practitioner.id,
                    full_name=name,
                    status=ClientStatus.INVITED,
                    timezone=practitioner.timezone,
                    locale=practitioner.locale,
                    created_at=now,
                )
            )
        else:
            for old in await uow.invites.for_client(client.id):
                if status_of(old, now) is InviteStatus.USABLE:
                    await uow.invites.update(dataclasses.replace(old, revoked_at=now))
        token = new_token()
        invite = await uow.invites.add(
            Invite(
                id=0,
                practitioner_id=practitioner.id,
                client_id=client.id,
                token_hash=hash_token(token),
                expires_at=now + ctx.policy.invite_ttl,
                created_at=now,
            )
        )
        await uow.audit.record(
            now,
            "invite.created",
            actor_telegram_id=actor,
            subject_type="client",
            subject_id=client.id,
            detail={"invite_id": invite.id},
            client_id=client.id,
        )
        await uow.commit()
    return NewInvite(practitioner, client, invite, token)


async def _waiting_client(uow: UnitOfWork, practitioner: Practitioner, name: str) -> Client | None:
    for client in await uow.clients.for_practitioner(practitioner.id):
        if client.status is ClientStatus.INVITED and client.full_name.casefold() == name.casefold():
            return client
    return None


def invite_answer(new: NewInvite, bot_username: str) -> OutgoingMessage:
    """The practitioner's reply: the link, when it expires, Share and Revoke buttons."""
    link = invite_link(bot_username, new.token)
    share = f"https://t.me/share/url?url={link}"
    return OutgoingMessage(
        Text(
            "invite.created",
            {
                "client": new.client.full_name,
                "link": link,
                "expires": when(new.invite.expires_at, new.practitioner.timezone, "date"),
            },
        ),
        (
            (Button(Text("button.share_invite"), url=share),),
            (Button(Text("button.revoke_invite"), callbacks.revoke_invite(new.invite.id)),),
        ),
    )


async def revoke(ctx: UseCaseContext, *, actor: int, invite_id: int) -> OutgoingMessage:
    """Revoke one of the practitioner's own invites; an invite already used stays used."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "invite.revoke")
        invite = await uow.invites.get(invite_id)
        if invite is None or invite.practitioner_id != practitioner.id:
            raise await refuse(
                uow,
                ctx.clock,
                actor=actor,
                action="invite.revoke",
                reason="not their invite" if invite else "no such invite",
                answer=Text("access.not_found"),
                subject_type="invite",
                subject_id=invite_id,
            )
        client = await own_client(uow, ctx.clock, practitioner, invite.client_id, "invite.revoke")
        now = ctx.clock.now()
        status = status_of(invite, now)
        if status is not InviteStatus.USABLE:
            return OutgoingMessage(Text(f"invite.revoke_{status}", {"client": client.full_name}))
        await uow.invites.update(dataclasses.replace(invite, revoked_at=now))
        await uow.audit.record(
            now,
            "invite.revoked",
            actor_telegram_id=actor,
            subject_type="client",
            subject_id=client.id,
            detail={"invite_id": invite.id},
            client_id=client.id,
        )
        await uow.commit()
    return OutgoingMessage(Text("invite.revoked", {"client": client.full_name}))


async def open_invites(ctx: UseCaseContext, *, actor: int) -> OutgoingMessage:
    """The practitioner's invites still waiting to be used, each with a Revoke button."""
    async with ctx.uow() as uow:
        practitioner = await require_practitioner(uow, ctx.clock, actor, "invite.list")
        invites = await uow.invites.open_for_practitioner(practitioner.id, ctx.clock.now())
        rows = []
        for invite in invites:
            client = await uow.clients.get(invite.client_id)
            name = client.full_name if client else "?"
            rows.append(
                (
                    Button(
                        Text("button.revoke_invite_of", {"client": name}),
                        callbacks.revoke_invite(invite.id),
                    ),
                )
            )
    if not rows:
        return OutgoingMessage(Text("invite.none_open"))
    return OutgoingMessage(Text("invite.open_list", {"count": len(rows)}), tuple(rows))


async def _usable(uow: UnitOfWork, clock: Clock, token: str) -> tuple[Invite | None, InviteStatus]:
    invite = await uow.invites.by_token_hash(hash_token(token)) if looks_like_token(token) else None
    return invite, status_of(invite, clock.now())


async def consent_request(ctx: UseCaseContext, *, actor: int, token: str) -> OutgoingMessage:
    """What ``/start <token>`` answers: the consent message, or why the link cannot be used.

    Stores nothing.
    """
    async with ctx.uow() as uow:
        invite, status = await _usable(uow, ctx.clock, token)
        if invite is None or status is not InviteStatus.USABLE:
            return OutgoingMessage(Text(f"invite.link_{status}"))
        practitioner = await uow.practitioners.get(invite.practitioner_id)
        if practitioner is None:
            return OutgoingMessage(Text("invite.link_unknown"))
        if practitioner.telegram_user_id == actor:
            return OutgoingMessage(Text("invite.own_link"))
        if await _joined_already(uow, practitioner, actor):
            return OutgoingMessage(_already_joined(practitioner))
    return OutgoingMessage(
        Text("consent.request", {"practitioner": practitioner_name(practitioner)}),
        (
            (
                Button(Text("button.agree"), callbacks.consent(True, token)),
                Button(Text("button.no_thanks"), callbacks.consent(False, token)),
            ),
        ),
    )


@dataclass(frozen=True, slots=True)
class ConsentOutcome:
    """The answer to the client, and the client record when they joined now."""

    answer: OutgoingMessage
    joined: Client | None = None


async def answer_consent(
    ctx: UseCaseContext,
    *,
    actor: int,
    token: str,
    agreed: bool,
    locale: str,
) -> ConsentOutcome:
    """Agree: link the Telegram account to the invited client and tell the practitioner.
    No thanks: store nothing about the user, and tell the practitioner once."""
    async with ctx.uow() as uow:
        invite, status = await _usable(uow, ctx.clock, token)
        if invite is None or status is not InviteStatus.USABLE:
            return ConsentOutcome(OutgoingMessage(Text(f"invite.link_{status}")))
        practitioner = await uow.practitioners.get(invite.practitioner_id)
        client = await uow.clients.get(invite.client_id)
        if practitioner is None or client is None:
            return ConsentOutcome(OutgoingMessage(Text("invite.link_unknown")))
        if practitioner.telegram_user_id == actor:
            return ConsentOutcome(OutgoingMessage(Text("invite.own_link")))
        if await _joined_already(uow, practitioner, actor):
            return ConsentOutcome(OutgoingMessage(_already_joined(practitioner)))
        now = ctx.clock.now()
        if not agreed:
            await uow.invites.update(dataclasses.replace(invite, revoked_at=now))
            await notify_practitioner(
                uow,
                practitioner.id,
                Text("invite.practitioner_declined", {"client": client.full_name}),
                dedup_key=f"invite.declined:{invite.id}",
                now=now,
                quiet=ctx.policy.quiet,
                about_client_id=client.id,
            )
            await uow.commit()
            return ConsentOutcome(OutgoingMessage(Text("consent.declined")))
        if not await uow.invites.mark_used(invite.id, now):  # someone else was quicker
            return ConsentOutcome(OutgoingMessage(Text("invite.link_used")))
        joined = await _join(uow, client, actor, locale, now)
        await uow.audit.record(
            now,
            "client.joined",
            actor_telegram_id=actor,
            subject_type="client",
            subject_id=joined.id,
            detail={"invite_id": invite.id},
            client_id=joined.id,
        )
        await notify_practitioner(
            uow,
            practitioner.id,
            Text("invite.practitioner_joined", {"client": joined.full_name}),
            dedup_key=f"client.joined:{invite.id}",
            now=now,
            quiet=ctx.policy.quiet,
            about_client_id=joined.id,
        )
        await uow.commit()
    return ConsentOutcome(
        OutgoingMessage(
            Text(
                "consent.welcome",
                {"practitioner": practitioner_name(practitioner), "timezone": joined.timezone},
            )
        ),
        joined,
    )


async def _joined_already(uow: UnitOfWork, practitioner: Practitioner, actor: int) -> bool:
    """Whether ``actor`` is a client of ``practitioner`` now: another client's invite must
    not take over (and rename) their record. A client who stopped may come back."""
    return any(
        c.practitioner_id == practitioner.id and c.status is not ClientStatus.STOPPED
        for c in await uow.clients.by_telegram_id(actor)
    )


def _already_joined(practitioner: Practitioner) -> Text:
    return Text("invite.already_joined", {"practitioner": practitioner_name(practitioner)})


async def _join(uow: UnitOfWork, invited: Client, actor: int, locale: str, now: datetime) -> Client:
    """Activate the invited client; a user who was this practitioner's client before (and
    stopped) comes back as that record, and the new placeholder goes."""
    earlier = next(
        (
            c
            for c in await uow.clients.by_telegram_id(actor)
            if c.practitioner_id == invited.practitioner_id and c.id != invited.id
        ),
        None,
    )
    target = invited
    if earlier is not None:
        await uow.clients.remove(invited.id)
        target = dataclasses.replace(earlier, full_name=invited.full_name)
    return await uow.clients.update(
        dataclasses.replace(
            target,
            telegram_user_id=actor,
            status=ClientStatus.ACTIVE,
            consented_at=now,
            locale=locale,
        )
    )
