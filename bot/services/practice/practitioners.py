"""Practitioners: the ones named in settings exist in the database, and keep their names;
an operator registers more, or changes their details (``stillpoint practitioner add``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.models import Practitioner
from bot.domain.names import tidy_name
from bot.domain.timing import CheckInSchedule
from bot.ports import Clock, UnitOfWork, UnitOfWorkFactory
from bot.services.context import UseCaseContext


async def ensure_configured(
    uow_factory: UnitOfWorkFactory,
    telegram_ids: Collection[int],
    *,
    timezone: str,
    locale: str,
    clock: Clock,
) -> list[Practitioner]:
    """Create a record for each practitioner id from settings that has none yet."""
    created: list[Practitioner] = []
    async with uow_factory() as uow:
        for telegram_id in telegram_ids:
            practitioner = await uow.practitioners.add_if_absent(
                Practitioner(
                    id=0,
                    telegram_user_id=telegram_id,
                    display_name="",
                    timezone=timezone,
                    locale=locale,
                    created_at=clock.now(),
                )
            )
            if practitioner is None:
                continue
            await uow.audit.record(
                clock.now(),
                "practitioner.registered",
                actor_telegram_id=telegram_id,
                subject_type="practitioner",
                subject_id=practitioner.id,
                detail={"source": "settings"},
            )
            created.append(practitioner)
        await uow.commit()
    return created


async def remember_name(
    uow_factory: UnitOfWorkFactory, telegram_id: int, display_name: str
) -> Practitioner | None:
    """Give a practitioner without a name the one Telegram shows, for the texts clients see.

    A name already there (from ``register``, i.e. the operator, or an earlier visit) stays.
    """
    name = tidy_name(display_name)[:MAX_NAME_LENGTH]
    async with uow_factory() as uow:
        practitioner = await uow.practitioners.by_telegram_id(telegram_id)
        if practitioner is None or practitioner.display_name or not name:
            return practitioner
        updated = await uow.practitioners.update(
            dataclasses.replace(practitioner, display_name=name)
        )
        await uow.commit()
        return updated


MAX_NAME_LENGTH = 200  # the width of practitioners.display_name
MAX_LOCATION_LENGTH = 500  # the width of practitioners.location
MAX_TELEGRAM_ID = 2**63 - 1  # practitioners.telegram_user_id is a BIGINT


class InvalidRegistrationError(ValueError):
    """A practitioner's details cannot be stored; the message says why in one sentence."""


def check_name(name: str) -> str:
    """The name without surrounding space; it must not be empty or too long."""
    cleaned = tidy_name(name)
    if not cleaned:
        raise InvalidRegistrationError("the name must not be empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidRegistrationError(f"the name is longer than {MAX_NAME_LENGTH} characters")
    return cleaned


def check_timezone(timezone: str) -> str:
    """An IANA time zone name such as ``Europe/Berlin``."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRegistrationError(
            f"unknown time zone {timezone!r}; use a name like Europe/Berlin"
        ) from None
    return timezone


def check_telegram_id(telegram_id: int) -> int:
    """A Telegram user id: a positive number (that fits the 64-bit column)."""
    if not 0 < telegram_id <= MAX_TELEGRAM_ID:
        raise InvalidRegistrationError(
            f"a Telegram user id is a positive number, got {telegram_id}"
        )
    return telegram_id


def check_reminder_offsets(minutes: Iterable[int]) -> tuple[int, ...]:
    """Minutes before a session, each once, the earliest reminder first (largest first)."""
    offsets = tuple(sorted(set(minutes), reverse=True))
    if any(offset <= 0 for offset in offsets):
        raise InvalidRegistrationError("reminders must come before the session")
    return offsets


def _check_location(location: str) -> str | None:
    cleaned = location.strip()
    if len(cleaned) > MAX_LOCATION_LENGTH:
        raise InvalidRegistrationError(
            f"the location is longer than {MAX_LOCATION_LENGTH} characters"
        )
    return cleaned or None


async def register(
    ctx: UseCaseContext,
    *,
    telegram_id: int,
    name: str | None,
    timezone: str | None,
    locale: str | None,
    location: str | None,
    reminder_offsets_minutes: Iterable[int] | None,
    checkins: CheckInSchedule | Literal["default"] | None = None,
    digest: bool | None = None,
    default_timezone: str = "UTC",
    default_locale: str = "en",
    source: str = "cli",
) -> tuple[Practitioner, bool]:
    """Add a practitioner, or update the one with this Telegram account; ``True`` if added.

    ``None`` means "not given": a new practitioner gets the default (a name is required),
    an existing one keeps what it has. An empty ``location`` removes it; empty reminder
    offsets, and ``checkins="default"``, mean the operator's defaults; ``digest`` turns the
    daily digest on or off. Raises ``InvalidRegistrationError``.
    """
    check_telegram_id(telegram_id)
    changes = _changes(
        name=name,
        timezone=timezone,
        locale=locale,
        location=location,
        reminder_offsets_minutes=reminder_offsets_minutes,
        checkins=checkins,
        digest=digest,
    )
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        existing = await uow.practitioners.by_telegram_id(telegram_id)
        if existing is None:
            if "display_name" not in changes:
                raise InvalidRegistrationError("a new practitioner needs a name")
            values = {"timezone": default_timezone, "locale": default_locale, **changes}
            fresh = Practitioner(id=0, telegram_user_id=telegram_id, created_at=now, **values)
            added = await uow.practitioners.add_if_absent(fresh)
            if added is not None:
                await _audit(uow, now, "practitioner.registered", added, {"source": source})
                await uow.commit()
                return added, True
            # Registered by someone else a moment ago: update that record instead.
            existing = await uow.practitioners.by_telegram_id(telegram_id)
            if existing is None:  # pragma: no cover -- the insert conflicted with it
                raise RuntimeError(f"practitioner {telegram_id} vanished while registering")
        changed = sorted(key for key, v in changes.items() if getattr(existing, key) != v)
        updated = await uow.practitioners.update(dataclasses.replace(existing, **changes))
        detail = {"source": source, "fields": changed}
        await _audit(uow, now, "practitioner.updated", updated, detail)
        await uow.commit()
        return updated, False


def _changes(
    *,
    name: str | None,
    timezone: str | None,
    locale: str | None,
    location: str | None,
    reminder_offsets_minutes: Iterable[int] | None,
    checkins: CheckInSchedule | Literal["default"] | None,
    digest: bool | None,
) -> dict[str, Any]:
    """The checked values of what is given, by field (``register``'s ``None`` is left out)."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["display_name"] = check_name(name)
    if timezone is not None:
        changes["timezone"] = check_timezone(timezone)
    if locale is not None:
        if not locale.strip():
            raise InvalidRegistrationError("the locale must not be empty")
        changes["locale"] = locale.strip()
    if location is not None:
        changes["location"] = _check_location(location)
    if reminder_offsets_minutes is not None:
        changes["reminder_offsets_minutes"] = check_reminder_offsets(reminder_offsets_minutes)
    if checkins == "default":
        changes["checkin_days"], changes["checkin_time"] = (), None
    elif checkins is not None:
        changes["checkin_days"] = checkins.days
        changes["checkin_time"] = f"{checkins.at:%H:%M}"
    if digest is not None:
        changes["digest"] = digest
    return changes


async def _audit(
    uow: UnitOfWork, at: datetime, action: str, practitioner: Practitioner, detail: dict[str, Any]
) -> None:
    await uow.audit.record(
        at,
        action,
        subject_type="practitioner",
        subject_id=practitioner.id,
        detail=detail,
    )
