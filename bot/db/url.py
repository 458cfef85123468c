"""Database URLs: accept the spellings operators use, hand SQLAlchemy the async driver."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

POSTGRESQL_ASYNC = "postgresql+asyncpg"
SQLITE_ASYNC = "sqlite+aiosqlite"

_SCHEMES = {
    "postgres": POSTGRESQL_ASYNC,
    "postgresql": POSTGRESQL_ASYNC,
    POSTGRESQL_ASYNC: POSTGRESQL_ASYNC,
    "sqlite": SQLITE_ASYNC,
    SQLITE_ASYNC: SQLITE_ASYNC,
}

_EXAMPLES = "postgresql://user@host:5432/stillpoint or sqlite:///data/stillpoint.sqlite3"

# SQLite spellings of a database that lives only in memory: it has no file to lock or create.
_MEMORY_DATABASES = {"", ":memory:"}


def normalize_database_url(url: str) -> str:
    """Return ``url`` with the async driver SQLAlchemy needs for it.

    ``postgres://`` and ``postgresql://`` become ``postgresql+asyncpg://``;
    ``sqlite://`` becomes ``sqlite+aiosqlite://``; URLs that already name those
    drivers come back unchanged. Anything else raises ``ValueError`` whose
    message never repeats the URL, so a password in it cannot leak into logs.
    """
    stripped = url.strip()
    scheme, separator, rest = stripped.partition("://")
    if not separator or not scheme:
        raise ValueError(f"the database URL is not a URL; it should look like {_EXAMPLES}")
    target = _SCHEMES.get(scheme.lower())
    if target is None:
        shown = scheme if scheme.isascii() and scheme.isprintable() and len(scheme) <= 40 else "?"
        raise ValueError(
            f"unsupported database URL scheme {shown!r}: Stillpoint works with PostgreSQL "
            f"and SQLite, for example {_EXAMPLES}"
        )
    return f"{target}://{rest}"


def is_sqlite(url: str) -> bool:
    """Tell whether ``url`` names an SQLite database (raises ``ValueError`` like normalizing)."""
    return normalize_database_url(url).startswith(f"{SQLITE_ASYNC}://")


def sqlite_path(url: str) -> Path | None:
    """Return the file of an SQLite URL.

    ``None`` for PostgreSQL, for in-memory SQLite and for SQLite ``file:`` URIs
    (whose path is not a plain file name).
    """
    if not is_sqlite(url):
        return None
    database = make_url(normalize_database_url(url)).database or ""
    if database in _MEMORY_DATABASES or database.startswith("file:"):
        return None
    return Path(database)


def describe_database(url: str) -> str:
    """Name a database for people, never showing its password.

    For example ``PostgreSQL database "stillpoint" at db.example:5432`` or
    ``SQLite file data/stillpoint.sqlite3``.
    """
    normalized = normalize_database_url(url)
    if is_sqlite(normalized):
        path = sqlite_path(normalized)
        return "in-memory SQLite database" if path is None else f"SQLite file {path}"
    parsed = make_url(normalized)
    host = parsed.host or "localhost"
    port = parsed.port or 5432
    name = parsed.database or parsed.username or "postgres"
    return f'PostgreSQL database "{name}" at {host}:{port}'
