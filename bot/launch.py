"""What each ``stillpoint`` command does, from settings to a running (or migrated) bot."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import BadRequest, InvalidToken, NetworkError

import messages
from bot.app import (
    NO_UPDATES,
    POLLING,
    TelegramEndpoint,
    UpdateSource,
    Webhook,
    build_application,
    endpoint_from_settings,
    open_database,
    polling,
    serving,
    stop_on_signals,
)
from bot.calendar_feed.parse import CalendarFormatError, parse_calendar
from bot.clock import SystemClock
from bot.data_keys import (
    DataKeySetupError,
    load_data_keys,
    register_data_key,
    rotate_data_keys,
    verify_data_keys,
)
from bot.db.engine import check_database, create_engine
from bot.db.errors import DatabaseInUseError, DatabaseUnavailableError, SchemaOutdatedError
from bot.db.migrate import ensure_schema_current, head_revision
from bot.db.uow import make_uow_factory
from bot.domain.calendar_reads import CalendarUnavailable, masked
from bot.domain.models import Practitioner
from bot.domain.timing import CheckInSchedule, format_duration
from bot.encryption import DataKeyError, DecryptionError, KeyRing
from bot.logging_setup import configure_logging
from bot.ops_server import serving_ops
from bot.ports import Clock, UnitOfWorkFactory
from bot.runtime import Runtime, runtime_of
from bot.sandbox.server import SandboxServer
from bot.services.delivery.report import delivery_report
from bot.services.practice import client_record, practitioners
from bot.services.privacy import client_copy, rights
from bot.services.sessions import calendar_subscriptions
from bot.services.sessions.calendar_sync import SyncResult
from bot.settings import Settings

_log = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot cannot start; the message says why in one sentence."""


async def run(
    settings: Settings, *, webhook_url: str | None = None, no_updates: bool = False
) -> int:
    """``stillpoint run``: the bot against Telegram until SIGINT or SIGTERM, taking updates
    by long polling, at ``webhook_url``, or not at all (``no_updates``: a worker)."""
    configure_logging(settings.log_level, telegram_bodies=settings.log_telegram_bodies)
    if settings.bot_token is None:
        raise StartupError(
            "BOT_TOKEN is not set. Create a bot with @BotFather, then put its token in .env "
            "or the environment (see README)."
        )
    updates = _update_source(settings, webhook_url, no_updates=no_updates)
    clock = SystemClock()
    async with _guarded_database(settings, settings.database_url, clock, migrate=False) as uow:
        application = build_application(settings, clock, uow, endpoint_from_settings(settings))
        async with AsyncExitStack() as running:
            try:
                await running.enter_async_context(serving(application, updates))
                await running.enter_async_context(
                    serving_ops(
                        runtime_of(application), settings.health_listen, settings.health_port
                    )
                )
            except InvalidToken:
                raise StartupError(
                    "Telegram did not accept BOT_TOKEN; copy the token from @BotFather again"
                ) from None
            except BadRequest as error:  # setWebhook refused the address
                raise StartupError(f"Telegram refused the webhook: {error.message}") from None
            except NetworkError as error:
                where = settings.telegram_api_url or "Telegram"
                raise StartupError(f"cannot reach {where}: {error.message}") from None
            except OSError as error:  # the webhook's or the health server's port is taken
                raise StartupError(f"cannot listen: {error.strerror or error}") from None
            await stop_on_signals().wait()
    return 0


def _update_source(
    settings: Settings, webhook_url: str | None, *, no_updates: bool
) -> UpdateSource:
    if no_updates:
        return NO_UPDATES
    if webhook_url is None:
        return POLLING
    if settings.webhook_secret is None:
        raise StartupError(
            "webhook mode needs WEBHOOK_SECRET (1 to 256 letters, digits, _ or -), the same "
            "for every replica: Telegram sends it with each update, and requests without "
            "it are refused"
        )
    address = urlsplit(webhook_url)
    if address.scheme not in ("https", "http") or not address.hostname:
        raise StartupError(f"--webhook-url must be a full https:// address, not {webhook_url!r}")
    return Webhook(
        webhook_url,
        settings.webhook_listen,
        settings.webhook_port,
        settings.webhook_secret.get_secret_value(),
    )


async def migrate(settings: Settings) -> int:
    """``stillpoint migrate``: bring the schema to the newest version."""
    configure_logging(settings.log_level, telegram_bodies=settings.log_telegram_bodies)
    async with _guarded_database(settings, settings.database_url, SystemClock(), migrate=True):
        _log.info("database schema is at the newest version, %s", head_revision())
    return 0


async def stats(settings: Settings, window: timedelta) -> int:
    """``stillpoint stats``: delivery states and lateness, as one JSON line."""
    configure_logging("WARNING")
    clock = SystemClock()
    async with _current_database(settings, clock) as uow_factory, uow_factory() as uow:
        report = await delivery_report(uow, clock.now() - window)
    print(json.dumps(report.as_json()))  # noqa: T201
    return 0


async def practitioner_add(
    settings: Settings,
    *,
    telegram_id: int,
    name: str | None,
    timezone: str | None,
    locale: str | None,
    location: str | None,
    reminder_offsets_minutes: tuple[int, ...] | None,
    checkins: CheckInSchedule | Literal["default"] | None = None,
    digest: bool | None = None,
) -> int:
    """``stillpoint practitioner add``: register a practitioner, or update their details.

    ``None`` is "not given". Raises ``InvalidRegistrationError`` (a new practitioner needs
    a name). Needs no instance lock: a running bot may keep running.
    """
    configure_logging("WARNING")
    clock = SystemClock()
    async with _current_database(settings, clock) as uow_factory:
        practitioner, added = await practitioners.register(
            Runtime(settings, clock, uow_factory).ctx,
            telegram_id=telegram_id,
            name=name,
            timezone=timezone,
            locale=locale,
            location=location,
            reminder_offsets_minutes=reminder_offsets_minutes,
            checkins=checkins,
            digest=digest,
            default_timezone=settings.default_timezone,
            default_locale=settings.default_locale,
            source="cli",
        )
    done = "Added" if added else "Updated"
    print(  # noqa: T201
        f"{done} practitioner {practitioner.display_name or '(no name)'} "
        f"(Telegram id {practitioner.telegram_user_id}, {practitioner.timezone})."
    )
    return 0


async def erase(settings: Settings, client_id: int) -> int:
    """``stillpoint erase --client-id N``: an operator erases one client, as ``/erase``
    does (their practitioner is told). Exit 1 when there is no such client."""
    configure_logging("WARNING")
    clock = SystemClock()
    async with _current_database(settings, clock, writes_encrypted=True) as uow_factory:
        ctx = Runtime(settings, clock, uow_factory).ctx
        erased = await rights.erase_client(ctx, client_id)
    if erased is None:
        print(f"stillpoint: there is no client {client_id}", file=sys.stderr)  # noqa: T201
        return 1
    print(f"Erased client {client_id}; their practitioner will be told.")  # noqa: T201
    return 0


async def export(settings: Settings, client_id: int, file_format: str) -> int:
    """``stillpoint export --client-id N --format csv|json``: one client's record to stdout
    (CSV: one row per answer, in their practitioner's zone; JSON: everything kept about
    them, as ``/mydata`` sends it). Written to the audit log. Exit 1 when there is no such
    client."""
    configure_logging("WARNING")
    clock = SystemClock()
    async with _current_database(settings, clock) as uow_factory:
        ctx = Runtime(settings, clock, uow_factory).ctx
        if file_format == "csv":
            document = await client_record.operator_csv(ctx, client_id)
        else:
            copy = await client_copy.operator_copy(ctx, client_id)
            document = None if copy is None else copy.as_json()
    if document is None:
        print(f"stillpoint: there is no client {client_id}", file=sys.stderr)  # noqa: T201
        return 1
    sys.stdout.write(document)
    return 0


async def calendar_add(settings: Settings, practitioner_id: int, url: str) -> int:
    """``stillpoint calendar add``: follow a practitioner's calendar, as their ``/calendar
    <address>`` does. Exit 1 when there is no such practitioner or the calendar cannot be
    read (nothing is kept then)."""
    configure_logging("WARNING")
    clock = SystemClock()
    async with _current_database(settings, clock, writes_encrypted=True) as uow_factory:
        runtime = Runtime(settings, clock, uow_factory)
        practitioner = await _practitioner(uow_factory, practitioner_id)
        if practitioner is None:
            return 1
        try:
            result = await calendar_subscriptions.follow(
                runtime.ctx, runtime.calendar_source, practitioner, url, actor=None
            )
        except CalendarUnavailable as unavailable:
            words = messages.render_plain(f"calendar.problem_{unavailable.problem}")
            print(f"stillpoint: that calendar cannot be read: {words}", file=sys.stderr)  # noqa: T201
            return 1
    print(_followed(practitioner_id, masked(url), result))  # noqa: T201
    return 0


async def calendar_import(settings: Settings, practitioner_id: int, path: Path) -> int:
    """``stillpoint calendar import``: follow the events of one calendar file, once. Exit 1
    when the practitioner or the file is missing, or the file is no calendar."""
    configure_logging("WARNING")
    clock = SystemClock()
    try:
        data = await asyncio.to_thread(path.read_bytes)
        events = parse_calendar(data, now=clock.now(), default_timezone=settings.default_timezone)
    except OSError as error:
        print(f"stillpoint: cannot read {path}: {error.strerror}", file=sys.stderr)  # noqa: T201
        return 1
    except CalendarFormatError as error:
        print(f"stillpoint: {path} is not a calendar: {error.reason}", file=sys.stderr)  # noqa: T201
        return 1
    async with _current_database(settings, clock, writes_encrypted=True) as uow_factory:
        practitioner = await _practitioner(uow_factory, practitioner_id)
        if practitioner is None:
            return 1
        ctx = Runtime(settings, clock, uow_factory).ctx
        result = await calendar_subscriptions.import_events(ctx, practitioner, events)
    print(_followed(practitioner_id, path.name, result))  # noqa: T201
    return 0


async def _practitioner(
    uow_factory: UnitOfWorkFactory, practitioner_id: int
) -> Practitioner | None:
    async with uow_factory() as uow:
        found = await uow.practitioners.get(practitioner_id)
    if found is None:
        print(f"stillpoint: there is no practitioner {practitioner_id}", file=sys.stderr)  # noqa: T201
    return found


def _followed(practitioner_id: int, source: str, result: SyncResult) -> str:
    return (
        f"Practitioner {practitioner_id} follows {source}: {result.ahead} events in the next "
        f"60 days, {result.sessions} of them client sessions ({result.booked} booked now); "
        f"{result.asked} asked about in their chat."
    )


async def keys_rotate(settings: Settings, batch: int) -> int:
    """``stillpoint keys rotate``: re-encrypt what older keys encrypted with the first key
    of the ring, in batches, beside a running bot (started with the new ring)."""
    configure_logging("WARNING")
    clock = SystemClock()
    async with _current_engine(settings, clock, writes_encrypted=True) as (engine, ring):
        try:
            done = await rotate_data_keys(engine, ring, clock, batch=batch)
        except (DataKeyError, DecryptionError) as error:
            raise StartupError(
                f"the rotation stopped ({error}); what it re-encrypted stays so, and running "
                "it again goes on from there"
            ) from None
    print(f"Re-encrypted {done.reencrypted} values with data key {done.current}.")  # noqa: T201
    if done.retired:
        print(  # noqa: T201
            f"No value needs {', '.join(done.retired)} any more: remove it from DATA_KEY "
            "(and its backups, once no backup of the database needs it)."
        )
    if done.still_needed:
        print(  # noqa: T201
            f"Values still need {', '.join(done.still_needed)}: is every running bot "
            "started with the new key first? Then run this again.",
            file=sys.stderr,
        )
        return 1
    return 0


def _checkins_column(practitioner: Practitioner) -> str:
    days = ",".join(str(day) for day in practitioner.checkin_days) or "default"
    return f"{days}@{practitioner.checkin_time or 'default'}"


async def practitioner_list(settings: Settings) -> int:
    """``stillpoint practitioner list``: one tab-separated line per practitioner.

    Columns: id, Telegram id, name, time zone, reminder offsets, check-ins
    (``default`` where the operator's settings apply) and the daily digest (``on`` or
    ``off``).
    """
    configure_logging("WARNING")
    async with _current_database(settings, SystemClock()) as uow_factory, uow_factory() as uow:
        everyone = await uow.practitioners.list_all()
    for practitioner in everyone:
        offsets = ",".join(
            format_duration(timedelta(minutes=minutes))
            for minutes in practitioner.reminder_offsets_minutes
        )
        columns = (
            practitioner.id,
            practitioner.telegram_user_id,
            practitioner.display_name or "-",
            practitioner.timezone,
            offsets or "default",
            _checkins_column(practitioner),
            "on" if practitioner.digest else "off",
        )
        print("\t".join(str(column) for column in columns))  # noqa: T201
    return 0


@dataclass(frozen=True, slots=True)
class RunningSandbox:
    """A sandbox emulator with the real bot polling it."""

    server: SandboxServer
    runtime: Runtime

    @property
    def url(self) -> str:
        """Where the emulator and its control API listen."""
        return self.server.url


@asynccontextmanager
async def running_sandbox(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    database_url: str | None = None,
    limits: bool = True,
) -> AsyncIterator[RunningSandbox]:
    """Start the emulator and the bot against it; a fresh SQLite database unless one is given."""
    server = SandboxServer(host=host, port=port, limits=limits)
    try:
        await server.start()
    except OSError as error:
        raise StartupError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    try:
        with tempfile.TemporaryDirectory(prefix="stillpoint-sandbox-") as folder:
            url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'sandbox.sqlite3'}"
            practitioners = (*settings.practitioner_ids, server.state.practitioner_user_id)
            sandbox_settings = settings.model_copy(
                update={"database_url": url, "practitioner_ids": practitioners}
            )
            # Its own temporary database needs no key that outlives it; a database given
            # keeps its data, so its key comes from the settings (or the file beside it).
            throwaway = database_url is None
            async with _guarded_database(
                settings, url, server.clock, migrate=True, throwaway=throwaway
            ) as uow:
                endpoint = TelegramEndpoint(server.bot_token, server.base_url)
                application = build_application(sandbox_settings, server.clock, uow, endpoint)
                async with polling(application):
                    yield RunningSandbox(server, runtime_of(application))
    finally:
        await server.stop()


async def sandbox(
    settings: Settings, host: str, port: int, database_url: str | None, *, limits: bool
) -> int:
    """``stillpoint sandbox``: serve the emulator and the bot until SIGINT or SIGTERM."""
    configure_logging(settings.log_level, telegram_bodies=settings.log_telegram_bodies)
    running = running_sandbox(
        settings, host=host, port=port, database_url=database_url, limits=limits
    )
    async with running as sb:
        print(f"Stillpoint sandbox listening on {sb.url}", flush=True)  # noqa: T201
        await stop_on_signals().wait()
    return 0


async def demo(settings: Settings) -> int:
    """``stillpoint demo``: the scripted walk-through, printed as a transcript."""
    from bot.demo import CALENDAR_POLL, play  # noqa: PLC0415

    configure_logging("WARNING")
    # The story's calendar is served on loopback, over plain http.
    settings = settings.model_copy(
        update={"calendar_allow_insecure": True, "calendar_poll": CALENDAR_POLL}
    )
    async with running_sandbox(settings) as sb:
        async with sb.runtime.uow() as uow:
            practitioner = await uow.practitioners.by_telegram_id(
                sb.server.state.practitioner_user_id
            )
        zone = practitioner.timezone if practitioner else settings.default_timezone
        return await play(sb.url, practitioner_zone=zone)


@asynccontextmanager
async def _current_database(
    settings: Settings, clock: Clock, *, writes_encrypted: bool = False
) -> AsyncIterator[UnitOfWorkFactory]:
    """Units of work on a database whose schema is current, without the instance lock.

    For short operator commands that may run beside the bot, even on SQLite.
    """
    async with _current_engine(settings, clock, writes_encrypted=writes_encrypted) as (
        engine,
        _ring,
    ):
        yield make_uow_factory(engine)


@asynccontextmanager
async def _current_engine(
    settings: Settings, clock: Clock, *, writes_encrypted: bool
) -> AsyncIterator[tuple[AsyncEngine, KeyRing]]:
    """The engine behind :func:`_current_database`, with the data keys it loaded."""
    database_url = settings.database_url
    engine = create_engine(database_url)
    try:
        try:
            await check_database(engine)
            ring = await load_data_keys(settings, database_url, clock)
            await verify_data_keys(engine)
            await ensure_schema_current(engine)
            if writes_encrypted:
                await register_data_key(engine)
        except (DatabaseUnavailableError, SchemaOutdatedError, DataKeySetupError) as error:
            raise StartupError(str(error)) from None
        yield engine, ring
    finally:
        await engine.dispose()


@asynccontextmanager
async def _guarded_database(
    settings: Settings,
    database_url: str,
    clock: Clock,
    *,
    migrate: bool,
    throwaway: bool = False,
) -> AsyncIterator[UnitOfWorkFactory]:
    try:
        await load_data_keys(settings, database_url, clock, throwaway=throwaway)
        async with open_database(database_url, migrate=migrate) as uow:
            yield uow
    except (
        DatabaseUnavailableError,
        DatabaseInUseError,
        SchemaOutdatedError,
        DataKeySetupError,
    ) as error:
        raise StartupError(str(error)) from None
