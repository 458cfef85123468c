"""The crisis resources table: emergency numbers and crisis lines per country.

The built-in table is ``bot/crisis_resources.toml`` (its header describes the format);
``Settings.crisis_resources_file`` replaces it. A client's country comes from their time
zone through CLDR's zone-to-territory data (Babel), so ``Europe/Vienna`` is Austria and
``US/Eastern`` (an alias) the United States; a zone with no country (``UTC``) or a
country the table does not list gets the table's ``[default]``.

Loaded once at start-up by the composition root and passed to use cases in
``Policy.crisis``; a malformed file is refused with a message naming the problem.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from babel.core import get_global

from bot.services.policy import CrisisLine

BUILT_IN = Path(__file__).with_name("crisis_resources.toml")

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_KEYS = frozenset({"emergency", "helpline", "number", "url"})
_PROVENANCE = frozenset({"source", "checked"})
"""Where an entry was checked, and when: kept in the file for whoever checks it next."""
_UNKNOWN_TERRITORY = "ZZ"  # CLDR's code for "no country" (Etc/UTC and the like)


class CrisisTableError(ValueError):
    """A crisis resources file is malformed; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class CrisisTable:
    """Crisis resources by country, with a default; a ``CrisisDirectory`` for ``Policy``."""

    default: CrisisLine
    countries: Mapping[str, CrisisLine] = field(default_factory=dict)

    def for_country(self, country: str | None) -> CrisisLine:
        """The resources for an ISO 3166 country code; the default when not listed."""
        if country is None:
            return self.default
        return self.countries.get(country.upper(), self.default)

    def for_timezone(self, timezone: str) -> CrisisLine:
        """The resources for the country of ``timezone``; the default when unknown."""
        return self.for_country(country_of(timezone))


@cache
def country_of(timezone: str) -> str | None:
    """The ISO 3166 country of an IANA time zone (aliases too), or ``None`` if it has none."""
    territories: Mapping[str, str] = get_global("zone_territories")
    aliases: Mapping[str, str] = get_global("zone_aliases")
    country = territories.get(timezone) or territories.get(aliases.get(timezone, ""))
    return None if country in (None, _UNKNOWN_TERRITORY) else country


def load_crisis_table(path: Path | None = None) -> CrisisTable:
    """The table from ``path`` (a TOML file in the built-in format), or the built-in one."""
    source = path or BUILT_IN
    try:
        with source.open("rb") as file:
            data = tomllib.load(file)
        return parse_crisis_table(data)
    except (OSError, tomllib.TOMLDecodeError, CrisisTableError) as error:
        raise CrisisTableError(f"{source}: {error}") from None


def parse_crisis_table(data: Mapping[str, Any]) -> CrisisTable:
    """Check and build a table from parsed TOML; ``CrisisTableError`` names the first problem."""
    unknown = set(data) - {"default", "country"}
    if unknown:
        raise CrisisTableError(
            f"unknown sections {sorted(unknown)}; use [default] and [country.XX]"
        )
    default = _line(_table(data, "default", "[default]"), None)
    countries = {}
    for code, entry in _table(data, "country", "[country]").items():
        if not _COUNTRY.match(code):
            raise CrisisTableError(f"[country.{code}]: use a two-letter ISO code in capitals")
        if not isinstance(entry, Mapping):
            raise CrisisTableError(f"[country.{code}] must be a table")
        line = _line(entry, code)
        if line.emergency is None:
            raise CrisisTableError(f"[country.{code}]: an emergency number is needed")
        countries[code] = line
    return CrisisTable(default, MappingProxyType(countries))


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise CrisisTableError(f"{where} must be a table")
    return value


def _check_provenance(entry: Mapping[str, Any], where: str) -> None:
    sources = entry.get("source", [])
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or not all(
        isinstance(s, str) and s.startswith("https://") for s in sources
    ):
        raise CrisisTableError(f"{where}: source is an https address (or a list of them)")
    checked = entry.get("checked")
    if checked is not None and not isinstance(checked, date):
        raise CrisisTableError(f"{where}: checked is a date, such as 2026-12-03")


def _line(entry: Mapping[str, Any], country: str | None) -> CrisisLine:
    where = f"[country.{country}]" if country else "[default]"
    unknown = set(entry) - _KEYS - _PROVENANCE
    if unknown:
        raise CrisisTableError(f"{where}: unknown keys {sorted(unknown)}")
    _check_provenance(entry, where)
    values: dict[str, str | None] = {}
    for key in sorted(_KEYS):
        value = entry.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise CrisisTableError(f"{where}: {key} must be non-empty text")
        values[key] = value.strip() if isinstance(value, str) else None
    if values["helpline"] is None and (values["number"] or values["url"]):
        raise CrisisTableError(f"{where}: a number or url needs the helpline's name")
    if values["helpline"] is not None and not (values["number"] or values["url"]):
        raise CrisisTableError(f"{where}: the helpline needs a number or a url")
    return CrisisLine(country=country, **values)
