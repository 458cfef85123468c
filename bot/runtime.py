"""What every handler and job may use, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from bot.crisis import load_crisis_table
from bot.domain.flood import Budget, FloodGuard
from bot.ports import Clock, UnitOfWorkFactory
from bot.services.policy import Policy
from bot.settings import Settings
from bot.triage_data import LoadedTriage

# Where the composition root leaves what handlers reach through ``bot_data``.
RUNTIME_KEY = "runtime"
RULES_READY_KEY = "triage_rules_ready"


@dataclass(frozen=True)
class Runtime:
    """Settings, the clock, the way to open a unit of work, the rules taken from settings,
    and the count of what each user sends (flood control)."""

    settings: Settings
    clock: Clock
    uow: UnitOfWorkFactory

    @cached_property
    def policy(self) -> Policy:
        """The settings that use cases follow."""
        return Policy(
            quiet=self.settings.quiet_hours,
            reminder_offsets=self.settings.reminder_offsets,
            invite_ttl=timedelta(days=self.settings.invite_ttl_days),
            default_timezone=self.settings.default_timezone,
            triage=LoadedTriage(),
            checkins=self.settings.checkin_schedule,
            checkin_max_age=self.settings.checkin_max_age,
            backup_contact_chat_id=self.settings.backup_contact_chat_id,
            crisis=load_crisis_table(self.settings.crisis_resources_file),
        )

    @cached_property
    def flood(self) -> FloodGuard:
        """Each user's recent updates against the inbound budget."""
        return FloodGuard(
            Budget(
                limit=self.settings.flood_updates,
                window_s=self.settings.flood_window_s,
                quiet_s=self.settings.flood_quiet_s,
            )
        )
