"""Practitioners: the ones named in settings exist in the database, and keep their names."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from bot.domain.models import Practitioner
from bot.ports import Clock, UnitOfWorkFactory


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
    """Keep the practitioner's name as Telegram shows it, for the texts clients see."""
    async with uow_factory() as uow:
        practitioner = await uow.practitioners.by_telegram_id(telegram_id)
        if practitioner is None or practitioner.display_name == display_name:
            return practitioner
        updated = await uow.practitioners.update(
            dataclasses.replace(practitioner, display_name=display_name)
        )
        await uow.commit()
        return updated
