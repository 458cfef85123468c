"""Logging: one line per event, and no library that would print a bot token or client text."""

from __future__ import annotations

import logging

# httpx logs every request URL at INFO, and Bot API URLs contain the token.
_QUIET_LIBRARIES = (
    "httpx",
    "httpcore",
    "telegram.ext.Updater",
    "apscheduler",
    "aiohttp.access",
    "alembic",
)


def configure_logging(level: str) -> None:
    """Send logs to stderr at ``level``, libraries at WARNING or above."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
