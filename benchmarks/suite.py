"""``all``: every benchmark at its target sizes, on SQLite and PostgreSQL, and a table.

Sizes: burst 1000 with limits; burst 2000 without limits (throughput); scale
100,000 pending; chaos 2000 messages with 20 kills; two webhook replicas, burst 2000
with 200 clients writing and one replica restarted (PostgreSQL only); steady 600
messages over 120 s; the APScheduler baseline with the same burst and chaos runs (this
bot's side is the burst and chaos results above).
Triage latency: 40 clients writing words of crisis one every 0.5 s while 600 other chats
each have a routine message due. Flood: one client sends 200 messages in 5 s while others
write, tap and write words of crisis and 600 routine messages go out, then a backlog of
30 notices for one practitioner. Encryption at rest: triage to alert and booking, 200
times each with and without it. Insight: a chart of 60 check-ins drawn 50 times; 20
practitioners pressing Chart at once for 20 s while others are answered; the morning
lists of 200 practitioners with 50 clients each; matplotlib not loaded at start-up.
Calendar: 100 practitioners' 2,000-event calendars (weekly series of 12 weeks) synced from
cold, then read again unchanged, and other users' replies while the real bot syncs them.
What triage costs per reply, to load and in memory, in a process of its own so that its
memory is not mixed with the other runs' (once: it needs no database).
A benchmark that fails is reported as such and the others still run.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from benchmarks import (
    baseline,
    burst,
    calendar_sync,
    chaos,
    encryption,
    flood,
    insight,
    scale,
    steady,
    triage_latency,
)
from benchmarks.common import DEFAULT_POSTGRES_URL, progress
from bot.db.engine import check_database, create_engine
from bot.db.errors import DatabaseUnavailableError

ELAPSED_FACTOR = 1.15
STARTUP_S = 2.0
RSS_MB = 150.0
TICK_RATIO = 1.5
THROUGHPUT_PER_S = 500.0
CHAOS_UNCERTAIN_PER_KILL = 3
CHAOS_RECOVERY_S = 10.0
P99_MS = 1000.0
CRISIS_ANSWER_P99_S = 2.0
CRISIS_ALERT_P99_S = 5.0
TRIAGE_P99_MS = 5.0
FLOOD_OTHERS_P99_MS = 300.0
FLOOD_BACKLOG_ALERT_P99_S = 1.0
TRIAGE_RSS_INCREASE_MB = 150.0


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big each run is."""

    burst: int = 1000
    throughput: int = 2000
    pending: int = 100_000
    chaos: int = 2000
    kills: int = 20
    two_processes: int = 2000
    steady: int = 600
    steady_over_s: float = 120.0
    triage: int = 40  # clients who write words of crisis
    triage_background: int = 600  # other chats with a routine message due
    triage_practitioners: int = 20  # the clients' practitioners: two urgent alerts each
    triage_rounds: int = 5  # times each labelled reply is triaged
    flood: int = 200  # messages from the flooding client, in 5 s
    flood_background: int = 600
    encryption_rounds: int = 200  # operations per path, with and without encryption
    insight_renders: int = 50  # charts of 60 check-ins drawn and timed
    insight_over_s: float = 20.0  # 20 practitioners pressing Chart, beside others' replies
    insight_morning: int = 200  # practitioners with a morning list of 50 clients
    calendar_practitioners: int = 100  # calendars synced from cold, then unchanged
    calendar_events: int = 2000  # events in each
    calendar_over_s: float = 60.0  # at most this long replies are timed during the bot's sync


QUICK = Sizes(
    burst=60,
    throughput=300,
    pending=2000,
    chaos=120,
    kills=3,
    two_processes=120,
    steady=40,
    steady_over_s=10.0,
    triage=10,
    triage_background=100,
    triage_rounds=1,
    flood=40,
    flood_background=100,
    encryption_rounds=20,
    insight_renders=10,
    insight_over_s=6.0,
    insight_morning=20,
    calendar_practitioners=4,
    calendar_events=200,
    calendar_over_s=10.0,
)


def postgres_url(given: str | None) -> str:
    """The PostgreSQL server to use: as given, from the environment, or the local one."""
    return (
        given
        or os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or DEFAULT_POSTGRES_URL
    )


async def _reachable(url: str) -> str | None:
    """``None`` if the server answers, else why not."""
    engine = create_engine(url)
    try:
        await check_database(engine, within_seconds=3)
    except DatabaseUnavailableError as error:
        return str(error)
    finally:
        await engine.dispose()
    return None


async def _attempt(
    label: str, results: dict[str, Any], key: str, run: Callable[[], Awaitable[dict[str, Any]]]
) -> None:
    progress(f"=== {label}")
    started = time.monotonic()
    try:
        results[key] = await run()
    except Exception as error:  # one failed benchmark must not hide the others
        progress(f"{label} failed: {type(error).__name__}: {error}")
        results[key] = {"error": f"{type(error).__name__}: {error}"}
    progress(f"=== {label}: {time.monotonic() - started:.0f} s")


async def run_database(database: str | None, sizes: Sizes, seed: int) -> dict[str, Any]:
    """Every benchmark on one database; results by name."""
    name = "postgresql" if database else "sqlite"
    results: dict[str, Any] = {}
    await _attempt(
        f"{name}: burst {sizes.burst}",
        results,
        "burst",
        lambda: burst.run(sizes.burst, database=database),
    )
    await _attempt(
        f"{name}: burst {sizes.throughput} without limits",
        results,
        "throughput",
        lambda: burst.run(sizes.throughput, database=database, limits=False),
    )
    await _attempt(
        f"{name}: scale {sizes.pending}",
        results,
        "scale",
        lambda: scale.run(sizes.pending, database=database),
    )
    await _attempt(
        f"{name}: chaos {sizes.chaos}/{sizes.kills}",
        results,
        "chaos",
        lambda: chaos.run(sizes.chaos, sizes.kills, database=database, seed=seed),
    )
    if database:
        await _attempt(
            f"{name}: two processes, burst {sizes.two_processes}",
            results,
            "two_processes",
            lambda: burst.run(
                sizes.two_processes,
                database=database,
                processes=2,
                webhook=True,
                updates=sizes.two_processes // 10,
                restart=True,
            ),
        )
    await _attempt(
        f"{name}: steady {sizes.steady} over {sizes.steady_over_s:g} s",
        results,
        "steady",
        lambda: steady.run(sizes.steady, sizes.steady_over_s, database=database),
    )
    await _attempt(
        f"{name}: triage latency, {sizes.triage} clients, {sizes.triage_background} other chats",
        results,
        "triage",
        lambda: triage_latency.run(
            sizes.triage,
            sizes.triage_background,
            database=database,
            practitioners=sizes.triage_practitioners,
        ),
    )
    await _attempt(
        f"{name}: flood, {sizes.flood} messages from one client",
        results,
        "flood",
        lambda: flood.run(sizes.flood, background=sizes.flood_background, database=database),
    )
    await _attempt(
        f"{name}: encryption at rest, {sizes.encryption_rounds} rounds",
        results,
        "encryption",
        lambda: encryption.run(sizes.encryption_rounds, database=database),
    )
    await _attempt(
        f"{name}: insight, {sizes.insight_morning} morning lists",
        results,
        "insight",
        lambda: insight.run(
            renders=sizes.insight_renders,
            over_s=sizes.insight_over_s,
            morning_practitioners=sizes.insight_morning,
            database=database,
        ),
    )
    await _attempt(
        f"{name}: calendar, {sizes.calendar_practitioners} x {sizes.calendar_events} events",
        results,
        "calendar",
        lambda: calendar_sync.run(
            practitioners=sizes.calendar_practitioners,
            events=sizes.calendar_events,
            over_s=sizes.calendar_over_s,
            database=database,
        ),
    )
    ours = (results["burst"], results["chaos"])
    if any("error" in side for side in ours):
        results["baseline"] = {"error": "this bot's burst or chaos run failed"}
        return results
    await _attempt(
        f"{name}: baseline",
        results,
        "baseline",
        lambda: baseline.run(
            sizes.burst,
            sizes.kills,
            database=database,
            seed=seed,
            chaos_messages=sizes.chaos,
            ours=ours,
        ),
    )
    return results


async def triage_cost(rounds: int) -> dict[str, Any]:
    """``python -m benchmarks triage`` in a fresh process; its JSON result."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks",
        "triage",
        "--rounds",
        str(rounds),
        "--json",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the triage benchmark exited with {process.returncode}")
    result: dict[str, Any] = json.loads(out.decode().splitlines()[-1])
    return result


# --- the table -----------------------------------------------------------------------------


def _get(results: dict[str, Any], *path: str) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


Check = Callable[[dict[str, Any]], tuple[str, bool | None]]


def _triage_checks() -> list[tuple[str, str, Check]]:
    """The rows of the triage cost benchmark."""

    def triage_p99(r: dict[str, Any]) -> tuple[str, bool | None]:
        p99, replies = _get(r, "triage_cost", "p99_ms"), _get(r, "triage_cost", "replies")
        if p99 is None:
            return "-", None
        return f"{p99:g} ms ({replies} replies)", p99 <= TRIAGE_P99_MS

    def triage_load(r: dict[str, Any]) -> tuple[str, bool | None]:
        # Measured, with no target of its own: the 1 s target is for a model's load, and
        # there is no model; the rules load once, in a thread, while sending starts.
        return _num(_get(r, "triage_cost", "rules_load_s")) + " s", None

    def triage_rss(r: dict[str, Any]) -> tuple[str, bool | None]:
        value = _get(r, "triage_cost", "rss_increase_mb")
        return (_num(value) + " MB", None if value is None else value <= TRIAGE_RSS_INCREASE_MB)

    return [
        ("triage: p99 per reply (rules)", f"<= {TRIAGE_P99_MS:g} ms", triage_p99),
        ("triage: rules and dictionaries loaded (off the event loop)", "-", triage_load),
        ("triage: memory added", f"<= +{TRIAGE_RSS_INCREASE_MB:g} MB", triage_rss),
    ]


def _encryption_checks() -> list[tuple[str, str, Check]]:
    """The rows of the encryption cost benchmark."""

    def slowdown(label: str) -> Check:
        def check(r: dict[str, Any]) -> tuple[str, bool | None]:
            pct = _get(r, "encryption", f"{label}_slowdown_pct")
            if pct is None:
                return "-", None
            median = _get(r, "encryption", f"{label}_p50_ms")
            return f"{pct:+g}% (p50 {_num(median)} ms)", pct <= encryption.TARGET_SLOWDOWN_PCT

        return check

    target = f"<= +{encryption.TARGET_SLOWDOWN_PCT:g}%"
    return [
        ("encryption: triage to alert, slower by", target, slowdown("triage_to_alert")),
        ("encryption: booking, slower by", target, slowdown("booking")),
    ]


def _insight_checks(sizes: Sizes) -> list[tuple[str, str, Check]]:
    """The rows of the insight benchmark, met as the benchmark itself judged."""

    def insight_row(field: str, unit: str, beside: str = "", shown_beside: str = "") -> Check:
        def check(r: dict[str, Any]) -> tuple[str, bool | None]:
            met = _get(r, "insight", "met", field)
            if met is None:
                return "-", None
            value = _get(r, "insight", field)
            shown = ("yes" if value else "no") if isinstance(value, bool) else _num(value)
            shown += unit
            if beside:
                shown += " (" + shown_beside.format(_num(_get(r, "insight", beside))) + ")"
            return shown, met

        return check

    return [
        (
            f"insight: chart of {insight.DEFAULT_CHECKINS} check-ins, p99",
            f"<= {insight.TARGET_CHART_P99_MS:g} ms",
            insight_row("chart_p99_ms", " ms"),
        ),
        (
            f"insight: replies beside {insight.DEFAULT_PRACTITIONERS} charts at once, p99",
            f"<= {insight.TARGET_REPLY_DELAY_P99_MS:g} ms",
            insight_row("reply_delay_p99_ms", " ms", "quiet_reply_p99_ms", "{} ms without charts"),
        ),
        (
            f"insight: {sizes.insight_morning} morning lists x "
            f"{insight.DEFAULT_MORNING_CLIENTS} clients",
            f"<= {insight.TARGET_MORNING_BUILD_S:g} s",
            insight_row("morning_build_s", " s", "morning_lists", "{} lists"),
        ),
        (
            "insight: matplotlib loaded at start-up",
            "no",
            insight_row("matplotlib_loaded_at_start", ""),
        ),
    ]


def _calendar_checks(sizes: Sizes) -> list[tuple[str, str, Check]]:
    """The rows of the calendar benchmark, met as the benchmark itself judged."""

    def calendar_row(field: str, show: Callable[[dict[str, Any]], str]) -> Check:
        def check(r: dict[str, Any]) -> tuple[str, bool | None]:
            met = _get(r, "calendar", "met", field)
            if met is None:
                return "-", None
            return show(r["calendar"]), met

        return check

    def unchanged(c: dict[str, Any]) -> str:
        return (
            f"{_num(c.get('unchanged_requests'))} requests, "
            f"{_num(c.get('unchanged_not_modified'))} answered 304"
        )

    def replies(c: dict[str, Any]) -> str:
        return (
            f"{_num(c.get('reply_p99_ms'))} ms ({_num(c.get('reply_sync_calendars'))} "
            f"calendars synced; {_num(c.get('quiet_reply_p99_ms'))} ms before)"
        )

    size = f"{sizes.calendar_practitioners} calendars x {sizes.calendar_events} events"
    return [
        (
            f"calendar: {size} from cold, wall",
            f"<= {calendar_sync.TARGET_WALL_S:g} s",
            calendar_row("wall_s", lambda c: f"{_num(c.get('wall_s'))} s"),
        ),
        (
            "calendar: from cold, CPU",
            f"<= {calendar_sync.TARGET_CPU_S:g} s",
            calendar_row(
                "cpu_s",
                lambda c: f"{_num(c.get('cpu_s'))} s ({_num(c.get('parse_cpu_s'))} s parsing)",
            ),
        ),
        (
            "calendar: unchanged, requests",
            "1 conditional each",
            calendar_row("unchanged_requests", unchanged),
        ),
        (
            "calendar: unchanged, parses",
            f"{calendar_sync.TARGET_UNCHANGED_PARSES}",
            calendar_row("unchanged_parses", lambda c: _num(c.get("unchanged_parses"))),
        ),
        (
            "calendar: others' replies during a sync, p99",
            f"<= {calendar_sync.TARGET_REPLY_P99_MS:g} ms",
            calendar_row("reply_p99_ms", replies),
        ),
    ]


def _flood_checks(sizes: Sizes) -> list[tuple[str, str, Check]]:
    """The rows of the flood benchmark."""

    def flood_p99(field: str, target: float, unit: str) -> Check:
        def check(r: dict[str, Any]) -> tuple[str, bool | None]:
            value = _get(r, "flood", field)
            if value is None:
                return "-", None
            finished = _get(r, "flood", "finished") is True
            return f"{value:g} {unit}", finished and value <= target

        return check

    def flood_words(r: dict[str, Any]) -> tuple[str, bool | None]:
        logged = _get(r, "flood", "flooder_words_logged")
        if logged is None:
            return "-", None
        return f"{logged}/{sizes.flood}", logged == sizes.flood

    return [
        (
            f"flood {sizes.flood}: others' replies p99",
            f"<= {FLOOD_OTHERS_P99_MS:g} ms",
            flood_p99("others_reply_p99_ms", FLOOD_OTHERS_P99_MS, "ms"),
        ),
        (
            "flood: others' button answers p99",
            f"<= {FLOOD_OTHERS_P99_MS:g} ms",
            flood_p99("callback_answer_p99_ms", FLOOD_OTHERS_P99_MS, "ms"),
        ),
        (
            "flood: crisis answer p99",
            f"<= {CRISIS_ANSWER_P99_S:g} s",
            flood_p99("crisis_reply_p99_s", CRISIS_ANSWER_P99_S, "s"),
        ),
        (
            "flood: urgent alert p99",
            f"<= {CRISIS_ALERT_P99_S:g} s",
            flood_p99("alert_p99_s", CRISIS_ALERT_P99_S, "s"),
        ),
        ("flood: the flooder's words stored", "all", flood_words),
        (
            "flood: alert behind another chat's backlog, p99",
            f"<= {FLOOD_BACKLOG_ALERT_P99_S:g} s",
            flood_p99("backlog_alert_p99_s", FLOOD_BACKLOG_ALERT_P99_S, "s"),
        ),
    ]


def _two_replicas(sizes: Sizes, r: dict[str, Any]) -> tuple[str, bool | None]:
    """The two webhook replicas' burst: nothing twice, no 409, no update lost, /metrics right."""
    dup = _get(r, "two_processes", "duplicates")
    if dup is None:
        return "-", None
    delivered, n429 = (
        _get(r, "two_processes", "delivered"),
        _get(r, "two_processes", "http_429"),
    )
    n409, lost_updates = (
        _get(r, "two_processes", "http_409"),
        _get(r, "two_processes", "lost_updates"),
    )
    counted = _get(r, "two_processes", "metrics_match")
    return (
        f"dup {dup}, {delivered}/{sizes.two_processes}, 429s {n429}, 409s {n409}, "
        f"lost updates {lost_updates}, /metrics = emulator: {counted}",
        dup == 0 and n409 == 0 and lost_updates == 0 and counted is True,
    )


def _recovery(r: dict[str, Any]) -> tuple[str, bool | None]:
    """Chaos: the longest time until a kill's claims were freed."""
    longest = _get(r, "chaos", "recovery_s_max")
    if longest is None:
        return "-", None
    return f"{_num(longest)} s", longest <= CHAOS_RECOVERY_S


def _checks(sizes: Sizes) -> list[tuple[str, str, Check]]:
    """(measure, target, check) rows; a check gives the shown value and whether it passed."""

    def burst_all(r: dict[str, Any]) -> tuple[str, bool | None]:
        delivered, dup, n429 = (
            _get(r, "burst", k) for k in ("delivered", "duplicates", "http_429")
        )
        if delivered is None:
            return "-", None
        ok = delivered == sizes.burst and dup == 0 and n429 == 0
        return f"{delivered}/{sizes.burst}, dup {dup}, 429s {n429}", ok

    def burst_time(r: dict[str, Any]) -> tuple[str, bool | None]:
        elapsed, limit = _get(r, "burst", "elapsed_s"), _get(r, "burst", "limit_s")
        if elapsed is None or limit is None:
            return "-", None
        return f"{elapsed:.1f} s = {elapsed / limit:.3f} x", elapsed <= ELAPSED_FACTOR * limit

    def throughput(r: dict[str, Any]) -> tuple[str, bool | None]:
        # The target is the dispatcher's own CPU cost: messages per CPU second of the bot
        # process with a notifier that answers at once. End to end (PTB's HTTP client and
        # the emulator on the same cores) is shown beside it.
        cpu = _get(r, "throughput", "dispatcher_cpu_per_s")
        wall = _get(r, "throughput", "dispatcher_only_per_s")
        end_to_end = _get(r, "throughput", "messages_per_s")
        shown = f"{_num(cpu)}/CPU s ({_num(wall)}/s; via HTTP {_num(end_to_end)}/s)"
        if cpu is None or _get(r, "throughput", "database") != "sqlite":
            return shown, None  # the target is for SQLite
        return shown, cpu >= THROUGHPUT_PER_S

    def startup(r: dict[str, Any]) -> tuple[str, bool | None]:
        value = _get(r, "scale", "startup_to_first_send_s")
        return (_num(value) + " s", None if value is None else value <= STARTUP_S)

    def rss(r: dict[str, Any]) -> tuple[str, bool | None]:
        value = _get(r, "scale", "rss_peak_mb")
        return (_num(value) + " MB", None if value is None else value <= RSS_MB)

    def tick(r: dict[str, Any]) -> tuple[str, bool | None]:
        ratio = _get(r, "scale", "tick_ratio")
        large, small = _get(r, "scale", "tick_ms"), _get(r, "scale", "tick_ms_1k")
        return (
            f"{_num(large)} / {_num(small)} ms = {_num(ratio)}",
            None if ratio is None else ratio <= TICK_RATIO,
        )

    def chaos_loss(r: dict[str, Any]) -> tuple[str, bool | None]:
        lost, dup = _get(r, "chaos", "lost_silently"), _get(r, "chaos", "duplicates")
        if lost is None:
            return "-", None
        return f"lost {lost}, dup {dup}", lost == 0 and dup == 0

    def chaos_uncertain(r: dict[str, Any]) -> tuple[str, bool | None]:
        uncertain, kills = _get(r, "chaos", "uncertain"), _get(r, "chaos", "kills")
        worst = _get(r, "chaos", "in_flight_at_kill_max")
        if uncertain is None or kills is None:
            return "-", None
        return (
            f"{uncertain} ({kills} kills, max {worst} in flight at a kill)",
            uncertain <= CHAOS_UNCERTAIN_PER_KILL * max(kills, 1)
            and worst is not None
            and worst <= CHAOS_UNCERTAIN_PER_KILL,
        )

    def p99(r: dict[str, Any]) -> tuple[str, bool | None]:
        bot, seen = _get(r, "steady", "p99_ms"), _get(r, "steady", "arrival_p99_ms")
        if bot is None:
            return "-", None
        return f"{bot:g} ms (arrival {_num(seen)})", max(bot, seen or 0) <= P99_MS

    def crisis(latency: str, count: str, target: float) -> Check:
        """p99 of ``latency`` (``client`` or ``alert``); met only if all ``count`` came."""

        def check(r: dict[str, Any]) -> tuple[str, bool | None]:
            p99, got = _get(r, "triage", f"{latency}_p99_s"), _get(r, "triage", count)
            if got is None:
                return "-", None
            shown = f"{_num(p99)} s ({got}/{sizes.triage})"
            return shown, p99 is not None and got == sizes.triage and p99 <= target

        return check

    def versus_loss(r: dict[str, Any]) -> tuple[str, bool | None]:
        ours = _get(r, "baseline", "ours", "lost_silently")
        theirs = _get(r, "baseline", "apscheduler", "lost_silently")
        if ours is None or theirs is None:
            return "-", None
        return f"{ours} vs {theirs}", ours < theirs or ours == theirs == 0

    def versus_burst(r: dict[str, Any]) -> tuple[str, bool | None]:
        ours = _get(r, "baseline", "ours", "elapsed_s")
        theirs = _get(r, "baseline", "apscheduler", "elapsed_s")
        if ours is None or theirs is None:
            return "-", None
        ours_ok = _get(r, "baseline", "ours", "delivered") == sizes.burst
        return f"{ours:.1f} s vs {theirs:.1f} s", ours_ok and ours <= theirs * 1.02

    return [
        (f"burst {sizes.burst}: delivered, duplicates, 429s", "all, 0, 0", burst_all),
        (f"burst {sizes.burst}: elapsed / limit_s", f"<= {ELAPSED_FACTOR} x", burst_time),
        ("dispatcher, limits off", f">= {THROUGHPUT_PER_S:g}/s (SQLite)", throughput),
        (f"scale {sizes.pending}: first send", f"<= {STARTUP_S:g} s", startup),
        (f"scale {sizes.pending}: peak RSS", f"<= {RSS_MB:g} MB", rss),
        (f"scale {sizes.pending}: tick / tick at 1k", f"<= {TICK_RATIO} x", tick),
        (f"chaos {sizes.chaos}/{sizes.kills}: lost silently, dup", "0, 0", chaos_loss),
        ("chaos: uncertain", f"<= {CHAOS_UNCERTAIN_PER_KILL} per kill", chaos_uncertain),
        ("chaos: longest recovery", f"<= {CHAOS_RECOVERY_S:g} s", _recovery),
        (
            f"2 webhook replicas, burst {sizes.two_processes}, one restarted",
            "0 duplicates, 0 409s, 0 lost updates",
            partial(_two_replicas, sizes),
        ),
        (f"steady {sizes.steady}/{sizes.steady_over_s:g} s: p99", f"<= {P99_MS:g} ms", p99),
        (
            f"crisis {sizes.triage} + {sizes.triage_background} busy: answer p99",
            f"<= {CRISIS_ANSWER_P99_S:g} s",
            crisis("client", "answered", CRISIS_ANSWER_P99_S),
        ),
        (
            f"crisis {sizes.triage}: practitioner alert p99",
            f"<= {CRISIS_ALERT_P99_S:g} s",
            crisis("alert", "alerted", CRISIS_ALERT_P99_S),
        ),
        *_triage_checks(),
        *_flood_checks(sizes),
        *_encryption_checks(),
        *_insight_checks(sizes),
        *_calendar_checks(sizes),
        ("baseline: lost silently, ours vs APS", "ours fewer", versus_loss),
        ("baseline: burst elapsed, ours vs APS", "not slower", versus_burst),
    ]


def _mark(ok: bool | None) -> str:
    return {True: "met", False: "MISSED", None: ""}[ok]


def table(results: dict[str, dict[str, Any]], sizes: Sizes) -> tuple[str, list[dict[str, Any]]]:
    """The results as a text table, and the same verdicts as JSON rows."""
    databases = list(results)
    header = ["measure", "target", *[f"{db}" for db in databases]]
    rows: list[list[str]] = []
    verdicts: list[dict[str, Any]] = []
    for measure, target, check in _checks(sizes):
        cells = [measure, target]
        verdict: dict[str, Any] = {"measure": measure, "target": target}
        for db in databases:
            shown, ok = check(results[db])
            if ok is None and shown == "-":
                cells.append("-")
            else:
                cells.append(f"{shown} {_mark(ok)}".strip())
            verdict[db] = {"value": shown, "met": ok}
        rows.append(cells)
        verdicts.append(verdict)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)]), verdicts


async def run(*, postgres: str | None, quick: bool = False) -> dict[str, Any]:
    """Run everything on SQLite, then on PostgreSQL if it answers; results and a table."""
    sizes = QUICK if quick else Sizes()
    seed = secrets.randbits(32)
    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {"sqlite": await run_database(None, sizes, seed)}
    await _attempt(
        "triage cost", results["sqlite"], "triage_cost", lambda: triage_cost(sizes.triage_rounds)
    )
    notes = []
    if postgres is not None:
        problem = await _reachable(postgres)
        if problem is None:
            results["postgresql"] = await run_database(postgres, sizes, seed)
        else:
            notes.append(f"PostgreSQL skipped: {problem}")
            progress(notes[-1])
    text, verdicts = table(results, sizes)
    if notes:
        text += "\n" + "\n".join(notes)
    return {
        "benchmark": "all",
        "seed": seed,
        "seconds": round(time.monotonic() - started),
        "results": results,
        "targets": verdicts,
        "notes": notes,
        "table": text,
    }
