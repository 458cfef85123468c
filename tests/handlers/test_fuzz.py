"""Ten thousand random updates through every handler: nothing unhandled, no Bot API 400.

``tests.fuzzing`` says what the users do; ``make fuzz`` runs it longer with other seeds.
"""

import json

from tests.fuzzing import fuzz

UPDATES = 10_000
SEED = 20261204


async def test_random_updates_raise_nothing_and_telegram_refuses_nothing() -> None:
    report = await fuzz(UPDATES, SEED)
    findings = json.dumps(report.summary(), indent=1, ensure_ascii=False)
    assert report.updates >= UPDATES
    assert report.errors == [], findings
    assert not report.bad_requests, findings
