"""``python -m benchmarks <name> [options] [--json]``: run one benchmark, or ``all`` of them."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

from benchmarks.calendar_data import COURSE_WEEKS
from benchmarks.common import progress

DATABASE_HELP = (
    "a PostgreSQL server URL (a scratch database is created on it and dropped); "
    "default: a fresh SQLite file in a temporary folder"
)


def _insight_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--checkins", type=int, default=60, help="answered check-ins a chart shows")
    sub.add_argument("--renders", type=int, default=50, help="charts drawn and timed")
    sub.add_argument(
        "--practitioners", type=int, default=20, help="practitioners pressing Chart at once"
    )
    sub.add_argument(
        "--over", type=float, default=20.0, metavar="S", help="seconds they keep pressing"
    )
    sub.add_argument(
        "--morning-practitioners", type=int, default=200, help="practitioners with a morning list"
    )
    sub.add_argument("--morning-clients", type=int, default=50, help="clients each")
    sub.add_argument("--database", metavar="URL", help=DATABASE_HELP)


def _burst_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--messages", type=int, default=1000)
    sub.add_argument("--processes", type=int, default=1, help="bot processes (PostgreSQL)")
    sub.add_argument(
        "--limits",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Telegram's flood control in the emulator (and the bot's pacing); default on",
    )
    sub.add_argument("--database", metavar="URL", help=DATABASE_HELP)
    sub.add_argument(
        "--webhook",
        action="store_true",
        help="the processes take updates by webhook behind a round-robin load balancer",
    )
    sub.add_argument(
        "--updates", type=int, default=200, help="with --webhook: clients writing meanwhile"
    )
    sub.add_argument(
        "--restart", action="store_true", help="with --webhook: restart one replica mid-burst"
    )


def _calendar_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--practitioners", type=int, default=100, help="calendars followed")
    sub.add_argument("--events", type=int, default=2000, help="events in each calendar")
    sub.add_argument("--clients", type=int, default=50, help="clients of each practitioner")
    sub.add_argument(
        "--named-every",
        type=int,
        default=3,
        metavar="N",
        help="every N-th event (with its repeats) names a client; the rest are questions",
    )
    series = sub.add_mutually_exclusive_group()
    series.add_argument(
        "--course-weeks",
        type=int,
        default=COURSE_WEEKS,
        metavar="N",
        help=f"weekly series end N weeks after their first session (default {COURSE_WEEKS})",
    )
    series.add_argument(
        "--endless-series",
        action="store_true",
        help="weekly series never end (a stress load: 37 events a day ahead)",
    )
    sub.add_argument(
        "--over",
        type=float,
        default=60.0,
        metavar="S",
        help="at most this long the bot's sync is watched while replies are timed",
    )
    sub.add_argument(
        "--profile",
        metavar="FILE",
        help="write a cProfile of the first sync to FILE (slower: for where the time goes)",
    )
    sub.add_argument("--database", metavar="URL", help=DATABASE_HELP)


def _all_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--postgres",
        metavar="URL",
        help="the PostgreSQL server (default: BENCH_DATABASE_URL, TEST_DATABASE_URL, "
        "or the local server on 127.0.0.1:5432)",
    )
    sub.add_argument("--no-postgres", action="store_true", help="SQLite only")
    sub.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmarks of Stillpoint's delivery engine against the Bot API emulator.",
    )
    names = parser.add_subparsers(dest="name", required=True, metavar="NAME")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = names.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--json", action="store_true", help="print the result as one JSON line")
        return sub

    _burst_options(add("burst", "N messages due at the same instant to N chats"))

    scale = add("scale", "start-up, memory and tick time with N pending rows")
    scale.add_argument("--pending", type=int, default=100_000)
    scale.add_argument("--database", metavar="URL", help=DATABASE_HELP)

    chaos = add("chaos", "SIGKILL the bot K times while it sends N messages")
    chaos.add_argument("--messages", type=int, default=2000)
    chaos.add_argument("--kills", type=int, default=20)
    chaos.add_argument("--seed", type=int, default=None, help="for the random kill moments")
    chaos.add_argument("--database", metavar="URL", help=DATABASE_HELP)

    baseline = add("baseline", "burst and chaos for this bot and an APScheduler job-store bot")
    baseline.add_argument("--messages", type=int, default=1000)
    baseline.add_argument("--kills", type=int, default=20)
    baseline.add_argument(
        "--chaos-messages", type=int, default=None, help="messages in the chaos runs (default N)"
    )
    baseline.add_argument("--seed", type=int, default=None)
    baseline.add_argument("--database", metavar="URL", help=DATABASE_HELP)

    steady = add("steady", "N messages due spread over S seconds: lateness p50/p99")
    steady.add_argument("--messages", type=int, default=600)
    steady.add_argument("--over", type=float, default=120.0, metavar="S")
    steady.add_argument("--database", metavar="URL", help=DATABASE_HELP)

    triage = add(
        "triage-latency",
        "N clients write words of crisis while M other chats are busy: answer and alert p99",
    )
    triage.add_argument("--messages", type=int, default=40, help="clients in crisis")
    triage.add_argument("--background", type=int, default=600, help="other chats with a message")
    triage.add_argument(
        "--interval", type=float, default=0.5, metavar="S", help="seconds between the clients"
    )
    triage.add_argument(
        "--practitioners",
        type=int,
        default=20,
        help="practitioners the clients are spread over (default 20)",
    )
    triage.add_argument("--database", metavar="URL", help=DATABASE_HELP)

    flood = add("flood", "one user floods while others are served: replies, presses, crises")
    flood.add_argument("--messages", type=int, default=200, help="messages from the flooder")
    flood.add_argument("--over", type=float, default=5.0, metavar="S", help="seconds they take")
    flood.add_argument("--background", type=int, default=600, help="other chats with a message")
    flood.add_argument(
        "--backlog", type=int, default=30, help="notices queued for one practitioner (phase two)"
    )
    flood.add_argument("--database", metavar="URL", help=DATABASE_HELP)
    _insight_options(
        add("insight", "chart drawing, charts beside other replies, morning lists, start-up")
    )
    cost = add("triage", "per-reply cost of triage on every corpus line, load time and memory")
    cost.add_argument("--rounds", type=int, default=5, help="times each line is triaged")

    encryption = add(
        "encryption", "triage-to-alert and booking with and without encryption at rest"
    )
    encryption.add_argument("--rounds", type=int, default=200, help="operations per path and mode")
    encryption.add_argument("--clients", type=int, default=100, help="clients in each practice")
    encryption.add_argument("--database", metavar="URL", help=DATABASE_HELP)

    _calendar_options(
        add(
            "calendar",
            "practitioners' calendars synced from cold and unchanged; replies during a sync",
        )
    )

    _all_options(add("all", "every benchmark at its target sizes, on SQLite and PostgreSQL"))
    return parser


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    match args.name:
        case "burst":
            from benchmarks import burst  # noqa: PLC0415 -- each benchmark loads what it needs

            return await burst.run(
                args.messages,
                database=args.database,
                processes=args.processes,
                limits=args.limits,
                webhook=args.webhook,
                updates=args.updates if args.webhook else 0,
                restart=args.restart,
            )
        case "scale":
            from benchmarks import scale  # noqa: PLC0415

            return await scale.run(args.pending, database=args.database)
        case "chaos":
            from benchmarks import chaos  # noqa: PLC0415

            return await chaos.run(
                args.messages, args.kills, database=args.database, seed=args.seed
            )
        case "baseline":
            from benchmarks import baseline  # noqa: PLC0415

            return await baseline.run(
                args.messages,
                args.kills,
                database=args.database,
                seed=args.seed,
                chaos_messages=args.chaos_messages,
            )
        case "steady":
            from benchmarks import steady  # noqa: PLC0415

            return await steady.run(args.messages, args.over, database=args.database)
        case "triage-latency":
            from benchmarks import triage_latency  # noqa: PLC0415

            return await triage_latency.run(
                args.messages,
                args.background,
                database=args.database,
                interval_s=args.interval,
                practitioners=args.practitioners,
            )
        case "flood":
            from benchmarks import flood  # noqa: PLC0415

            return await flood.run(
                args.messages,
                over_s=args.over,
                background=args.background,
                backlog=args.backlog,
                database=args.database,
            )
        case "insight":
            from benchmarks import insight  # noqa: PLC0415

            return await insight.run(
                checkins=args.checkins,
                renders=args.renders,
                practitioners=args.practitioners,
                over_s=args.over,
                morning_practitioners=args.morning_practitioners,
                morning_clients=args.morning_clients,
                database=args.database,
            )
        case "triage":
            from benchmarks import triage  # noqa: PLC0415

            return await triage.run(args.rounds)
        case "encryption":
            from benchmarks import encryption  # noqa: PLC0415

            return await encryption.run(args.rounds, args.clients, database=args.database)
        case "calendar":
            from benchmarks import calendar_sync  # noqa: PLC0415

            return await calendar_sync.run(
                practitioners=args.practitioners,
                events=args.events,
                clients=args.clients,
                named_every=args.named_every,
                course_weeks=None if args.endless_series else args.course_weeks,
                over_s=args.over,
                database=args.database,
                profile=args.profile,
            )
        case "all":
            from benchmarks import suite  # noqa: PLC0415

            return await suite.run(
                postgres=None if args.no_postgres else suite.postgres_url(args.postgres),
                quick=args.quick,
            )
    raise ValueError(f"no benchmark named {args.name!r}")


def _show(result: dict[str, Any]) -> str:
    if "table" in result:
        return str(result["table"])
    return "\n".join(f"{key}: {json.dumps(value)}" for key, value in result.items())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark named on the command line; the result goes to stdout."""
    args = _parser().parse_args(argv)
    try:
        result = asyncio.run(_run(args))
    except (ValueError, RuntimeError, TimeoutError) as error:
        progress(f"{args.name} failed: {error}")
        return 1
    except KeyboardInterrupt:
        return 130
    if args.json:
        if "table" in result:
            print(result["table"], flush=True)
            result = {k: v for k, v in result.items() if k != "table"}
        print(json.dumps(result, separators=(",", ":")), flush=True)
    else:
        print(_show(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
