"""Where this process's data keys come from, and the checks before any client data is read.

In order: ``DATA_KEY`` (the key ring itself), ``DATA_KEY_FILE`` (a file holding it), or,
for an SQLite database file, the key file beside it (``<database>.key``). A key file that
does not exist yet is created (readable by its owner only, written through to the disk)
when the database holds no encrypted data, and the operator is told to back it up. The
sandbox on its own temporary database uses a throwaway key. PostgreSQL needs
``DATA_KEY`` or ``DATA_KEY_FILE``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.encrypted import seal, unseal, use_data_keys
from bot.db.engine import check_database, create_engine
from bot.db.key_registry import (
    ENCRYPTED_COLUMNS,
    keys_in_use,
    register_current_key,
    retire_unused_keys,
    rewrite_batch,
    value_prefix,
    verify_keys,
)
from bot.db.url import sqlite_path
from bot.encryption import DataKeyError, KeyRing, new_key
from bot.ports import Clock
from bot.settings import Settings

_log = logging.getLogger(__name__)

KEY_FILE_SUFFIX = ".key"


class DataKeySetupError(Exception):
    """The process has no usable data key; the message says what to do, in one line."""


async def load_data_keys(
    settings: Settings, database_url: str, clock: Clock, *, throwaway: bool = False
) -> KeyRing:
    """Find (or, for a database without encrypted data, create) the data keys; load them.

    ``throwaway``: the database is a temporary one (the sandbox's own), so a key that
    lives only in this process serves, whatever the settings name.
    """
    if throwaway:
        ring = KeyRing.parse(new_key(clock.now()))
    elif settings.data_key is not None and settings.data_key_file is not None:
        raise DataKeySetupError("set DATA_KEY or DATA_KEY_FILE, not both")
    elif settings.data_key is not None:
        ring = _parse(settings.data_key.get_secret_value(), "DATA_KEY")
    elif settings.data_key_file is not None:
        ring = await _from_file(settings.data_key_file, database_url, clock)
    elif (database := sqlite_path(database_url)) is not None:
        ring = await _from_file(key_file_beside(database), database_url, clock)
    else:
        raise DataKeySetupError(
            "DATA_KEY is not set: client data is stored encrypted and needs a key. "
            "`stillpoint keys new` prints one; put it in DATA_KEY or in a file named by "
            "DATA_KEY_FILE, and keep a copy apart from the database backups"
        )
    use_data_keys(ring)
    return ring


def key_file_beside(database: Path) -> Path:
    """The default key file of an SQLite database file."""
    return database.with_name(database.name + KEY_FILE_SUFFIX)


async def verify_data_keys(engine: AsyncEngine) -> None:
    """Refuse keys that cannot read what is stored (``DataKeySetupError``).

    Run before migrating (a migration may encrypt or decrypt) and before serving.
    """
    try:
        async with engine.connect() as connection:
            await connection.run_sync(verify_keys)
    except DataKeyError as error:
        raise DataKeySetupError(str(error)) from None


async def register_data_key(engine: AsyncEngine) -> None:
    """Record the current key as one that has values here (once the schema is current)."""
    try:
        async with engine.begin() as connection:
            await connection.run_sync(register_current_key)
    except IntegrityError:
        pass  # another process registered the same key a moment ago


@dataclass(frozen=True, slots=True)
class Rotation:
    """What ``stillpoint keys rotate`` did."""

    current: str
    reencrypted: int
    retired: tuple[str, ...]
    """Keys no value needs any more: they may leave the key ring."""
    still_needed: tuple[str, ...]
    """Older keys some value still needs (the bot wrote with one during the rotation)."""


async def rotate_data_keys(
    engine: AsyncEngine, ring: KeyRing, clock: Clock, *, batch: int = 200
) -> Rotation:
    """Re-encrypt every value not under ``ring``'s current key, ``batch`` rows a commit.

    Safe beside a running bot that already has the new key first in its ring: each value
    is replaced only if it is still what was read, and the bot writes with the new key.
    """
    skip = value_prefix(ring.current)

    def reseal(value: str, purpose: str) -> str:
        return seal(unseal(value, purpose), purpose)

    reencrypted = 0
    for table, column in ENCRYPTED_COLUMNS:
        after: int | None = 0
        while after is not None:
            step = partial(
                rewrite_batch,
                table=table,
                column=column,
                change=reseal,
                after=after,
                limit=batch,
                skip_prefix=skip,
            )
            async with engine.begin() as connection:
                after, count = await connection.run_sync(step)
            reencrypted += count
            await asyncio.sleep(0)  # the bot's own work goes between batches
    async with engine.begin() as connection:
        retired = await connection.run_sync(retire_unused_keys, ring.current, clock.now())
        in_use = await connection.run_sync(keys_in_use)
    still_needed = tuple(key_id for key_id in in_use if key_id != ring.current)
    return Rotation(ring.current, reencrypted, tuple(retired), still_needed)


def _parse(text: str, source: str) -> KeyRing:
    try:
        return KeyRing.parse(text.replace("\n", ","))
    except DataKeyError as error:
        raise DataKeySetupError(f"{source}: {error}") from None


async def _from_file(path: Path, database_url: str, clock: Clock) -> KeyRing:
    text = _read_key_file(path)
    if text is not None:
        return _parse(text, f"the data key file {path}")
    in_use = await _keys_in_use(database_url)
    if in_use:
        raise DataKeySetupError(
            f"the data key file {path} is missing, and the database holds client data "
            f"encrypted with key {', '.join(in_use)}; restore the file from your backup"
        )
    entry = new_key(clock.now())
    _create_key_file(path, entry)
    return KeyRing.parse(entry)


def _read_key_file(path: Path) -> str | None:
    """The file's text; ``None`` when there is no such file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise DataKeySetupError(f"cannot read the data key file {path}: {error}") from None
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        _log.warning("the data key file %s can be read by others; chmod 600 it", path)
    return text


def _create_key_file(path: Path, entry: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(entry + "\n")
            file.flush()
            os.fsync(file.fileno())
        # The file's name, too, must survive a power cut before data depends on it.
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as error:
        raise DataKeySetupError(f"cannot create the data key file {path}: {error}") from None
    _log.warning(
        "Created the data key file %s (readable by this user only). Back it up, apart from "
        "the database: without it the client data stored here cannot be read.",
        path.resolve(),
    )


async def _keys_in_use(database_url: str) -> list[str]:
    database = sqlite_path(database_url)
    if database is not None and not database.exists():
        return []
    engine = create_engine(database_url)
    try:
        await check_database(engine)
        async with engine.connect() as connection:
            return await connection.run_sync(keys_in_use)
    finally:
        await engine.dispose()
