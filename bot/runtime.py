"""What every handler and job may use, built once by the composition root and reached one
way: ``runtime_of(application)``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from telegram.ext import Application

from bot.calendar_feed.source import FeedSource
from bot.crisis import load_crisis_table
from bot.domain.flood import Budget, FloodGuard
from bot.ports import CalendarSource, Clock, UnitOfWorkFactory
from bot.services.context import UseCaseContext
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.policy import Policy
from bot.settings import Settings
from bot.triage_data import LoadedTriage

RUNTIME_KEY = "runtime"
RULES_READY_KEY = "triage_rules_ready"


@dataclass(frozen=True)
class Runtime:
    """Settings, the clock, the way to open a unit of work, the rules taken from settings,
    the count of what each user sends (flood control), and the dispatcher that sends the
    outbox."""

    settings: Settings
    clock: Clock
    uow: UnitOfWorkFactory
    dispatcher: Dispatcher | None = None
    """``None`` where nothing is sent (an application fed updates by tests)."""
    calendar_reader: CalendarSource | None = None
    """How calendars are read, if not over the network (tests)."""

    @property
    def sender(self) -> Dispatcher:
        """The dispatcher; ``RuntimeError`` for a runtime built without one."""
        if self.dispatcher is None:
            raise RuntimeError("this runtime has no dispatcher")
        return self.dispatcher

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
            calendar_poll=self.settings.calendar_poll,
        )

    @cached_property
    def calendar_source(self) -> CalendarSource:
        """How practitioners' calendars are read: over HTTPS (``bot.calendar_feed``)."""
        if self.calendar_reader is not None:
            return self.calendar_reader
        return FeedSource(
            allow_insecure=self.settings.calendar_allow_insecure,
            default_timezone=self.settings.default_timezone,
        )

    async def close(self) -> None:
        """Let go of what reading calendars holds, if the bot read any: the HTTP session
        and the parsing process."""
        source = self.__dict__.get("calendar_source")  # made when first asked for
        if isinstance(source, FeedSource):
            await source.close()

    @cached_property
    def ctx(self) -> UseCaseContext:
        """What use cases work with: units of work, the clock and the policy."""
        return UseCaseContext(self.uow, self.clock, self.policy)

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


def install(application: Application, runtime: Runtime) -> None:  # type: ignore[type-arg]
    """Make ``runtime`` what the application's handlers and jobs use."""
    application.bot_data[RUNTIME_KEY] = runtime


def runtime_of(application: Application) -> Runtime:  # type: ignore[type-arg]
    """The runtime the composition root installed."""
    value = application.bot_data.get(RUNTIME_KEY)
    if not isinstance(value, Runtime):
        raise TypeError("the application has no Runtime installed")
    return value
