"""``/healthz`` and ``/metrics`` (``bot.ops_server``) on the fakes, through real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from types import TracebackType
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY

from bot import metrics
from bot.domain.delivery import RateLimited, RecipientUnreachable
from bot.domain.models import FlagState, OutboxKind, OutboxState, TriageLevel
from bot.domain.timing import QuietHours
from bot.ops_server import DISPATCHER_SILENT_S, ops_app
from bot.runtime import Runtime
from bot.services.delivery.dispatcher import Dispatcher
from bot.settings import load_settings
from tests.fakes import FakeDatabase, FakeNotifier, FixedClock
from tests.integration import records
from tests.integration.records import T0

NOW = T0 + timedelta(days=3)


class _AwayDatabase:
    """A unit-of-work factory whose database cannot be reached."""

    def __call__(self) -> _AwayDatabase:
        return self

    async def __aenter__(self) -> Any:
        raise ConnectionRefusedError("connection refused")

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


def _runtime(uow: Any) -> Runtime:
    clock = FixedClock(NOW)
    dispatcher = Dispatcher(uow, FakeNotifier(), clock, quiet=QuietHours.parse("21:00-08:00"))
    return Runtime(settings=load_settings(None), clock=clock, uow=uow, dispatcher=dispatcher)


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
async def client(db: FakeDatabase) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(ops_app(_runtime(db)))) as client:
        yield client


async def test_healthy_while_the_database_answers_and_the_dispatcher_works(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "dispatcher": "ok"},
    }


async def test_unhealthy_when_the_database_cannot_be_reached() -> None:
    async with TestClient(TestServer(ops_app(_runtime(_AwayDatabase())))) as client:
        response = await client.get("/healthz")
        assert response.status == 503
        body = await response.json()
        assert body["status"] == "unhealthy"
        assert body["checks"]["database"] == "unreachable (ConnectionRefusedError)"

        page = await client.get("/metrics")  # the process's own counters still come
        assert page.status == 200
        assert "stillpoint_sends_total" in await page.text()


async def test_unhealthy_when_the_dispatcher_has_been_silent(db: FakeDatabase) -> None:
    runtime = _runtime(db)
    runtime.sender._beat -= DISPATCHER_SILENT_S + 30  # as if its last pass was that long ago
    async with TestClient(TestServer(ops_app(runtime))) as client:
        response = await client.get("/healthz")
        assert response.status == 503
        checks = (await response.json())["checks"]
        assert checks["database"] == "ok"
        assert checks["dispatcher"].startswith("silent for ")


def _value(page: str, name: str) -> float | None:
    found = [line.rsplit(" ", 1)[1] for line in page.splitlines() if line.startswith(name + " ")]
    return float(found[0]) if found else None


async def test_metrics_read_the_outbox_and_the_open_flags_from_the_database(
    db: FakeDatabase, client: TestClient[Any, Any]
) -> None:
    async with db() as uow:
        practitioner, client_record = await records.practitioner_and_client(uow)
        for n, state in enumerate([OutboxState.PENDING, OutboxState.PENDING, OutboxState.SENT]):
            await uow.outbox.add(records.outbox_message(dedup_key=f"r{n}", state=state))
        for hours, level, flag_state in [
            (5, TriageLevel.URGENT, FlagState.OPEN),
            (1, TriageLevel.URGENT, FlagState.OPEN),
            (9, TriageLevel.CONCERN, FlagState.ACKNOWLEDGED),
        ]:
            await uow.flags.add(
                records.flag(
                    1,
                    client_record.id,
                    practitioner.id,
                    level=level,
                    state=flag_state,
                    created_at=NOW - timedelta(hours=hours),
                )
            )
        await uow.commit()

    page = await (await client.get("/metrics")).text()

    reminder = f'kind="{OutboxKind.REMINDER}"'
    assert _value(page, f'stillpoint_outbox_messages{{{reminder},state="pending"}}') == 2
    assert _value(page, f'stillpoint_outbox_messages{{{reminder},state="sent"}}') == 1
    assert _value(page, 'stillpoint_open_flags{level="urgent"}') == 2
    assert _value(page, 'stillpoint_open_flags{level="concern"}') is None  # acknowledged
    oldest = 'stillpoint_open_flag_oldest_age_seconds{level="urgent"}'
    assert _value(page, oldest) == 5 * 3600


def test_failed_sends_are_counted_by_the_class_of_their_error() -> None:
    def count(error: str) -> float:
        found = REGISTRY.get_sample_value("stillpoint_telegram_errors_total", {"error": error})
        return float(found or 0.0)

    before = {name: count(name) for name in ("rate_limited", "recipient_unreachable", "unexpected")}
    metrics.count_telegram_error(RateLimited(3))
    metrics.count_telegram_error(RecipientUnreachable("blocked"))
    metrics.count_telegram_error(RecipientUnreachable("blocked"))
    metrics.count_telegram_error(KeyError("a bug"))
    assert count("rate_limited") - before["rate_limited"] == 1
    assert count("recipient_unreachable") - before["recipient_unreachable"] == 2
    assert count("unexpected") - before["unexpected"] == 1
