"""Calendar servers on 127.0.0.1 for the fetch tests.

``http_server`` is reached as ``http://127.0.0.1:<port>`` (so with ``allow_insecure``).
``https_server`` is reached as ``https://calendar.test:<port>`` through a test resolver
(``calendar.test`` is 127.0.0.1, ``internal.test`` 10.0.0.7, ``mixed.test`` a public
address and 10.0.0.7) with 127.0.0.1 counted as public, so the checks of a fetch without
``allow_insecure`` can be seen at work against a real server.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.calendar_feed import fetch
from tests.unit.calendar_feed.support import (
    CalendarServer,
    NamesResolver,
    SecureServed,
    Served,
    TestCertificate,
    start,
)

LOOPBACK = ipaddress.ip_address("127.0.0.1")


@pytest.fixture
async def http_server() -> AsyncIterator[Served]:
    server = CalendarServer()
    runner, port = await start(server)
    server.base = f"http://127.0.0.1:{port}"
    try:
        yield Served(server, server.base)
    finally:
        await runner.cleanup()


@pytest.fixture
async def https_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SecureServed]:
    real = fetch.is_public_address
    monkeypatch.setattr(
        fetch, "is_public_address", lambda address: address == LOOPBACK or real(address)
    )
    certificate = TestCertificate(["calendar.test", "internal.test", "mixed.test"])
    server = CalendarServer()
    runner, port = await start(server, certificate.server_context(str(tmp_path)))
    server.base = f"https://calendar.test:{port}"
    resolver = NamesResolver(
        {
            "calendar.test": ["127.0.0.1"],
            "internal.test": ["10.0.0.7"],
            "mixed.test": ["93.184.215.14", "10.0.0.7"],
        }
    )
    session = fetch.calendar_session(
        allow_insecure=False, resolver=resolver, ssl_context=certificate.client_context()
    )
    try:
        yield SecureServed(server, server.base, session)
    finally:
        await session.close()
        await runner.cleanup()
