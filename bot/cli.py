"""The ``stillpoint`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import messages
from bot import triage_rules
from bot.clock import SystemClock
from bot.domain.aftercare import CHANGES
from bot.domain.timing import CheckInSchedule, parse_clock_time, parse_duration
from bot.domain.triage import explanation, triage
from bot.domain.triage_lexicon import Lexicon
from bot.encryption import new_key
from bot.services.practice.practitioners import (
    InvalidRegistrationError,
    check_name,
    check_reminder_offsets,
    check_telegram_id,
    check_timezone,
)
from bot.settings import ConfigError, Settings, load_settings
from bot.triage_second_opinion import second_opinion

EXIT_USAGE = 2
EXIT_FAILURE = 1

T = TypeVar("T")
U = TypeVar("U")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("give a number of 1 or more")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stillpoint", description="Aftercare companion for bodywork practices, on Telegram."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the bot against Telegram (long polling)")
    updates = run.add_mutually_exclusive_group()
    updates.add_argument(
        "--webhook-url",
        metavar="URL",
        help="take updates by webhook at this public https address (needs WEBHOOK_SECRET; "
        "served on WEBHOOK_LISTEN:WEBHOOK_PORT)",
    )
    updates.add_argument(
        "--no-updates",
        action="store_true",
        help="take no updates: only send and run jobs (a worker beside the process that does)",
    )
    sandbox = commands.add_parser(
        "sandbox", help="run the bot against the built-in Telegram emulator"
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8080)
    sandbox.add_argument("--database", metavar="URL", help="database URL (default: a fresh SQLite)")
    sandbox.add_argument(
        "--limits",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="emulate Telegram's flood control (default: on)",
    )
    commands.add_parser(
        "demo", help="a scripted walk-through on the sandbox; prints the transcript"
    )
    commands.add_parser("migrate", help="bring the database schema to the newest version")
    stats = commands.add_parser(
        "stats", help="messages by delivery state, and how late they went out (JSON)"
    )
    stats.add_argument("--hours", type=float, default=24.0, help="lateness window (default 24)")
    triage_command = commands.add_parser(
        "triage",
        help="triage check-in replies: JSON lines in, JSON lines out",
        description='Read one JSON object per line on stdin, {"text": "...", "score": 7, '
        '"previous_score": 3} (scores optional, 0-10); write one line per input, '
        '{"level": "none|concern|urgent", "reasons": [...]} or {"error": "..."}. '
        "Needs no database and no settings.",
    )
    triage_command.add_argument(
        "--explain",
        action="store_true",
        help="add the findings behind each level: category, words, negation, time, who it "
        "is about, and what they came to",
    )
    triage_command.add_argument(
        "--locale",
        type=_triage_locale,
        default=triage_rules.DEFAULT_LOCALE,
        help=f"language of the replies: {', '.join(triage_rules.available_locales())} "
        f"(default {triage_rules.DEFAULT_LOCALE})",
    )
    _practitioner_parser(commands)
    return parser


def _triage_locale(text: str) -> str:
    """``--locale``: a language with triage rules (``de-AT`` counts as ``de``)."""
    base = text.replace("_", "-").split("-")[0].strip().lower()
    if base not in triage_rules.available_locales():
        known = ", ".join(triage_rules.available_locales())
        raise argparse.ArgumentTypeError(f"no triage rules for {text!r}; use one of {known}")
    return base


def _practitioner_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    keys = commands.add_parser("keys", help="data keys for client words and names at rest")
    keys.add_argument(
        "action",
        choices=["new", "rotate"],
        help="new: print a fresh data key; rotate: re-encrypt everything with the first key "
        "of DATA_KEY (start the bot with that ring first)",
    )
    keys.add_argument(
        "--batch", type=_positive_int, default=200, help="rows re-encrypted per commit"
    )
    erase = commands.add_parser(
        "erase", help="erase one client and everything kept about them, as /erase does"
    )
    erase.add_argument("--client-id", type=int, required=True, help="the client's id")
    calendar = commands.add_parser("calendar", help="follow a practitioner's own calendar")
    calendar_actions = calendar.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_calendar = calendar_actions.add_parser(
        "add", help="follow the calendar at this private iCal address, as /calendar does"
    )
    add_calendar.add_argument("--practitioner-id", type=int, required=True)
    add_calendar.add_argument("--url", required=True, help="the calendar's private address")
    import_calendar = calendar_actions.add_parser(
        "import", help="follow the events of one .ics file, once"
    )
    import_calendar.add_argument("--practitioner-id", type=int, required=True)
    import_calendar.add_argument("file", type=Path, metavar="FILE.ics")
    export = commands.add_parser(
        "export",
        help="one client's record to stdout: csv, one row per answer; json, everything kept",
    )
    export.add_argument("--client-id", type=int, required=True, help="the client's id")
    export.add_argument("--format", choices=["csv", "json"], required=True, dest="file_format")
    practitioner = commands.add_parser("practitioner", help="register and list practitioners")
    actions = practitioner.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="register a practitioner, or update the one with this Telegram id",
        description="Register a practitioner, or update the one with this Telegram id "
        "(then only the options given change).",
    )
    add.add_argument("--telegram-id", required=True, metavar="N", help="their Telegram user id")
    add.add_argument("--name", help="the name clients see (needed for a new practitioner)")
    add.add_argument(
        "--timezone", metavar="ZONE", help="e.g. Europe/Berlin (default: DEFAULT_TIMEZONE)"
    )
    add.add_argument(
        "--locale",
        help=f"{' or '.join(messages.available_locales())} (default: DEFAULT_LOCALE)",
    )
    add.add_argument(
        "--location", metavar="TEXT", help="where sessions take place, shown in reminders"
    )
    add.add_argument(
        "--reminders",
        metavar="OFFSETS",
        help="reminders before each session, e.g. 24h,2h; 'default' for REMINDER_OFFSETS",
    )
    add.add_argument(
        "--checkins",
        metavar="DAYS@TIME",
        help="check-in days after a session and local time, e.g. 1,3,7@10:00; "
        "'default' for CHECKIN_DAYS and CHECKIN_TIME",
    )
    add.add_argument(
        "--digest",
        metavar="on|off",
        help="yesterday's answers in the morning list (default: on)",
    )
    actions.add_parser("list", help="one line per practitioner: id, Telegram id, name, ...")


class _UsageError(Exception):
    """A command-line value is wrong; the message says which and why, in one line."""


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _registration(args: argparse.Namespace) -> dict[str, Any]:
    """The checked options of ``practitioner add``, ``None`` for those not given."""
    if not _INTEGER.fullmatch(args.telegram_id.strip()):
        raise _UsageError(f"--telegram-id: expected a number, got {args.telegram_id!r}")
    if args.locale is not None and args.locale not in messages.available_locales():
        known = ", ".join(messages.available_locales())
        raise _UsageError(f"--locale: unknown locale {args.locale!r}; use one of {known}")
    return {
        "telegram_id": _checked("--telegram-id", check_telegram_id, int(args.telegram_id)),
        "name": _checked("--name", check_name, args.name),
        "timezone": _checked("--timezone", check_timezone, args.timezone),
        "locale": args.locale,
        "location": args.location,
        "reminder_offsets_minutes": _checked("--reminders", _reminder_minutes, args.reminders),
        "checkins": _checked("--checkins", _checkins, args.checkins),
        "digest": _checked("--digest", _on_off, args.digest),
    }


def _checked(option: str, check: Callable[[T], U], value: T | None) -> U | None:
    """``check(value)``, or ``None`` if the option was not given; a ``ValueError`` from
    ``check`` becomes a usage error naming the option."""
    if value is None:
        return None
    try:
        return check(value)
    except ValueError as error:
        raise _UsageError(f"{option}: {error}") from None


def _reminder_minutes(text: str) -> tuple[int, ...]:
    """``24h,2h`` as minutes, largest first; ``default`` (the operator's offsets) as none."""
    if text.strip().lower() == "default":
        return ()
    offsets = [parse_duration(part) for part in text.split(",")]
    return check_reminder_offsets(int(offset.total_seconds()) // 60 for offset in offsets)


def _checkins(text: str) -> CheckInSchedule | Literal["default"]:
    """``1,3,7@10:00`` as a schedule; ``default`` for the operator's."""
    if text.strip().lower() == "default":
        return "default"
    days, separator, at = text.partition("@")
    if not separator:
        raise ValueError(f"expected days and a time such as 1,3,7@10:00, got {text!r}")
    try:
        numbers = tuple(int(day) for day in days.split(","))
    except ValueError:
        raise ValueError(f"days are whole numbers such as 1,3,7, got {days!r}") from None
    return CheckInSchedule(numbers, parse_clock_time(at.strip()))


def _on_off(text: str) -> bool:
    """``on`` or ``off``, in any case."""
    value = text.strip().lower()
    if value not in {"on", "off"}:
        raise ValueError(f"expected on or off, got {text!r}")
    return value == "on"


def _triage_lines(locale: str, *, explain: bool = False) -> int:
    """``stillpoint triage``: one JSON answer per stdin line, flushed as it goes."""
    lexicon = triage_rules.load_lexicon(locale)
    for line in _stdin_lines():
        answer = _triage_line(line, lexicon, explain=explain)
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def _stdin_lines() -> Iterator[str | None]:
    """Lines of stdin as UTF-8 text, whatever the terminal's encoding; ``None`` for a line
    that is not UTF-8."""
    binary = getattr(sys.stdin, "buffer", None)
    if binary is None:
        yield from sys.stdin
        return
    for raw in binary:
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            yield None


def _triage_line(line: str | None, lexicon: Lexicon, *, explain: bool) -> dict[str, Any]:
    """The answer to one input line: ``{"level", "reasons"}`` (and ``explain``) or
    ``{"error"}``."""
    if line is None:
        return {"error": "the line is not UTF-8 text"}
    if not line.strip():
        return {"error": "empty line; expected a JSON object"}
    try:
        item = json.loads(line.lstrip("\ufeff"))
    except json.JSONDecodeError as error:
        return {"error": f"not valid JSON: {error.msg} (column {error.colno})"}
    except RecursionError:
        return {"error": "not valid JSON: nested too deeply"}
    if not isinstance(item, dict):
        return {"error": "expected a JSON object"}
    if not isinstance(item.get("text"), str):
        return {"error": "text must be a string" if "text" in item else "text is missing"}
    for name in ("score", "previous_score"):
        value = item.get(name)
        if value is not None and (type(value) is not int or not 0 <= value <= 10):
            return {"error": f"{name} must be a whole number from 0 to 10, or null"}
    for name in ("change", "previous_change"):
        if item.get(name) is not None and item[name] not in CHANGES:
            return {"error": f"{name} must be one of {', '.join(CHANGES)}, or null"}
    previous = item.get("previous_score")
    result = triage(
        item["text"],
        item.get("score"),
        [] if previous is None else [previous],
        lexicon,
        change=item.get("change"),
        previous_changes=[item.get("previous_change")],
        second_opinion=second_opinion(),
    )
    answer: dict[str, Any] = {"level": result.level.value, "reasons": list(result.reasons)}
    if explain:
        answer["explain"] = explanation(result)
    return answer


def _print_new_key() -> int:
    """``stillpoint keys new``: a fresh data key, to keep where ``DATA_KEY`` can read it."""

    print(
        "# A new data key. Keep it secret and back it up: without it, what it encrypted\n"
        "# cannot be read. Put it first in DATA_KEY (older keys after it, comma-separated).\n"
        f"DATA_KEY={new_key(SystemClock().now())}"
    )
    return 0


def _command(
    args: argparse.Namespace, settings: Settings, registration: dict[str, Any]
) -> Coroutine[Any, Any, int] | None:
    """What running the parsed command means; ``None`` for no command."""
    from bot import launch  # noqa: PLC0415 -- keeps `stillpoint --help` fast

    match args.command:
        case "run":
            return launch.run(settings, webhook_url=args.webhook_url, no_updates=args.no_updates)
        case "sandbox":
            return launch.sandbox(settings, args.host, args.port, args.database, limits=args.limits)
        case "demo":
            return launch.demo(settings)
        case "migrate":
            return launch.migrate(settings)
        case "stats":
            return launch.stats(settings, timedelta(hours=args.hours))
        case "practitioner" if args.action == "add":
            return launch.practitioner_add(settings, **registration)
        case "practitioner":
            return launch.practitioner_list(settings)
        case "erase":
            return launch.erase(settings, args.client_id)
        case "calendar" if args.action == "add":
            return launch.calendar_add(settings, args.practitioner_id, args.url)
        case "calendar":
            return launch.calendar_import(settings, args.practitioner_id, args.file)
        case "export":
            return launch.export(settings, args.client_id, args.file_format)
        case "keys":
            return launch.keys_rotate(settings, args.batch)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the command, and return its exit status."""
    args = _parser().parse_args(argv)
    if args.command == "triage":  # needs no settings, .env or database
        return _triage_lines(args.locale, explain=args.explain)
    if args.command == "keys" and args.action == "new":  # needs no settings either
        return _print_new_key()
    try:
        adding = args.command == "practitioner" and args.action == "add"
        registration = _registration(args) if adding else {}
        settings = load_settings()
    except (_UsageError, ConfigError) as error:
        print(f"stillpoint: {error}", file=sys.stderr)
        return EXIT_USAGE
    from bot import launch  # noqa: PLC0415 -- keeps `stillpoint --help` fast

    try:
        command = _command(args, settings, registration)
        return EXIT_USAGE if command is None else asyncio.run(command)
    except InvalidRegistrationError as error:  # e.g. a new practitioner without --name
        print(f"stillpoint: {error}", file=sys.stderr)
        return EXIT_USAGE
    except launch.StartupError as error:
        print(f"stillpoint: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
