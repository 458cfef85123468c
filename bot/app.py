"""The composition root: the only place that wires settings, database, clock and Telegram."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Application, ApplicationBuilder

import handlers
from bot import triage_second_opinion
from bot.data_keys import register_data_key, verify_data_keys
from bot.db.engine import check_database, create_engine
from bot.db.lock import acquire_instance_lock
from bot.db.migrate import ensure_schema_current, upgrade
from bot.db.uow import make_uow_factory
from bot.db.url import is_sqlite
from bot.ports import Clock, Notifier, UnitOfWorkFactory
from bot.runtime import RULES_READY_KEY, Runtime, install, runtime_of
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.delivery.pacing import Limits, Pacer
from bot.services.practice import practitioners
from bot.settings import Settings
from bot.telegram.alert_chats import check_alert_chats
from bot.telegram.calendar_jobs import start_calendar_job, stop_calendar_pass
from bot.telegram.delivery_jobs import start_delivery
from bot.telegram.flag_jobs import start_flag_jobs
from bot.telegram.menus import publish_menus
from bot.telegram.notifier import TelegramNotifier
from bot.telegram.rate_limiter import PacedRateLimiter
from bot.telegram.retention_jobs import start_retention_job
from bot.telegram.session_jobs import start_session_jobs
from bot.telegram.update_lanes import PerSenderUpdateProcessor
from handlers.common import lanes_of

_log = logging.getLogger(__name__)

ALERT_CHATS_CHECK_KEY = "alert_chats_check"

REPLIES_GRACE_S = 10.0
"""At shutdown, how long queued replies may take to go out."""
CLOSE_GRACE_S = 5.0
"""At most this long for letting go of the calendar reader at shutdown."""

CLAIM_LEASE = timedelta(minutes=2)
"""On PostgreSQL, a claim older than this belongs to a process that died: a live one
records each outcome within seconds of claiming (the batch is one second of sending)."""


@dataclass(frozen=True, slots=True)
class TelegramEndpoint:
    """Where the Bot API lives and the token to use there."""

    token: str
    base_url: str | None = None  # e.g. "http://127.0.0.1:8081/bot"; None for Telegram itself
    base_file_url: str | None = None


def endpoint_from_settings(settings: Settings) -> TelegramEndpoint:
    """Telegram itself, or the local Bot API server named by ``TELEGRAM_API_URL``."""
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    token = settings.bot_token.get_secret_value()
    if settings.telegram_api_url is None:
        return TelegramEndpoint(token)
    api = settings.telegram_api_url
    return TelegramEndpoint(token, f"{api}/bot", f"{api}/file/bot")


def build_application(
    settings: Settings, clock: Clock, uow: UnitOfWorkFactory, endpoint: TelegramEndpoint
) -> Application:  # type: ignore[type-arg]
    """Build the PTB application with every handler registered."""
    pacer = Pacer(Limits(overall_per_second=settings.send_rate))
    builder = (
        ApplicationBuilder()
        .token(endpoint.token)
        .rate_limiter(PacedRateLimiter(pacer))
        .concurrent_updates(PerSenderUpdateProcessor())
    )
    if endpoint.base_url is not None:
        builder = builder.base_url(endpoint.base_url)
    if endpoint.base_file_url is not None:
        builder = builder.base_file_url(endpoint.base_file_url)
    application = builder.build()
    dispatcher = build_dispatcher(settings, uow, TelegramNotifier(application.bot), clock)
    install(application, Runtime(settings, clock, uow, dispatcher))
    handlers.register(application)
    return application


def build_dispatcher(
    settings: Settings, uow: UnitOfWorkFactory, notifier: Notifier, clock: Clock
) -> Dispatcher:
    """The dispatcher as the bot runs it, for this database."""
    sqlite = is_sqlite(settings.database_url)
    return Dispatcher(
        uow,
        notifier,
        clock,
        quiet=settings.quiet_hours,
        batch_size=max(1, int(settings.send_rate)),  # about one second of sending
        # One SQLite file has one bot process (the instance lock); PostgreSQL may have more.
        claim_lease=None if sqlite else CLAIM_LEASE,
        backup_chat_id=settings.backup_contact_chat_id,
        operator_chat_id=settings.operator_chat_id,
    )


@asynccontextmanager
async def open_database(database_url: str, *, migrate: bool) -> AsyncIterator[UnitOfWorkFactory]:
    """Lock, check and (if asked) migrate the database; yield units of work; then close it.

    The data keys must be loaded (``bot.data_keys.load_data_keys``): they are checked
    against what is stored before anything else happens.
    """
    with acquire_instance_lock(database_url):
        engine = create_engine(database_url)
        try:
            await check_database(engine)
            await verify_data_keys(engine)
            if migrate:
                before, after = await upgrade(database_url)
                if before != after:
                    _log.info("database schema upgraded from %s to %s", before or "empty", after)
            else:
                await ensure_schema_current(engine)
            await register_data_key(engine)
            yield make_uow_factory(engine)
        finally:
            await engine.dispose()


async def on_startup(application: Application) -> None:  # type: ignore[type-arg]
    """Register configured practitioners, publish the command menus, check in the
    background that alerts can reach their chats, warm the triage rules up and recover
    what the last stop left in flight."""
    runtime = runtime_of(application)
    settings = runtime.settings
    await practitioners.ensure_configured(
        runtime.uow,
        settings.practitioner_ids,
        timezone=settings.default_timezone,
        locale=settings.default_locale,
        clock=runtime.clock,
    )
    async with runtime.uow() as uow:
        everyone = await uow.practitioners.list_all()
    await publish_menus(application.bot, everyone)
    # In the background (a slow Telegram must not hold up the start), and held here: a
    # task nobody references may be collected before it ends.
    application.bot_data[ALERT_CHATS_CHECK_KEY] = asyncio.create_task(
        check_alert_chats(
            application.bot,
            everyone,
            backup_chat_id=settings.backup_contact_chat_id,
            operator_chat_id=settings.operator_chat_id,
        ),
        name="check_alert_chats",
    )
    # Off the event loop and not waited for: sending starts at once, and updates wait
    # for it (handlers.common.rules_loaded) rather than load the rules on the loop.
    loop = asyncio.get_running_loop()
    warm_up = triage_second_opinion.warm_up
    application.bot_data[RULES_READY_KEY] = loop.run_in_executor(None, warm_up)
    await runtime.sender.join(socket.gethostname(), os.getpid(), alive=process_alive)
    stranded = await runtime.sender.recover()
    if stranded:
        _log.warning(
            "%s message(s) were in flight at the last stop; marked uncertain", len(stranded)
        )


@dataclass(frozen=True, slots=True)
class Webhook:
    """Updates that Telegram posts to ``url``, served on ``listen:port``; a request
    without ``secret`` in ``X-Telegram-Bot-Api-Secret-Token`` is refused."""

    url: str
    listen: str
    port: int
    secret: str


POLLING: Final = "polling"
NO_UPDATES: Final = "no updates"
UpdateSource = Literal["polling", "no updates"] | Webhook
"""How a process takes updates: long polling, a webhook, or not at all (a worker that
only sends and runs jobs)."""


@asynccontextmanager
async def polling(application: Application) -> AsyncIterator[None]:  # type: ignore[type-arg]
    """Run the application with long polling inside the block, then shut it down in order."""
    async with serving(application, POLLING):
        yield


@asynccontextmanager
async def serving(
    application: Application,  # type: ignore[type-arg]
    updates: UpdateSource,
) -> AsyncIterator[None]:
    """Run the application inside the block, taking updates from ``updates``, then shut it
    down in order. Stopping deletes no webhook: the other replicas go on taking updates."""
    updater = application.updater
    if updater is None:
        raise RuntimeError("the application was built without an updater")
    async with application:
        await on_startup(application)
        await application.start()
        start_delivery(application)
        start_session_jobs(application)
        start_flag_jobs(application)
        start_retention_job(application)
        start_calendar_job(application)
        try:
            if isinstance(updates, Webhook):
                await updater.start_webhook(
                    listen=updates.listen,
                    port=updates.port,
                    url_path=urlsplit(updates.url).path.lstrip("/"),
                    webhook_url=updates.url,
                    secret_token=updates.secret,
                    allowed_updates=Update.ALL_TYPES,
                    drop_pending_updates=False,
                )
            elif updates == POLLING:
                await updater.start_polling(allowed_updates=Update.ALL_TYPES)
            _log.info("bot @%s is running (%s)", application.bot.username, _taking(updates))
            yield
        finally:
            _log.info("shutting down")
            if updater.running:
                await updater.stop()
            # A chat's backlog, or a pass over many calendars, must not keep the bot
            # from stopping.
            runtime_of(application).sender.stop_claiming()
            stop_calendar_pass(application)
            await application.stop()  # waits for the updates and the delivery pass under way
            try:
                await runtime_of(application).sender.leave()  # peers need not wait for it
            except Exception as error:  # the database is away: a peer frees them in seconds
                _log.warning("could not hand back what this process held: %s", type(error).__name__)
            try:
                async with asyncio.timeout(REPLIES_GRACE_S):
                    await lanes_of(application).wait_sent()
            except TimeoutError:
                _log.warning(
                    "stopped with replies still queued for %s chat(s)",
                    lanes_of(application).busy_chats,
                )
            try:
                async with asyncio.timeout(CLOSE_GRACE_S):
                    await runtime_of(application).close()
            except Exception as error:  # shutting down: a warning is all that is left to do
                _log.warning("could not close the calendar reader: %s", type(error).__name__)


def _taking(updates: UpdateSource) -> str:
    if isinstance(updates, Webhook):
        return f"updates by webhook on {updates.listen}:{updates.port}"
    return "long polling" if updates == POLLING else "no updates: sending and jobs only"


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, for a graceful shutdown."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):  # platforms without signal support in asyncio
            loop.add_signal_handler(sig, stop.set)
    return stop
