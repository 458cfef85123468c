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
    "aiosqlite",  # at DEBUG it logs each call with its arguments
)
_COMPACTED_LIBRARIES = ("telegram",)
# At DEBUG it prints whole Bot API requests: message text, client names, invite links.
# (SQLAlchemy logs statements only when asked, and the engine hides their parameters.)
_BODY_LIBRARIES = ("telegram",)


class CompactLibraryTracebacks(logging.Filter):
    """Turn a library's traceback into one line naming the error; our own keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if record.exc_info and record.name.startswith(_COMPACTED_LIBRARIES):
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


class SkippedOverlappingRuns(logging.Filter):
    """Drop APScheduler's warning that a job run was skipped because the previous one is
    still going: the jobs are built for it (one pass at a time, the next catches up)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep everything else."""
        return "maximum number of running instances reached" not in record.getMessage()


def configure_logging(level: str, *, telegram_bodies: bool = False) -> None:
    """Send logs to stderr at ``level``, libraries at WARNING or above; the libraries
    that would print message bodies at INFO or above unless ``telegram_bodies``."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    numeric = logging.getLevelName(level)
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric))
    for name in _BODY_LIBRARIES:
        logging.getLogger(name).setLevel(numeric if telegram_bodies else max(logging.INFO, numeric))
    logging.getLogger("apscheduler.scheduler").addFilter(SkippedOverlappingRuns())
    if numeric > logging.DEBUG:
        for handler in logging.getLogger().handlers:
            handler.addFilter(CompactLibraryTracebacks())
