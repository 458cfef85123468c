"""The ``stillpoint`` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import timedelta

from bot.settings import ConfigError, load_settings

EXIT_USAGE = 2
EXIT_FAILURE = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stillpoint", description="Aftercare companion for bodywork practices, on Telegram."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the bot against Telegram (long polling)")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the command, and return its exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"stillpoint: {error}", file=sys.stderr)
        return EXIT_USAGE
    from bot import launch  # noqa: PLC0415 -- keeps `stillpoint --help` fast

    try:
        match args.command:
            case "run":
                return asyncio.run(launch.run(settings))
            case "sandbox":
                return asyncio.run(
                    launch.sandbox(
                        settings, args.host, args.port, args.database, limits=args.limits
                    )
                )
            case "demo":
                return asyncio.run(launch.demo(settings))
            case "migrate":
                return asyncio.run(launch.migrate(settings))
            case "stats":
                return asyncio.run(launch.stats(settings, timedelta(hours=args.hours)))
    except launch.StartupError as error:
        print(f"stillpoint: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
