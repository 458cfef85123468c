"""Fixtures of the practitioner's view of their clients: the flags' practice on the fakes,
and the real application over it."""

from __future__ import annotations

from tests.unit.flags.conftest import bot, practice

__all__ = ["bot", "practice"]
