"""Who a Telegram user is to the bot, and which commands each kind of user sees."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """A Telegram user's standing with the bot."""

    GUEST = "guest"  # neither a practitioner nor a joined client
    CLIENT = "client"
    PRACTITIONER = "practitioner"


COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.GUEST: ("start", "help", "privacy"),
    Role.CLIENT: (
        "next",
        "timezone",
        "pause",
        "resume",
        "help",
        "privacy",
        "mydata",
        "stop",
        "erase",
    ),
    Role.PRACTITIONER: (
        "today",
        "upcoming",
        "flags",
        "book",
        "reschedule",
        "cancel",
        "clients",
        "client",
        "calendar",
        "newclient",
        "invites",
        "settings",
        "start",
        "help",
        "privacy",
    ),
}
"""The command menu of each role, in menu order. Descriptions live in ``messages``."""


def commands_for(role: Role) -> tuple[str, ...]:
    """The commands a user with ``role`` sees in their menu."""
    return COMMANDS[role]
