"""Which data keys have encrypted values in this database, and whether the process has them.

The ``data_keys`` table names every key that has encrypted something here, with a value
only that key decrypts; never the key itself. Functions take a synchronous connection
(``AsyncConnection.run_sync`` from the application, ``op.get_bind()`` in a migration).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.db.encrypted import EncryptedJSON, EncryptedText, data_keys, seal, unseal
from bot.db.tables import Base
from bot.db.types import UTCDateTime
from bot.encryption import PREFIX, DataKeyError, DecryptionError, key_id_of

ENCRYPTED_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (table.name, column.name)
    for table in Base.metadata.sorted_tables
    for column in table.columns
    if isinstance(column.type, EncryptedText | EncryptedJSON)
)
"""Every encrypted column of the schema as ``(table, column)``; its purpose is
``table.column``."""

CHECK_TEXT = "stillpoint data key check"
CHECK_PURPOSE = "data_keys.check_value"

data_keys_table = sa.table(
    "data_keys",
    sa.column("key_id", sa.String()),
    sa.column("check_value", sa.Text()),
    sa.column("retired_at", UTCDateTime()),
)


class MissingDataKeyError(DataKeyError):
    """Encrypted data here needs a key the process does not have (or has wrong)."""


def has_registry(connection: Connection) -> bool:
    """Whether the ``data_keys`` table exists (it comes with migration 0007)."""
    return sa.inspect(connection).has_table("data_keys")


def keys_in_use(connection: Connection) -> list[str]:
    """The ids of the keys that still have values here, oldest first."""
    if not has_registry(connection):
        return []
    rows = connection.execute(
        sa.text("SELECT key_id FROM data_keys WHERE retired_at IS NULL ORDER BY created_at, key_id")
    )
    return [row.key_id for row in rows]


def register_current_key(connection: Connection) -> str:
    """Record the process's current key (once) and return its id."""
    check_value = seal(CHECK_TEXT, CHECK_PURPOSE)
    key_id = key_id_of(check_value)
    if key_id is None:
        raise DataKeyError("the data keys do not encrypt")
    exists = connection.execute(
        sa.text("SELECT retired_at FROM data_keys WHERE key_id = :key_id"), {"key_id": key_id}
    ).first()
    if exists is None:
        connection.execute(
            sa.insert(data_keys_table).values(key_id=key_id, check_value=check_value)
        )
    elif exists.retired_at is not None:
        connection.execute(
            sa.update(data_keys_table)
            .where(data_keys_table.c.key_id == key_id)
            .values(retired_at=None)
        )
    return key_id


def verify_keys(connection: Connection) -> None:
    """Raise ``MissingDataKeyError`` unless every key still in use is here and right."""
    if not has_registry(connection):
        return
    rows = connection.execute(
        sa.text("SELECT key_id, check_value FROM data_keys WHERE retired_at IS NULL")
    ).all()
    missing: list[str] = []
    wrong: list[str] = []
    known = data_keys().key_ids()
    for row in rows:
        try:
            if unseal(row.check_value, CHECK_PURPOSE) != CHECK_TEXT:
                wrong.append(row.key_id)
        except DecryptionError:
            wrong.append(row.key_id)
        except DataKeyError:
            missing.append(row.key_id)
    if missing:
        raise MissingDataKeyError(
            f"the database holds client data encrypted with data key {_names(missing)}, "
            "which DATA_KEY / DATA_KEY_FILE does not give; start with the key you used "
            "before (restore it from your backup)"
        )
    if wrong:
        raise MissingDataKeyError(
            f"the data key named {_names(wrong)} is not the key this database's client "
            "data was encrypted with; restore the right one from your backup"
        )
    stray = _unknown_key_in_values(connection, known)
    if stray is not None:
        raise MissingDataKeyError(
            f"the database holds client data encrypted with data key {stray!r}, which "
            "DATA_KEY / DATA_KEY_FILE does not give (was it removed before every value "
            "was rotated?); add it back to the key ring"
        )


def retire_unused_keys(connection: Connection, current: str, now: datetime) -> list[str]:
    """Mark every key but ``current`` retired if no value needs it; return their ids."""
    retired: list[str] = []
    for key_id in keys_in_use(connection):
        if key_id != current and not _has_values_under(connection, key_id):
            connection.execute(
                sa.update(data_keys_table)
                .where(data_keys_table.c.key_id == key_id)
                .values(retired_at=now)
            )
            retired.append(key_id)
    return retired


def value_prefix(key_id: str) -> str:
    """How every value encrypted with ``key_id`` begins."""
    return f"{PREFIX}:{key_id}:"


def _unknown_key_in_values(connection: Connection, known: Sequence[str]) -> str | None:
    """The id of a key some stored value needs that is not in ``known``, if any.

    One scan of each encrypted column: a value written by a process that still had a
    key the registry calls retired is found here, at start-up, not at its first read.
    """
    prefixes = {f"p{n}": value_prefix(key_id) for n, key_id in enumerate(known)}
    for table, column in ENCRYPTED_COLUMNS:
        others = "".join(
            f" AND substr({column}, 1, {len(prefix)}) != :{name}"
            for name, prefix in prefixes.items()
        )
        found = connection.execute(
            sa.text(
                f"SELECT substr({column}, 1, 40) AS head FROM {table}"  # noqa: S608 -- names from ENCRYPTED_COLUMNS
                f" WHERE substr({column}, 1, {len(PREFIX) + 1}) = '{PREFIX}:'{others} LIMIT 1"
            ),
            prefixes,
        ).first()
        if found is not None:
            return key_id_of(found.head) or "?"
    return None


def _has_values_under(connection: Connection, key_id: str) -> bool:
    prefix = value_prefix(key_id)
    for table, column in ENCRYPTED_COLUMNS:
        found = connection.execute(
            sa.text(
                f"SELECT 1 FROM {table} WHERE substr({column}, 1, :length) = :prefix LIMIT 1"  # noqa: S608 -- names from ENCRYPTED_COLUMNS
            ),
            {"length": len(prefix), "prefix": prefix},
        ).first()
        if found is not None:
            return True
    return False


def rewrite_batch(
    connection: Connection,
    table: str,
    column: str,
    change: Callable[[str, str], str],
    *,
    after: int,
    limit: int,
    skip_prefix: str | None = None,
) -> tuple[int | None, int]:
    """Apply ``change(value, purpose)`` to up to ``limit`` values of rows past id ``after``.

    Values beginning with ``skip_prefix`` are left alone. A value is replaced only if it
    is still what was read, so a row the bot changed meanwhile keeps the bot's value.
    Returns the last id read (``None`` when there were no more rows) and how many
    values changed.
    """
    purpose = f"{table}.{column}"
    skip = "" if skip_prefix is None else f" AND substr({column}, 1, :length) != :prefix"
    rows = connection.execute(
        sa.text(
            f"SELECT id, {column} AS value FROM {table}"  # noqa: S608 -- names from ENCRYPTED_COLUMNS
            f" WHERE id > :after AND {column} IS NOT NULL{skip} ORDER BY id LIMIT :limit"
        ),
        {"after": after, "limit": limit, "length": len(skip_prefix or ""), "prefix": skip_prefix},
    ).all()
    if not rows:
        return None, 0
    changed = 0
    update = sa.text(
        f"UPDATE {table} SET {column} = :new WHERE id = :id AND {column} = :old"  # noqa: S608
    )
    for row in rows:
        new = change(row.value, purpose)
        if new != row.value:
            result = connection.execute(update, {"id": row.id, "new": new, "old": row.value})
            changed += result.rowcount
    return rows[-1].id, changed


def _names(key_ids: Sequence[str]) -> str:
    return ", ".join(repr(key_id) for key_id in key_ids)
