"""``python -m benchmarks burst --webhook`` at a small size on PostgreSQL: two replicas of
``stillpoint run --webhook-url`` behind a round-robin load balancer send a burst while
clients write, one replica restarting halfway; every reminder arrives once, every
update is answered once, Telegram never answers 409, and ``/metrics`` counts what the
emulator saw. No time is asserted."""

from __future__ import annotations

import json

import pytest

from benchmarks.__main__ import main
from bot.services.delivery.dispatcher import SENDS_AT_ONCE
from tests.conftest import PostgresServer

pytestmark = pytest.mark.e2e


def test_two_webhook_replicas_take_every_update_once_and_send_every_reminder_once(
    postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    small = ["--messages", "60", "--processes", "2", "--updates", "20"]
    database = ["--database", postgres_server.admin_url]

    assert main(["burst", *small, "--webhook", "--restart", *database, "--json"]) == 0

    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (result["webhook"], result["replica_restarted"]) == (True, True)
    assert (result["delivered"], result["duplicates"], result["lost"]) == (60, 0, 0)
    assert result["http_409"] == 0
    assert (result["updates_answered"], result["updates_answered_twice"]) == (20, 0)
    assert result["lost_updates"] == 0
    assert result["metrics_outbox_sent"] == result["emulator_delivered"] == 60
    assert result["metrics_match"] is True
    before, after = result["mid_burst_emulator_delivered"]
    # The scrape may lag the emulator by the sends not yet recorded: three per replica.
    assert before - 2 * SENDS_AT_ONCE <= result["mid_burst_metrics_outbox_sent"] <= after
