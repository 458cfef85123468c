"""The crisis resources table: the built-in one, a replacement file, and countries from
time zones."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.crisis import (
    BUILT_IN,
    CrisisTableError,
    country_of,
    load_crisis_table,
    parse_crisis_table,
)
from bot.runtime import Runtime
from bot.services.policy import CrisisLine
from bot.settings import ConfigError, load_settings
from tests.fakes import FakeDatabase, FixedClock

REQUIRED = ("DE", "AT", "CH", "GB", "IE", "US", "CA", "AU", "NZ", "NL", "FR", "ES", "IT")


def test_the_built_in_table_covers_the_required_countries_with_a_number_to_call() -> None:
    table = load_crisis_table()
    for country in REQUIRED:
        line = table.for_country(country)
        assert line.country == country
        assert line.emergency
        assert line.helpline
        assert line.number


def test_every_built_in_entry_names_its_official_source_and_when_it_was_checked() -> None:
    raw = tomllib.loads(BUILT_IN.read_text("utf-8"))
    entries = {"default": raw["default"], **raw["country"]}
    for name, entry in entries.items():
        sources = entry.get("source")
        sources = [sources] if isinstance(sources, str) else sources
        assert sources, f"{name} has no source"
        assert all(source.startswith("https://") for source in sources), name
        assert isinstance(entry.get("checked"), date), f"{name} has no date it was checked"


def test_a_replacement_entry_with_a_malformed_source_is_refused() -> None:
    with pytest.raises(CrisisTableError, match="source"):
        parse_crisis_table(
            {"default": {"helpline": "A line", "number": "1", "source": "not an address"}}
        )


def test_an_unknown_country_gets_the_default_which_names_no_number() -> None:
    table = load_crisis_table()
    assert table.for_country("JP") == table.default
    assert table.for_country(None) == table.default
    assert table.default.emergency is None
    assert table.default.url == "https://findahelpline.com"


@pytest.mark.parametrize(
    ("timezone", "country"),
    [
        ("Europe/Berlin", "DE"),
        ("Europe/Vienna", "AT"),
        ("Europe/Zurich", "CH"),
        ("Europe/Belfast", "GB"),  # an alias
        ("US/Eastern", "US"),  # an alias
        ("America/Montreal", "CA"),
        ("Pacific/Auckland", "NZ"),
        ("Atlantic/Canary", "ES"),
        ("UTC", None),
        ("Etc/UTC", None),
        ("Mars/Olympus", None),
    ],
)
def test_a_time_zone_names_its_country(timezone: str, country: str | None) -> None:
    assert country_of(timezone) == country


def test_a_file_replaces_the_table(tmp_path: Path) -> None:
    path = tmp_path / "crisis.toml"
    path.write_text(
        '[default]\nemergency = "112"\n\n'
        '[country.DE]\nemergency = "110"\nhelpline = "Hilfe"\nnumber = "0800 1"\n',
        encoding="utf-8",
    )
    table = load_crisis_table(path)
    assert table.for_timezone("Europe/Berlin") == CrisisLine("DE", "110", "Hilfe", "0800 1")
    assert table.for_timezone("Europe/Vienna") == CrisisLine(emergency="112")
    settings = load_settings(None, crisis_resources_file=path)
    runtime = Runtime(settings=settings, clock=FixedClock(), uow=FakeDatabase())
    assert runtime.policy.crisis.for_timezone("Europe/Berlin").emergency == "110"
    assert runtime.policy.checkin_max_age == timedelta(hours=12)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"countries": {}}, "unknown sections"),
        ({"country": {"de": {"emergency": "112"}}}, "two-letter"),
        ({"country": {"DE": {"helpline": "X", "number": "1"}}}, "emergency number"),
        ({"country": {"DE": {"emergency": "112", "helpline": "X"}}}, "number or a url"),
        ({"country": {"DE": {"emergency": "112", "number": "1"}}}, "helpline's name"),
        ({"country": {"DE": {"emergency": ""}}}, "non-empty"),
        ({"country": {"DE": {"emergency": "112", "fax": "1"}}}, "unknown keys"),
        ({"default": "112"}, "must be a table"),
    ],
)
def test_a_malformed_table_is_refused_with_the_reason(
    data: dict[str, object], problem: str
) -> None:
    with pytest.raises(CrisisTableError, match=problem):
        parse_crisis_table(data)


def test_a_broken_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[default\n", encoding="utf-8")
    with pytest.raises(CrisisTableError, match=r"broken\.toml"):
        load_crisis_table(path)


def test_a_malformed_file_is_refused_when_settings_load(tmp_path: Path) -> None:
    path = tmp_path / "crisis.toml"
    path.write_text("[country.DE\nemergency = 110\n", encoding="utf-8")  # not TOML
    with pytest.raises(ConfigError, match="CRISIS_RESOURCES_FILE"):
        load_settings(None, crisis_resources_file=path)
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(None, crisis_resources_file=tmp_path / "missing.toml")
