"""``stillpoint run`` with the bot's own pacing lifted: the dispatcher's throughput alone.

Used by ``burst --no-limits``. The application is built exactly as ``stillpoint run``
builds it; only the pacer inside its rate limiter is swapped for one that never waits.
The dispatcher keeps its production batch size. There is no setting for the pacing
limits, so this replaces ``build_application`` as ``bot.launch`` sees it.
"""

from __future__ import annotations

import sys
from typing import Any

from telegram.ext import Application

from bot import cli, launch
from bot.app import build_application
from bot.services.delivery.pacing import Limits, Pacer
from bot.telegram.rate_limiter import PacedRateLimiter

UNLIMITED = Limits(
    overall_per_second=1_000_000.0,
    private_chat_per_second=1_000_000.0,
    group_per_minute=1_000_000.0,
)


def build_unpaced_application(*args: Any, **kwargs: Any) -> Application:  # type: ignore[type-arg]
    """``build_application``, then a pacer that lets every send through at once."""
    application = build_application(*args, **kwargs)
    limiter = application.bot.rate_limiter
    if not isinstance(limiter, PacedRateLimiter):
        raise TypeError("expected the bot's PacedRateLimiter")
    limiter.pacer = Pacer(UNLIMITED)
    return application


def main() -> int:
    """Run the bot like ``stillpoint run``, unpaced."""
    launch.build_application = build_unpaced_application  # type: ignore[attr-defined]
    return cli.main(["run"])


if __name__ == "__main__":
    sys.exit(main())
