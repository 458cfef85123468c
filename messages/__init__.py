"""Every user-facing text, per locale, in TOML catalogs, with one small render function.

Catalog texts are Telegram HTML written by us; values passed in are escaped, so a
client's words always show literally.
"""

from __future__ import annotations

import html
import logging
import string
import tomllib
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

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

    Parameters are HTML-escaped unless wrapped in ``Markup``.
    """
    template = _lookup(key, locale)
    values = {name: _escape(value) for name, value in params.items()}
    missing = placeholders(template) - values.keys()
    if missing:
        raise ValueError(f"message {key!r} needs {sorted(missing)}")
    return template.format_map(values)


def render_plain(key: str, locale: str = DEFAULT_LOCALE, /, **params: Any) -> str:
    """Render a text shown without parse mode, such as a button label: nothing is escaped."""
    return _lookup(key, locale).format_map({name: str(value) for name, value in params.items()})


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


def _lookup(key: str, locale: str) -> str:
    texts = _load(locale) if locale in available_locales() else {}
    if key in texts:
        return texts[key]
    fallback = _load(DEFAULT_LOCALE)
    if key not in fallback:
        raise MissingMessageError(key)
    if texts:
        _log.warning("message %s missing in locale %s; using %s", key, locale, DEFAULT_LOCALE)
    return fallback[key]


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
            yield key, value.strip("\n")
        else:
            raise TypeError(f"catalog entry {key} must be text")
