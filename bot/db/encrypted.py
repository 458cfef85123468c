"""Columns whose values are stored encrypted: client names, their words, message payloads.

The process's data keys (``bot/encryption.py``) are loaded once at start-up and given to
:func:`use_data_keys`; every value bound to an encrypted column is then encrypted with the
current key, bound to its table and column, and every value read is decrypted with the key
it names. Matching on such a column happens in the application, never in SQL.

A value not in the encrypted form is read as it is (nothing written by the application is
stored so; an upgrade written out as SQL, not run, would leave values so until
``stillpoint keys rotate``).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from bot.encryption import DataKeyError, key_id_of


class ValueCipher(Protocol):
    """What encrypted columns need of a key ring (``bot.encryption.KeyRing``)."""

    def key_ids(self) -> tuple[str, ...]:
        """The ids of the keys it holds."""
        ...

    def encrypt(self, plain: str, purpose: str) -> str:
        """``plain`` encrypted for ``purpose``."""
        ...

    def decrypt(self, value: str, purpose: str) -> str:
        """The plain text of ``value``, made for ``purpose``."""
        ...


class _Keys:
    cipher: ValueCipher | None = None


def use_data_keys(cipher: ValueCipher | None) -> None:
    """Make ``cipher`` the process's data keys (``None`` forgets them)."""
    _Keys.cipher = cipher


def data_keys() -> ValueCipher:
    """The process's data keys; ``DataKeyError`` when none were loaded."""
    if _Keys.cipher is None:
        raise DataKeyError("no data key is loaded (DATA_KEY or DATA_KEY_FILE)")
    return _Keys.cipher


def seal(plain: str, purpose: str) -> str:
    """``plain`` encrypted with the current data key for ``purpose``."""
    return data_keys().encrypt(plain, purpose)


def unseal(stored: str, purpose: str) -> str:
    """The plain text of a stored value; one not in the encrypted form is returned as is."""
    if key_id_of(stored) is None:
        return stored
    return data_keys().decrypt(stored, purpose)


class EncryptedText(TypeDecorator[str]):
    """Text stored encrypted, bound to ``purpose`` (its ``table.column``)."""

    impl = Text
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        """Encrypt values for ``purpose``, so they decrypt only in this column."""
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Encrypt on the way in."""
        return None if value is None else seal(value, self.purpose)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        """Decrypt on the way out."""
        return None if value is None else unseal(value, self.purpose)


class EncryptedJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object stored as encrypted text, bound to ``purpose``."""

    impl = Text
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        """Encrypt values for ``purpose``, so they decrypt only in this column."""
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> str | None:
        """Serialize, then encrypt."""
        if value is None:
            return None
        return seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")), self.purpose)

    def process_result_value(self, value: str | None, dialect: Dialect) -> dict[str, Any] | None:
        """Decrypt, then parse."""
        if value is None:
            return None
        parsed: dict[str, Any] = json.loads(unseal(value, self.purpose))
        return parsed
