"""Settings, read once at start-up from the environment and ``.env``, then passed down."""

from __future__ import annotations

import logging
import re
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError
from sqlalchemy.engine import make_url

import messages
from bot.db.url import normalize_database_url
from bot.domain.timing import CheckInSchedule, QuietHours, parse_clock_time, parse_duration

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///stillpoint.sqlite3"
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ConfigError(Exception):
    """A setting is missing or malformed. The message is one line naming the variable."""


def _split(value: Any) -> Any:
    """Accept ``a,b,c`` (the friendly form) as well as a list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything an operator can configure. Environment variables use the upper-case names."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_url: str | None = None
    default_timezone: str = "UTC"
    default_locale: str = "en"
    quiet_hours: Annotated[QuietHours, NoDecode] = QuietHours(time(21, 0), time(8, 0))
    reminder_offsets: Annotated[tuple[timedelta, ...], NoDecode] = (
        timedelta(hours=24),
        timedelta(hours=2),
    )
    checkin_days: Annotated[tuple[int, ...], NoDecode] = (1, 3, 7)
    checkin_time: time = time(10, 0)
    practitioner_ids: Annotated[tuple[int, ...], NoDecode] = ()
    log_level: str = "INFO"
    outbox_keep_days: int = Field(default=30, ge=1, le=3650)
    """Sent messages keep their text this many days; then only the row and its state."""
    retention_months: int = Field(default=24, ge=1, le=600)
    """Check-in answers older than this are erased by an hourly pass."""
    data_key: SecretStr | None = None
    """The data key ring, ``id:key[,id:key...]``: the first encrypts, all decrypt."""
    data_key_file: Path | None = None
    """A file holding the data key ring instead (default for SQLite: ``<database>.key``)."""
    log_telegram_bodies: bool = False
    """Unsafe: let the Telegram library's DEBUG lines print whole requests (message text,
    names). Off, its loggers stay at INFO even when ``log_level`` is DEBUG."""
    operator_chat_id: int | None = None
    backup_contact_chat_id: int | None = None
    """Who hears of an urgent flag that its practitioner has not acknowledged in time."""
    checkin_max_age: Annotated[timedelta, NoDecode] = timedelta(hours=12)
    """A check-in not sent within this long after its time is skipped, not sent late."""
    crisis_resources_file: Path | None = None
    """A TOML table of emergency numbers and crisis lines per country, replacing the
    built-in one."""
    invite_ttl_days: int = Field(default=7, ge=1, le=90)
    send_rate: float = Field(default=28.0, gt=0, le=30)
    """Messages per second this process may send; Telegram allows about 30 per bot, so
    with several bot processes give each its share (two: 14)."""
    flood_updates: int = Field(default=20, ge=1, le=1000)
    flood_window_s: float = Field(default=10.0, gt=0, le=3600)
    """More than ``flood_updates`` updates from one user within this many seconds is a
    flood: the bot says "slow down" once and holds its ordinary replies to them back."""
    flood_quiet_s: float = Field(default=60.0, ge=0, le=86400)
    """How long the bot stays quiet to a flooding user after their last excess update."""
    calendar_poll: Annotated[timedelta, NoDecode] = timedelta(minutes=5)
    """How often each subscribed calendar is read (sandbox time under the sandbox)."""
    calendar_allow_insecure: bool = False
    """Unsafe outside tests: let calendar addresses be plain http and point to loopback or
    private networks (a local calendar server)."""
    webhook_listen: str = "0.0.0.0"  # noqa: S104 -- the load balancer in front must reach it
    """Where ``stillpoint run --webhook-url`` listens for Telegram's updates."""
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    """Telegram sends it with every update (``X-Telegram-Bot-Api-Secret-Token``); a
    request without it is refused. Needed in webhook mode, the same for every replica."""
    health_listen: str = "127.0.0.1"
    """Where ``/healthz`` and ``/metrics`` are served (``0.0.0.0`` for a scraper outside
    this host or container)."""
    health_port: int = Field(default=9090, ge=0, le=65535)
    """Port of ``/healthz`` and ``/metrics``; 0: not served."""

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        url = normalize_database_url(value)  # its errors never repeat the URL
        try:
            parsed = make_url(url)
        except ValueError:
            raise ValueError(
                "the URL is malformed; check its host, port and database name"
            ) from None
        if not parsed.database:
            raise ValueError(
                "name a database (for SQLite, a file path: sqlite:///stillpoint.sqlite3)"
            )
        return value

    @field_validator(
        "operator_chat_id",
        "backup_contact_chat_id",
        "telegram_api_url",
        "crisis_resources_file",
        "data_key",
        "data_key_file",
        "webhook_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("use 1 to 256 characters: letters, digits, _ and -")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"unknown time zone {value!r}; use a name like Europe/Berlin"
            raise ValueError(message) from None
        return value

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in messages.available_locales():
            raise ValueError(f"use one of {', '.join(messages.available_locales())}")
        return value

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet_hours(cls, value: Any) -> Any:
        return QuietHours.parse(value) if isinstance(value, str) else value

    @field_validator("reminder_offsets", mode="before")
    @classmethod
    def _reminder_offsets(cls, value: Any) -> Any:
        parts = _split(value)
        if parts == []:
            raise ValueError("give at least one offset, such as 24h")
        if isinstance(parts, list) and all(isinstance(part, str) for part in parts):
            offsets = sorted({parse_duration(part) for part in parts}, reverse=True)
            return tuple(offsets)
        return parts

    @field_validator("calendar_poll", mode="before")
    @classmethod
    def _calendar_poll(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("checkin_max_age", mode="before")
    @classmethod
    def _checkin_max_age(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("crisis_resources_file")
    @classmethod
    def _crisis_resources_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        if not value.is_file():
            raise ValueError(f"no such file: {value}")
        from bot.crisis import CrisisTableError, load_crisis_table  # noqa: PLC0415 -- Babel is slow to import

        try:
            load_crisis_table(value)  # a malformed table is refused at start-up, not mid-crisis
        except CrisisTableError as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("checkin_days", "practitioner_ids", mode="before")
    @classmethod
    def _int_list(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("checkin_days")
    @classmethod
    def _checkin_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        CheckInSchedule(value, time(10, 0))
        return value

    @field_validator("checkin_time", mode="before")
    @classmethod
    def _checkin_time(cls, value: Any) -> Any:
        return parse_clock_time(value) if isinstance(value, str) else value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError("use DEBUG, INFO, WARNING or ERROR")
        return level

    @property
    def checkin_schedule(self) -> CheckInSchedule:
        """The check-in days and local time as one value."""
        return CheckInSchedule(self.checkin_days, self.checkin_time)


def load_settings(env_file: Path | None = Path(".env"), **overrides: Any) -> Settings:
    """Build the settings, turning any validation problem into one clear ``ConfigError``."""
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None
    except UnicodeDecodeError:
        raise ConfigError(f"the settings file {env_file} is not UTF-8 text") from None
    except SettingsError as error:
        # Raised before validation when a value cannot even be decoded.
        field = re.search(r'field "(\w+)"', str(error))
        name = field.group(1).upper() if field else "SETTINGS"
        raise ConfigError(f"invalid setting {name}: the value cannot be read") from None


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each offending variable and what is wrong with it."""
    problems = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"][:1]).upper() or "SETTINGS"
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{name}: {message}")
    return "invalid setting " + "; ".join(problems)
