"""How flags look: the alert with the client's words, its buttons, list lines and history.

Everything here builds ``Text`` values (catalog keys with JSON parameters), so an alert
keeps in an outbox row and is rendered in the reader's language when it is sent. A
client's words are always a parameter: the renderer escapes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain import callbacks
from bot.domain.aftercare import BODY_AREAS, CHANGES
from bot.domain.callbacks import FlagAction
from bot.domain.models import CheckIn, Client, Flag, Reply, TriageLevel
from bot.domain.outgoing import Button, Text
from bot.domain.text_params import embed, when
from bot.domain.trend import Answers

Rows = tuple[tuple[Button, ...], ...]

WORDS_LIMIT = 2500
"""The most of a client's words an alert quotes, in UTF-16 code units (Telegram's measure).

With the name, six reasons and the facts, an alert (even repeated) stays under 4096."""
HISTORY_WORDS_LIMIT = 200
"""The most of a client's words one history entry quotes."""
ALERT_REASONS = 6
LIST_REASONS = 2
REASON_LIMIT = 120
"""Reasons come from triage rules, not from clients; they are still bounded, so that a
long list cannot push an alert past Telegram's limit."""


def utf16_units(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def shorten(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` UTF-16 units (at a character), and whether it was."""
    if utf16_units(text) <= limit:
        return text, False
    used, end = 0, 0
    for end, char in enumerate(text):  # noqa: B007 -- ``end`` is read after the loop
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            break
    return text[:end].rstrip(), True


def quoted(words: str, limit: int) -> dict[str, Any]:
    """The client's words in a quote block, shortened to ``limit`` with a mark if cut."""
    shown, cut = shorten(words.strip(), limit)
    return embed(Text("flag.words_cut" if cut else "flag.words", {"words": shown}))


def level_text(level: TriageLevel) -> dict[str, Any]:
    """The level's label, with its colour mark."""
    return embed(Text(f"flag.level_{level}"))


def reason_lines(reasons: Sequence[str], limit: int) -> list[dict[str, Any]]:
    """One bullet line per reason (at most ``limit``), each bounded in length."""
    shown = [shorten(reason, REASON_LIMIT)[0] for reason in reasons[:limit]]
    lines = [embed(Text("flag.reason", {"reason": reason})) for reason in shown]
    if len(reasons) > limit:
        lines.append(embed(Text("flag.more_reasons", {"count": len(reasons) - limit})))
    return lines


def score_fact(score: int | None, previous_score: int | None) -> dict[str, Any] | None:
    """ "Discomfort 7/10, up from 3", or ``None`` without a score."""
    if score is None:
        return None
    if previous_score is None:
        return embed(Text("flag.score", {"score": score}))
    if score > previous_score:
        key = "flag.score_up"
    elif score < previous_score:
        key = "flag.score_down"
    else:
        key = "flag.score_same"
    return embed(Text(key, {"score": score, "previous": previous_score}))


def change_fact(change: str | None) -> dict[str, Any] | None:
    """ "Compared with before the session: worse", or ``None`` if not answered."""
    if change not in CHANGES:
        return None
    return embed(Text("flag.change", {"change": embed(Text(f"flag.change_{change}"))}))


def areas_fact(areas: Sequence[str]) -> dict[str, Any] | None:
    """ "Body areas: neck, chest", or ``None`` if none were picked."""
    listed = areas_list(areas)
    return None if listed is None else embed(Text("flag.areas", {"areas": listed}))


def areas_list(areas: Sequence[str]) -> dict[str, Any] | None:
    """ "neck, chest", or ``None`` if none were picked."""
    known = [area for area in areas if area in BODY_AREAS]
    if not known:
        return None
    # A chain of "{area}, {more}" texts: the catalog decides the separator.
    listed: dict[str, Any] = embed(Text(f"flag.area_{known[-1]}"))
    for area in reversed(known[:-1]):
        listed = embed(
            Text("flag.areas_more", {"area": embed(Text(f"flag.area_{area}")), "more": listed})
        )
    return listed


def alert_text(
    client: Client,
    level: TriageLevel,
    reasons: Sequence[str],
    *,
    score: int | None,
    previous_score: int | None,
    change: str | None,
    words: str | None,
) -> Text:
    """The practitioner's alert: name, level, reasons, score and change, the words quoted."""
    lines = reason_lines(reasons, ALERT_REASONS)
    lines += [
        fact
        for fact in (score_fact(score, previous_score), change_fact(change))
        if fact is not None
    ]
    if words and words.strip():
        lines.append(quoted(words, WORDS_LIMIT))
    return Text(
        "flag.alert", {"level": level_text(level), "client": client.full_name, "lines": lines}
    )


def again_text(alert: Text, minutes: int) -> Text:
    """The alert once more, saying it is still not acknowledged."""
    return Text("flag.again", {"minutes": minutes, "alert": embed(alert)})


def backup_text(
    practitioner_name: str, client: Client, level: TriageLevel, reasons: Sequence[str], minutes: int
) -> Text:
    """What the backup contact gets: who, how serious, why; never the client's words."""
    return Text(
        "flag.backup",
        {**_backup_params(practitioner_name, client, level, reasons), "minutes": minutes},
    )


def undelivered_text(
    practitioner_name: str, client: Client, level: TriageLevel, reasons: Sequence[str]
) -> Text:
    """What the backup contact gets when the alert could not reach the practitioner."""
    return Text(
        "flag.backup_undelivered", _backup_params(practitioner_name, client, level, reasons)
    )


def _backup_params(
    practitioner_name: str, client: Client, level: TriageLevel, reasons: Sequence[str]
) -> dict[str, Any]:
    return {
        "practitioner": practitioner_name,
        "client": client.full_name,
        "level": level_text(level),
        "lines": reason_lines(reasons, ALERT_REASONS),
    }


def flag_buttons(flag_id: int, *, acknowledged: bool = False) -> Rows:
    """Acknowledge (while open), Reply, History."""
    row = [
        Button(Text("flag.button_reply"), callbacks.flag(flag_id, FlagAction.REPLY)),
        Button(Text("flag.button_history"), callbacks.flag(flag_id, FlagAction.HISTORY)),
    ]
    if not acknowledged:
        row.insert(
            0, Button(Text("flag.button_ack"), callbacks.flag(flag_id, FlagAction.ACKNOWLEDGE))
        )
    return (tuple(row),)


def numbered_buttons(number: int, flag: Flag, client: Client) -> tuple[Button, ...]:
    """One row of a list: ✅ <n. client>, ✉️ <n>, 📋 <n>."""
    return (
        Button(
            Text("flag.button_ack_numbered", {"number": number, "client": client.full_name}),
            callbacks.flag(flag.id, FlagAction.ACKNOWLEDGE),
        ),
        Button(
            Text("flag.button_reply_numbered", {"number": number}),
            callbacks.flag(flag.id, FlagAction.REPLY),
        ),
        Button(
            Text("flag.button_history_numbered", {"number": number}),
            callbacks.flag(flag.id, FlagAction.HISTORY),
        ),
    )


def flag_line(number: int, flag: Flag, client: Client, timezone: str) -> dict[str, Any]:
    """One numbered entry of ``/flags`` or the morning list: level, client, since, reasons."""
    return embed(
        Text(
            "flag.line",
            {
                "number": number,
                "level": level_text(flag.level),
                "client": client.full_name,
                "when": when(flag.created_at, timezone, "short_datetime"),
                "lines": reason_lines(flag.reasons, LIST_REASONS),
            },
        )
    )


def history_entry(checkin: CheckIn, replies: Sequence[Reply], timezone: str) -> dict[str, Any]:
    """One check-in of the history: its day and level, then score, change, areas, words.

    Replies come oldest first, one per step or edit; the latest answer of each kind counts.
    """
    day = when(checkin.due_at, timezone, "short_date")
    if not replies:
        return embed(Text("flag.history_unanswered", {"day": day}))
    answers = Answers.of(replies)
    facts = [
        score_fact(answers.score, None),
        change_fact(answers.change),
        areas_fact(answers.areas),
    ]
    lines = [fact for fact in facts if fact is not None]
    if answers.words:
        lines.append(quoted(answers.words, HISTORY_WORDS_LIMIT))
    return embed(
        Text("flag.history_entry", {"day": day, "level": level_text(answers.level), "lines": lines})
    )
