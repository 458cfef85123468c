"""Every user-facing text, per locale, in TOML catalogs, with one small render function.

Catalog texts are Telegram HTML written by us; values passed in are escaped, so a
client's words always show literally.

A text that depends on a number is a table of CLDR plural categories (``one``, ``other``,
and for other languages ``few``, ``many``...) under its key; the ``count`` parameter picks
the form by the language's own plural rules (Babel's CLDR data), ``other`` when the
language's category is not written.

A value made by ``bot.domain.text_params.when`` (a plain dict ``{"$datetime": iso, "tz":
zone, "style": style}``, so it keeps in an outbox row as JSON) is formatted here, with
Babel's CLDR data, in the language of the text and the time zone it names. This package
imports nothing from ``bot``: the shape of that dict is the contract.
"""

from __future__ import annotations

import html
import logging
import string
import tomllib
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_datetime, match_skeleton, tokenize_pattern, untokenize_pattern

DEFAULT_LOCALE = "en"
_CATALOG_DIR = Path(__file__).parent / "locales"
_log = logging.getLogger(__name__)


class MissingMessageError(KeyError):
    """No catalog holds this key."""


class Markup(str):
    """A value that is already safe HTML and must not be escaped again."""

    __slots__ = ()


def available_locales() -> tuple[str, ...]:
    """The locales that have a catalog, default first."""
    others = sorted(p.stem for p in _CATALOG_DIR.glob("*.toml") if p.stem != DEFAULT_LOCALE)
    return (DEFAULT_LOCALE, *others)


def normalize_locale(language_code: str | None) -> str:
    """Map a Telegram ``language_code`` such as ``de-AT`` to a locale we have."""
    if language_code:
        base = language_code.replace("_", "-").split("-")[0].lower()
        if base in available_locales():
            return base
    return DEFAULT_LOCALE


def render(key: str, locale: str = DEFAULT_LOCALE, /, **params: Any) -> str:
    """Render the message ``key`` in ``locale`` (falling back to the default locale).

    Parameters are HTML-escaped unless wrapped in ``Markup``. A moment made by
    ``bot.domain.text_params.when`` is formatted first (see ``format_moment``), then
    escaped like any other value. Raises ``ValueError`` for a missing parameter or a
    malformed moment.
    """
    template, used = _lookup(key, locale, params.get("count"))
    values = {name: _escape(_localize(value, used)) for name, value in params.items()}
    missing = placeholders(template) - values.keys()
    if missing:
        raise ValueError(f"message {key!r} needs {sorted(missing)}")
    return template.format_map(values)


def render_plain(key: str, locale: str = DEFAULT_LOCALE, /, **params: Any) -> str:
    """Render a text shown without parse mode, such as a button label: nothing is escaped."""
    template, used = _lookup(key, locale, params.get("count"))
    return template.format_map(
        {name: str(_localize(v, used, html=False)) for name, v in params.items()}
    )


MOMENT_STYLES = ("datetime", "date", "short_date", "short_datetime", "time")
"""The ``style`` values of a moment parameter."""

_MOMENT_KEYS = frozenset({"$datetime", "tz", "style"})

# Our catalog locale -> the Babel (CLDR) locale whose formats we show. Plain "en" is
# US English ("Tuesday, November 24", "10:00 AM"); our readers are mostly in Europe, so
# English gets British order and the 24-hour clock: "Tuesday 24 November", "10:00".
_BABEL_LOCALES = {"en": "en_GB"}

# The skeleton (CLDR "availableFormats" key) of each date style. The locale's data picks
# the order, punctuation and abbreviations; the year is left out on purpose.
_DATE_SKELETONS = {
    "datetime": "MMMMEEEEd",
    "date": "MMMMEEEEd",
    "short_date": "MMMEd",
    "short_datetime": "MMMEd",
}

# CLDR's "atTime" date-time patterns (dateTimeFormat-atTime, full and long), which read
# "<date> at <time>". Babel 2.x does not import them from CLDR, so the ones for our
# catalog locales are copied here; any other locale uses Babel's full date-time pattern.
_AT_TIME = {"en": "{1} 'at' {0}", "de": "{1} 'um' {0}"}

# Fields that CLDR lets a matched skeleton pattern widen to the requested width
# (weekday and month names; numeric fields keep the locale's choice).
_WIDENED_FIELDS = {"E": "E", "c": "E", "M": "M", "L": "M"}


def format_moment(value: Mapping[str, Any], locale: str = DEFAULT_LOCALE) -> str:
    """Format a ``bot.domain.text_params.when`` value in ``locale`` and its own time zone.

    Styles, for 2026-11-24 09:00 UTC in Europe/Berlin: ``datetime`` "Tuesday 24 November
    at 10:00" (de "Dienstag, 24. November um 10:00"), ``date`` "Tuesday 24 November",
    ``short_date`` "Tue 24 Nov" (de "Di., 24. Nov."), ``time`` "10:00". Raises
    ``ValueError`` for an unknown style, a time without an offset, an unknown time zone,
    or any other malformed value.
    """
    unknown = set(value) - _MOMENT_KEYS
    if unknown:
        raise ValueError(f"a moment has no {sorted(unknown)}")
    iso, zone, style = value.get("$datetime"), value.get("tz"), value.get("style", "datetime")
    if not isinstance(iso, str) or not isinstance(zone, str) or not isinstance(style, str):
        # ValueError, not TypeError: a bad value in a stored message is refused like any other.
        raise ValueError(  # noqa: TRY004
            f"a moment needs text for $datetime, tz and style, got {dict(value)}"
        )
    if style not in MOMENT_STYLES:
        raise ValueError(f"unknown moment style {style!r}; use one of {MOMENT_STYLES}")
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(f"a moment's $datetime must be ISO 8601, got {iso!r}") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a moment's $datetime must carry a UTC offset, got {iso!r}")
    try:
        tzinfo = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {zone!r} in a moment") from None
    if locale not in available_locales():
        locale = DEFAULT_LOCALE
    return format_datetime(
        at.astimezone(tzinfo), _moment_pattern(locale, style), locale=_babel_locale(locale)
    )


def _localize(value: Any, locale: str, *, html: bool = True) -> Any:
    """Format what needs the reader's language: a moment, an embedded text, a list of lines.

    An embedded text (``bot.domain.text_params.embed``) is rendered in ``locale`` and, in HTML, is
    already safe; a list becomes its items' texts, one per line.
    """
    if isinstance(value, Mapping) and "$datetime" in value:
        return format_moment(value, locale)
    if isinstance(value, Mapping) and "$text" in value:
        params = value.get("params") or {}
        if html:
            return Markup(render(str(value["$text"]), locale, **params))
        return render_plain(str(value["$text"]), locale, **params)
    if isinstance(value, list | tuple):
        items = [_localize(item, locale, html=html) for item in value]
        if html:
            return Markup("\n".join(_escape(item) for item in items))
        return "\n".join(str(item) for item in items)
    return value


@cache
def _babel_locale(locale: str) -> Locale:
    return Locale.parse(_BABEL_LOCALES.get(locale, locale))


@cache
def _moment_pattern(locale: str, style: str) -> str:
    """The LDML pattern of ``style`` in ``locale``, from CLDR data."""
    cldr = _babel_locale(locale)
    time_pattern: str = cldr.time_formats["short"].pattern
    if style == "time":
        return time_pattern
    date_pattern = _skeleton_pattern(cldr, _DATE_SKELETONS[style])
    if style == "short_datetime":
        glue = str(cldr.datetime_formats["short"])
    elif style == "datetime":
        glue = _AT_TIME.get(locale) or str(cldr.datetime_formats["full"])
    else:
        return date_pattern
    return glue.replace("{1}", date_pattern).replace("{0}", time_pattern)


def _skeleton_pattern(cldr: Locale, skeleton: str) -> str:
    """The locale's pattern for ``skeleton``, widened to the name widths it asks for.

    Babel's ``format_skeleton`` matches "MMMMEEEEd" to a locale's "MMMMEd" pattern and
    keeps its short weekday; CLDR (and ICU) widen the matched fields to the skeleton's.
    """
    matched = match_skeleton(skeleton, cldr.datetime_skeletons) or match_skeleton(
        skeleton, cldr.datetime_skeletons, allow_different_fields=True
    )
    if matched is None:
        raise ValueError(f"no CLDR pattern for {skeleton} in {cldr}")
    wanted = {
        _WIDENED_FIELDS[field]: width
        for field, width in _skeleton_fields(skeleton)
        if field in _WIDENED_FIELDS
    }
    tokens: list[tuple[str, str | tuple[str, int]]] = []
    for kind, token in tokenize_pattern(cldr.datetime_skeletons[matched].pattern):
        if kind == "field" and isinstance(token, tuple):
            field, width = token
            group = _WIDENED_FIELDS.get(field)
            named = group == "E" or width >= 3  # a weekday is always a name; M, MM a number
            if group in wanted and named and wanted[group] > width:
                # A stand-alone weekday ("ccc") becomes a formatting one next to a date.
                tokens.append((kind, ("E" if group == "E" else field, wanted[group])))
                continue
        tokens.append((kind, token))
    return untokenize_pattern(tokens)


def _skeleton_fields(skeleton: str) -> Iterator[tuple[str, int]]:
    start = 0
    for end in range(1, len(skeleton) + 1):
        if end == len(skeleton) or skeleton[end] != skeleton[start]:
            yield skeleton[start], end - start
            start = end


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a catalog text expects."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def catalog(locale: str) -> Mapping[str, str]:
    """All keys of one locale, flattened to ``section.key`` form."""
    return _load(locale)


def _escape(value: Any) -> str:
    if isinstance(value, Markup):
        return str(value)
    return html.escape(str(value), quote=False)


PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")


def _lookup(key: str, locale: str, count: Any = None) -> tuple[str, str]:
    """The text of ``key`` and the locale it came from (the default one if ``locale`` lacks it).

    Dates in the text are formatted in that same locale, so a fallback text never mixes
    two languages. A plural text takes the form ``count`` needs in that locale.
    """
    texts = _load(locale) if locale in available_locales() else {}
    found = _text(texts, key, locale, count)
    if found is not None:
        return found, locale
    fallback = _text(_load(DEFAULT_LOCALE), key, DEFAULT_LOCALE, count)
    if fallback is None:
        raise MissingMessageError(key)
    if texts:
        _log.warning("message %s missing in locale %s; using %s", key, locale, DEFAULT_LOCALE)
    return fallback, DEFAULT_LOCALE


def _text(texts: Mapping[str, str], key: str, locale: str, count: Any) -> str | None:
    if key in texts:
        return texts[key]
    if f"{key}.other" not in texts:
        return None
    if not isinstance(count, int) or isinstance(count, bool):
        # ValueError, as for any other missing or malformed parameter of a text.
        raise ValueError(  # noqa: TRY004
            f"message {key!r} has plural forms and needs a whole number count"
        )
    category = _babel_locale(locale).plural_form(count)
    return texts.get(f"{key}.{category}", texts[f"{key}.other"])


@cache
def _load(locale: str) -> dict[str, str]:
    with (_CATALOG_DIR / f"{locale}.toml").open("rb") as file:
        return dict(_flatten(tomllib.load(file)))


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{key}.")
        elif isinstance(value, str):
            # A text's own leading line break stays: a part set into another text
            # ("{asked}") may begin on a line of its own.
            yield key, value.rstrip("\n")
        else:
            raise TypeError(f"catalog entry {key} must be text")
