"""Data keys and the encryption of single values with them (AES-256-GCM).

A *key ring* is written as ``id:key[,id:key...]``: the first key encrypts, every key
decrypts (so a ring can hold the new key and the old ones during a rotation). A key is 32
random bytes in URL-safe base64; its id is a short name stored beside each value, so a
value always says which key it needs. ``stillpoint keys new`` prints a fresh one.

An encrypted value is text: ``sp1:<key id>:<base64 of nonce and ciphertext>``. The nonce
is 12 random bytes, new for every value. What the value is (a table and column, say) is
bound to it as associated data, so a value copied into another column does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sp1"
KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class DataKeyError(ValueError):
    """A key ring that cannot be read, or a value whose key is not in the ring."""


class DecryptionError(ValueError):
    """A value that does not decrypt with its key (altered, or not what it claims)."""


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_key(now: datetime) -> str:
    """A fresh ``id:key`` entry: the id is ``now``'s date and a few random letters."""
    key_id = f"{now:%Y%m%d}-{secrets.token_hex(3)}"
    return f"{key_id}:{_b64encode(secrets.token_bytes(KEY_BYTES))}"


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The data keys a process knows, and which one encrypts."""

    keys: Mapping[str, bytes] = field(repr=False)  # never in a log line or a traceback
    current: str
    _ciphers: Mapping[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise DataKeyError(f"the current key {self.current!r} is not in the ring")
        # Made once: a cipher object costs about a quarter of one value's decryption.
        ciphers = MappingProxyType({key_id: AESGCM(key) for key_id, key in self.keys.items()})
        object.__setattr__(self, "_ciphers", ciphers)

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Read ``id:key[,id:key...]``; ``DataKeyError`` says what is wrong, never the key."""
        keys: dict[str, bytes] = {}
        entries = [entry.strip() for entry in text.split(",") if entry.strip()]
        if not entries:
            raise DataKeyError("the data key is empty; `stillpoint keys new` prints one")
        for position, entry in enumerate(entries, start=1):
            key_id, sep, encoded = entry.partition(":")
            if not sep or not _KEY_ID.match(key_id):
                raise DataKeyError(f"data key {position} is not written as id:key")
            try:
                key = _b64decode(encoded)
            except (binascii.Error, ValueError):
                raise DataKeyError(f"data key {key_id!r} is not base64") from None
            if len(key) != KEY_BYTES:
                raise DataKeyError(f"data key {key_id!r} is not {KEY_BYTES} bytes long")
            if key_id in keys:
                raise DataKeyError(f"data key {key_id!r} appears twice")
            keys[key_id] = key
        first = entries[0].partition(":")[0]
        return cls(MappingProxyType(keys), first)

    def key_ids(self) -> tuple[str, ...]:
        """The ids of every key in the ring, the current one first."""
        return (self.current, *(key_id for key_id in self.keys if key_id != self.current))

    def encrypt(self, plain: str, purpose: str) -> str:
        """``plain`` encrypted with the current key, bound to ``purpose``."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[self.current].encrypt(
            nonce, plain.encode("utf-8"), purpose.encode("utf-8")
        )
        return f"{PREFIX}:{self.current}:{_b64encode(nonce + sealed)}"

    def decrypt(self, value: str, purpose: str) -> str:
        """The plain text of ``value`` (made by :meth:`encrypt` for ``purpose``)."""
        prefix, key_id, body = _parts(value)
        if prefix != PREFIX:
            raise DecryptionError("not an encrypted value")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DataKeyError(f"data key {key_id!r} is needed and not given (DATA_KEY)")
        try:
            raw = _b64decode(body)
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode("utf-8"))
        except (InvalidTag, binascii.Error, ValueError):
            raise DecryptionError(f"a value does not decrypt with key {key_id!r}") from None
        return plain.decode("utf-8")


def key_id_of(value: str) -> str | None:
    """The id of the key an encrypted value needs; ``None`` for a plain value."""
    prefix, key_id, _ = _parts(value)
    return key_id if prefix == PREFIX else None


def _parts(value: str) -> tuple[str, str, str]:
    prefix, _, rest = value.partition(":")
    key_id, _, body = rest.partition(":")
    return prefix, key_id, body
