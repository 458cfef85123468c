import os
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings

SETTING_NAMES = (
    "BOT_TOKEN",
    "DATABASE_URL",
    "TELEGRAM_API_URL",
    "DEFAULT_TIMEZONE",
    "QUIET_HOURS",
    "REMINDER_OFFSETS",
    "CHECKIN_DAYS",
    "CHECKIN_TIME",
    "PRACTITIONER_IDS",
    "LOG_LEVEL",
    "INVITE_TTL_DAYS",
    "SEND_RATE",
    "OPERATOR_CHAT_ID",
    "DEFAULT_LOCALE",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_need_nothing() -> None:
    settings = load_settings(None)
    assert settings.bot_token is None
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert str(settings.quiet_hours) == "21:00-08:00"
    assert settings.reminder_offsets == (timedelta(hours=24), timedelta(hours=2))
    assert settings.checkin_schedule.days == (1, 3, 7)
    assert settings.checkin_schedule.at == time(10)


def test_friendly_forms_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("PRACTITIONER_IDS", "11, 22")
    monkeypatch.setenv("REMINDER_OFFSETS", "2h,24h,90m")
    monkeypatch.setenv("QUIET_HOURS", "22:30-07:00")
    monkeypatch.setenv("CHECKIN_DAYS", "1,2")
    monkeypatch.setenv("CHECKIN_TIME", "09:30")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings(None)
    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(settings)
    assert settings.practitioner_ids == (11, 22)
    assert settings.reminder_offsets == (
        timedelta(hours=24),
        timedelta(hours=2),
        timedelta(minutes=90),
    )
    assert str(settings.quiet_hours) == "22:30-07:00"
    assert settings.checkin_days == (1, 2)
    assert settings.checkin_time == time(9, 30)
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("QUIET_HOURS", "25:00-08:00"),
        ("PRACTITIONER_IDS", "12,abc"),
        ("REMINDER_OFFSETS", "24h,soon"),
        ("DEFAULT_TIMEZONE", "Mars/Olympus"),
        ("LOG_LEVEL", "loud"),
        ("INVITE_TTL_DAYS", "a week"),
        ("CHECKIN_DAYS", "7,3"),
        ("CHECKIN_TIME", "7pm"),
        ("DATABASE_URL", "mysql://localhost/x"),
        ("TELEGRAM_API_URL", "ftp://example"),
        ("OPERATOR_CHAT_ID", "me"),
        ("DATABASE_URL", "postgresql://user:secret@host:notaport/db"),
        ("DATABASE_URL", "postgresql+psycopg://user:secret@host/db"),
        ("DATABASE_URL", "sqlite://"),
        ("DATABASE_URL", "sqlite"),
        ("REMINDER_OFFSETS", ""),
        ("DEFAULT_LOCALE", "xx"),
        ("SEND_RATE", "31"),
        ("SEND_RATE", "0"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    message = str(caught.value)
    assert name in message
    assert "\n" not in message
    assert "secret" not in message


def test_empty_optional_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATOR_CHAT_ID", "")
    monkeypatch.setenv("TELEGRAM_API_URL", " ")
    settings = load_settings(None)
    assert settings.operator_chat_id is None
    assert settings.telegram_api_url is None


def test_a_settings_file_that_is_not_text_is_one_clear_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"LOG_LEVEL=\xff\xfe\x00\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(env_file)


def test_env_file_is_read_and_checked(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("INVITE_TTL_DAYS=14\nDEFAULT_TIMEZONE=Europe/Berlin\n")
    settings = load_settings(env_file)
    assert settings.invite_ttl_days == 14
    assert settings.default_timezone == "Europe/Berlin"
    env_file.write_text("INVITE_TTL_DAYS=fortnight\n")
    with pytest.raises(ConfigError, match="INVITE_TTL_DAYS"):
        load_settings(env_file)


def _stillpoint(
    args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    return subprocess.run(  # noqa: S603 -- our own CLI, fixed arguments
        [sys.executable, "-m", "bot", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_reports_a_wrong_type_in_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("QUIET_HOURS=late\n")
    result = _stillpoint(["run"], {}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "QUIET_HOURS" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_run_without_token_says_how_to_get_one(tmp_path: Path) -> None:
    result = _stillpoint(["run"], {}, tmp_path)
    assert result.returncode == 1
    assert "BOT_TOKEN" in result.stderr
    assert "BotFather" in result.stderr
    assert "Traceback" not in result.stderr
