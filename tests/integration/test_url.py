"""Database URLs: operator spellings become async-driver URLs, anything else is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.db.url import describe_database, is_sqlite, normalize_database_url, sqlite_path

ACCEPTED = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}

# What follows "://": anything printable that does not end in white space.
rests = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=60).filter(
    lambda rest: rest == rest.rstrip()
)
accepted_schemes = st.sampled_from(sorted(ACCEPTED)).flatmap(
    lambda scheme: st.sampled_from([scheme, scheme.upper(), scheme.title()])
)
other_schemes = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-."),
    min_size=1,
    max_size=20,
).filter(lambda scheme: scheme.lower() not in ACCEPTED)


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+asyncpg://u:p@db:5432/app"),
        ("postgresql://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("postgresql+asyncpg://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("sqlite:///data/stillpoint.sqlite3", "sqlite+aiosqlite:///data/stillpoint.sqlite3"),
        ("sqlite:////var/lib/stillpoint.db", "sqlite+aiosqlite:////var/lib/stillpoint.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("  postgres://u@db/app\n", "postgresql+asyncpg://u@db/app"),
        ("POSTGRES://u@db/app", "postgresql+asyncpg://u@db/app"),
    ],
)
def test_normalize_examples(given_url: str, expected: str) -> None:
    assert normalize_database_url(given_url) == expected


@pytest.mark.parametrize(
    "bad_url",
    [
        "",
        "   ",
        "stillpoint.db",
        "://no-scheme",
        "mysql://u:p@db/app",
        "postgresql+psycopg2://u@db/app",
        "sqlite+pysqlite:///x.db",
        "http://example.com",
    ],
)
def test_normalize_refuses_other_urls(bad_url: str) -> None:
    with pytest.raises(ValueError, match=r"postgresql://.*sqlite:///"):
        normalize_database_url(bad_url)


@given(scheme=accepted_schemes, rest=rests)
def test_accepted_schemes_get_the_async_driver_and_keep_the_rest(scheme: str, rest: str) -> None:
    normalized = normalize_database_url(f"{scheme}://{rest}")
    assert normalized == f"{ACCEPTED[scheme.lower()]}://{rest}"
    assert normalize_database_url(normalized) == normalized
    assert is_sqlite(normalized) == scheme.lower().startswith("sqlite")


def _refusal(url: str) -> str:
    with pytest.raises(ValueError, match="unsupported database URL scheme") as raised:
        normalize_database_url(url)
    return str(raised.value)


@given(scheme=other_schemes, password=st.text(st.characters(codec="ascii"), min_size=1))
def test_refusals_never_depend_on_the_password(scheme: str, password: str) -> None:
    with_password = _refusal(f"{scheme}://user:{password}@db.example/app")
    assert with_password == _refusal(f"{scheme}://user:x@db.example/app")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/stillpoint.sqlite3", Path("data/stillpoint.sqlite3")),
        ("sqlite+aiosqlite:////srv/stillpoint.db", Path("/srv/stillpoint.db")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql://u@db/app", None),
    ],
)
def test_sqlite_path(url: str, expected: Path | None) -> None:
    assert sqlite_path(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgres://bob:hunter22@db.example:6543/app",
            'PostgreSQL database "app" at db.example:6543',
        ),
        ("postgresql://bob@db.example/app", 'PostgreSQL database "app" at db.example:5432'),
        ("sqlite:///data/x.sqlite3", "SQLite file data/x.sqlite3"),
        ("sqlite://", "in-memory SQLite database"),
    ],
)
def test_describe_database_hides_the_password(url: str, expected: str) -> None:
    assert describe_database(url) == expected
    assert "hunter22" not in describe_database(url)
