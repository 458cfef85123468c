"""What the log keeps and drops."""

import logging

from bot.logging_setup import configure_logging


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_skipped_overlapping_job_runs_are_not_warned_about() -> None:
    configure_logging("INFO")
    scheduler = logging.getLogger("apscheduler.scheduler")
    kept = _Kept()
    scheduler.addHandler(kept)
    try:
        scheduler.warning(
            'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
            "outbox-tick",
            1,
        )
        scheduler.warning("Run time of job %r was missed by %s", "outbox-tick", "0:00:02")
    finally:
        scheduler.removeHandler(kept)
    assert kept.messages == ["Run time of job 'outbox-tick' was missed by 0:00:02"]


def test_at_debug_the_libraries_that_print_message_bodies_stay_at_info() -> None:
    configure_logging("DEBUG")
    for name in ("telegram.Bot", "telegram.ext.ExtBot"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.INFO
    for name in ("aiosqlite", "sqlalchemy.engine.Engine", "httpx"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("bot.services").getEffectiveLevel() == logging.DEBUG
    configure_logging("DEBUG", telegram_bodies=True)
    assert logging.getLogger("telegram.Bot").getEffectiveLevel() == logging.DEBUG
    configure_logging("INFO")
