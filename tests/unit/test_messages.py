import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import messages
from bot.domain.outgoing import Text
from bot.domain.text_params import embed, when
from bot.sandbox.errors import ApiError
from bot.sandbox.text import message_text, utf16_length
from messages import Markup, MissingMessageError, render

LOCALES = messages.available_locales()
KEYS = sorted(messages.catalog(messages.DEFAULT_LOCALE))


@pytest.mark.parametrize("locale", LOCALES)
def test_every_key_exists_in_every_locale(locale: str) -> None:
    assert set(messages.catalog(locale)) == set(KEYS)


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_agree_across_locales(locale: str) -> None:
    default = messages.catalog(messages.DEFAULT_LOCALE)
    for key, text in messages.catalog(locale).items():
        assert messages.placeholders(text) == messages.placeholders(default[key]), key


def test_parameters_are_escaped() -> None:
    text = render("input.unknown_command", "en", command="/<b>&amp;")
    assert "/&lt;b&gt;&amp;amp;" in text
    assert "<b>" not in text


def test_markup_parameters_are_not_escaped_again() -> None:
    assert "<i>x</i>" in render("input.unknown_command", "en", command=Markup("<i>x</i>"))


def test_a_missing_parameter_is_an_error() -> None:
    with pytest.raises(ValueError, match="command"):
        render("input.unknown_command", "en")


def test_an_unknown_key_is_an_error() -> None:
    with pytest.raises(MissingMessageError):
        render("no.such.key")


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("en", 1, "sending a message to one of your clients"),
        ("en", 0, "sending 0 messages"),
        ("en", 2, "sending 2 messages"),
        ("de", 1, "beim Senden einer Nachricht"),
        ("de", 21, "beim Senden von 21 Nachrichten"),
    ],
)
def test_a_count_takes_the_plural_form_its_language_needs(
    locale: str, count: int, expected: str
) -> None:
    assert expected in render("delivery.uncertain_notice", locale, count=count)


def test_a_plural_text_needs_a_whole_number() -> None:
    with pytest.raises(ValueError, match="whole number count"):
        render("delivery.uncertain_notice", "en")
    with pytest.raises(ValueError, match="whole number count"):
        render("delivery.uncertain_notice", "en", count="3")


@pytest.mark.parametrize("locale", LOCALES)
def test_no_text_leaves_the_plural_to_the_reader(locale: str) -> None:
    bracketed = re.compile(r"\w\((?:s|n|en|e|es)\)")
    assert [key for key, text in messages.catalog(locale).items() if bracketed.search(text)] == []


def test_unknown_locales_fall_back_to_the_default() -> None:
    kept = {"answers_kept": "24 months", "texts_kept": "30 days"}
    assert render("privacy.text", "xx", **kept) == render(
        "privacy.text", messages.DEFAULT_LOCALE, **kept
    )


@pytest.mark.parametrize(
    ("code", "expected"), [("en-GB", "en"), ("EN", "en"), (None, "en"), ("", "en"), ("zz", "en")]
)
def test_language_codes_map_to_locales(code: str | None, expected: str) -> None:
    assert messages.normalize_locale(code) == expected


def test_no_user_facing_literals_in_handlers() -> None:
    handlers_dir = Path(__file__).resolve().parents[2] / "handlers"
    source = "\n".join(p.read_text() for p in handlers_dir.glob("*.py"))
    # reply_text / answer / send_message are only ever given rendered catalog texts
    assert not re.search(r"(reply_text|reply_html|send_message|answer)\(\s*[\"']", source)


SAMPLE_VALUES = {
    "name": "A <b>&",
    "command": "/x<i>",
    "limit": 4096,
    "client": "C & D",
    "error": "E",
    "count": 3,
    "when": when(datetime(2026, 11, 24, 9, tzinfo=UTC), "Europe/Berlin"),
    "day": when(datetime(2026, 11, 24, 9, tzinfo=UTC), "Europe/Berlin", "date"),
    "expires": when(datetime(2026, 11, 24, 9, tzinfo=UTC), "Europe/Berlin", "date"),
    "now": when(datetime(2026, 11, 24, 9, tzinfo=UTC), "Europe/Berlin", "time"),
    "time": "02:30",
    "practitioner": "P <i>&",
    "names": "P <i>&, the backup contact",
    "link": "https://t.me/stillpoint_bot?start=abc_DEF-123",
    "max": 100,
    "min": 15,
    "years": 2,
    "page": 2,
    "pages": 3,
    "minutes": 60,
    "value": "2026-02-31<b>",
    "timezone": "Europe/Berlin",
    "their_time": embed(
        Text(
            "booking.their_time",
            {
                "when": {
                    "$datetime": "2026-11-24T09:00:00+00:00",
                    "tz": "Asia/Tokyo",
                    "style": "datetime",
                },
                "timezone": "Asia/Tokyo",
            },
        )
    ),
    "reminders": 2,
    "query": "<script>",
    "lines": [embed(Text("status.booked")), "a <b> line"],
    "events": [embed(Text("status.booked")), "an <b> event"],
    "status": embed(Text("status.confirmed")),
    "next": "",
    "line": "a <b> line",
    "days": 14,
    "where": embed(Text("reminder.where", {"location": "Room <1> & 2"})),
    "location": "Room <1> & 2",
    "text": "Mars/Olympus <b>",
    # flags (bot/services/flags/views.py)
    "level": embed(Text("flag.level_urgent")),
    "reason": "self-harm <b>language</b> & more",
    "score": 7,
    "previous": 3,
    "change": embed(Text("flag.change_worse")),
    "words": "I <b>can't</b> & won't </blockquote>",
    "alert": embed(Text("flag.alert", {"level": "L", "client": "C", "lines": ["<i>x</i>"]})),
    "areas": embed(Text("flag.area_neck")),
    "area": embed(Text("flag.area_head_jaw")),
    "more": embed(Text("flag.area_chest")),
    "number": 2,
    "answers_kept": "24 months",
    "texts_kept": "30 days",
    # the client card, chart caption and digest (bot/services/practice/)
    "first": 6,
    "last": 2,
    "by": 4,
    "zone": "Europe/Berlin",
    "since": when(datetime(2026, 11, 24, 9, tzinfo=UTC), "Europe/Berlin", "short_datetime"),
    "answered": 12,
    "unanswered": 3,
    "counts": embed(Text("digest.counts", {"answered": 12, "unanswered": 3})),
    # the calendar (bot/services/sessions/calendar_*.py)
    "address": "https://calendar.example/…1234",
    "asked": embed(Text("calendar.asked", {"count": 2})),
    "synced": embed(Text("calendar.not_synced")),
    "failing": embed(Text("calendar.failing_now")),
    "repeats": embed(Text("calendar.answered_repeats")),
    "booked": embed(Text("calendar.answered_booked", {"count": 3})),
    "not_booked": embed(Text("calendar.answered_not_booked", {"count": 1, "events": ["<i>x</i>"]})),
    "was": when(datetime(2026, 11, 24, 9, tzinfo=UTC), "Europe/Berlin"),
    "title": "Team <b>lunch</b> & more",
    "problem": embed(Text("calendar.problem_timeout")),
    "removed": embed(Text("calendar.address_removed")),
    "paused": embed(Text("card.paused")),
    "sessions": embed(Text("card.sessions", {"count": 3})),
    "checkins": embed(Text("card.no_checkins")),
    # a practitioner's settings (bot/services/practice/practitioner_settings.py)
    "digest": embed(Text("settings.digest_on")),
    "offsets": "24 h, 2 h",
}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_text_is_telegram_html_within_limits(locale: str) -> None:
    for key, template in messages.catalog(locale).items():
        params = {name: SAMPLE_VALUES[name] for name in messages.placeholders(template)}
        html = render(key, locale, **params)
        try:
            shown = message_text(html, "HTML")
        except ApiError as error:
            pytest.fail(f"{locale}:{key} is refused by Telegram's HTML rules: {error}")
        assert 0 < utf16_length(shown.text) <= 4096, key


def test_german_speakers_get_german() -> None:
    german = messages.normalize_locale("de-AT")
    kept = {"answers_kept": "24 Monate", "texts_kept": "30 Tage"}
    assert render("privacy.text", german, **kept).startswith("<b>Deine")


# Moments (``bot.domain.text_params.when``): formatted with CLDR data in the reader's
# language and zone.

NOV_24_09Z = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def moment(at: datetime, zone: str = "Europe/Berlin", style: str = "datetime") -> dict[str, str]:
    return when(at, zone, style)


@pytest.mark.parametrize(
    ("locale", "style", "expected"),
    [
        # "en" is shown as en_GB: day before month, 24-hour clock (see messages._BABEL_LOCALES).
        ("en", "datetime", "Tuesday 24 November at 10:00"),
        ("en", "date", "Tuesday 24 November"),
        ("en", "short_date", "Tue 24 Nov"),
        ("en", "time", "10:00"),
        ("de", "datetime", "Dienstag, 24. November um 10:00"),
        ("de", "date", "Dienstag, 24. November"),
        ("de", "short_date", "Di., 24. Nov."),
        ("de", "time", "10:00"),
    ],
)
def test_moments_are_formatted_in_the_readers_language(
    locale: str, style: str, expected: str
) -> None:
    assert messages.format_moment(moment(NOV_24_09Z, style=style), locale) == expected


def test_a_moment_in_a_text_is_formatted_then_escaped() -> None:
    text = render("input.unknown_command", "de", command=moment(NOV_24_09Z))
    assert "Dienstag, 24. November um 10:00" in text
    label = messages.render_plain("input.unknown_command", "en", command=moment(NOV_24_09Z))
    assert "Tuesday 24 November at 10:00" in label


def test_a_moment_takes_the_language_of_the_text_it_lands_in() -> None:
    # An unknown locale falls back to the default catalog, and so do its dates.
    assert "Tuesday 24 November at 10:00" in render(
        "input.unknown_command", "xx", command=moment(NOV_24_09Z)
    )


def test_a_moment_is_stored_as_plain_json() -> None:
    value = moment(NOV_24_09Z)
    assert json.loads(json.dumps(value)) == value
    assert messages.format_moment(json.loads(json.dumps(value)), "en") == (
        "Tuesday 24 November at 10:00"
    )


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # Europe/Berlin leaves winter time at 01:00 UTC on Sunday 29 March 2026.
        (datetime(2026, 3, 28, 9, 0, tzinfo=UTC), "Saturday 28 March at 10:00"),  # CET, +1
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "Sunday 29 March at 01:30"),  # CET, +1
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "Sunday 29 March at 03:30"),  # CEST, +2
        (datetime(2026, 3, 30, 8, 0, tzinfo=UTC), "Monday 30 March at 10:00"),  # CEST, +2
    ],
)
def test_moments_follow_daylight_saving_time(at: datetime, expected: str) -> None:
    assert messages.format_moment(moment(at), "en") == expected


def test_a_moment_far_from_utc_shows_the_local_day() -> None:
    # 12:00 UTC on the 24th is 01:00 on the 25th in Auckland (NZDT, +13).
    at = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert messages.format_moment(moment(at, "Pacific/Auckland"), "de") == (
        "Mittwoch, 25. November um 01:00"
    )
    assert messages.format_moment(moment(at, "Pacific/Auckland", "short_date"), "en") == (
        "Wed 25 Nov"
    )
    # and the zone counts, not the offset the value was written with
    written_in_berlin = moment(at.astimezone(ZoneInfo("Europe/Berlin")), "Pacific/Auckland")
    assert messages.format_moment(written_in_berlin, "en") == "Wednesday 25 November at 01:00"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"$datetime": "2026-11-24T09:00:00+00:00", "tz": "UTC", "style": "long"}, "style"),
        ({"$datetime": "2026-11-24T09:00:00+00:00", "tz": "Mars/Olympus"}, "time zone"),
        ({"$datetime": "2026-11-24T09:00:00+00:00", "tz": "../etc/passwd"}, "time zone"),
        ({"$datetime": "2026-11-24T09:00:00+00:00"}, "tz"),
        ({"$datetime": "2026-11-24T09:00:00", "tz": "UTC"}, "offset"),
        ({"$datetime": "next Tuesday", "tz": "UTC"}, "ISO"),
        ({"$datetime": 1795510800, "tz": "UTC"}, "text"),
        ({"$datetime": "2026-11-24T09:00:00+00:00", "tz": "UTC", "colour": "red"}, "colour"),
    ],
)
def test_malformed_moments_are_value_errors(value: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        messages.format_moment(value, "en")
    with pytest.raises(ValueError, match=error):
        render("input.unknown_command", "en", command=value)
    with pytest.raises(ValueError, match=error):
        messages.render_plain("input.unknown_command", "en", command=value)


def test_other_mappings_are_left_alone() -> None:
    assert "{'a': 1}" in render("input.unknown_command", "en", command={"a": 1})


def test_a_formatted_moment_is_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messages, "format_moment", lambda value, locale: f"<b>{locale}</b>")
    text = render("input.unknown_command", "de", command=moment(NOV_24_09Z))
    assert "&lt;b&gt;de&lt;/b&gt;" in text
    label = messages.render_plain("input.unknown_command", "de", command=moment(NOV_24_09Z))
    assert "<b>de</b>" in label  # button labels are shown without parse mode


@settings(max_examples=200, deadline=None)
@given(
    at=st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.just(UTC),
    ),
    zone=st.sampled_from(["Europe/Berlin", "Pacific/Auckland", "America/St_Johns", "UTC"]),
    locale=st.sampled_from(LOCALES),
)
def test_a_moment_shows_the_local_wall_clock(at: datetime, zone: str, locale: str) -> None:
    local = at.astimezone(ZoneInfo(zone))
    assert messages.format_moment(moment(at, zone, "time"), locale) == f"{local:%H:%M}"
    assert str(local.day) in messages.format_moment(moment(at, zone, "short_date"), locale)
