"""Invite tokens: made with ``secrets``, kept only as a hash, usable once before they expire."""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime

from bot.domain.models import Invite

TOKEN_BYTES = 24
"""192 random bits; the token is 32 URL-safe characters, within Telegram's 64 for /start."""


class InviteStatus(enum.StrEnum):
    """Whether an invite can still be used, and if not, why."""

    USABLE = "usable"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"  # no invite has this token


def new_token() -> str:
    """A fresh invite token for a deep link (``[A-Za-z0-9_-]`` only)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """What is stored instead of the token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(text: str) -> bool:
    """Whether ``text`` could be one of our tokens at all (cheap check before a lookup)."""
    return 16 <= len(text) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_") for c in text)


def status_of(invite: Invite | None, now: datetime) -> InviteStatus:
    """The invite's status at ``now``; revocation wins over use, use over expiry."""
    if invite is None:
        return InviteStatus.UNKNOWN
    if invite.revoked_at is not None:
        return InviteStatus.REVOKED
    if invite.used_at is not None:
        return InviteStatus.USED
    if invite.expires_at <= now:
        return InviteStatus.EXPIRED
    return InviteStatus.USABLE
