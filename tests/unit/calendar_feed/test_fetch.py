"""Fetching a calendar address: conditional requests, redirects, and every refusal."""

from __future__ import annotations

import ipaddress
import logging
from datetime import UTC, datetime

import aiohttp
import pytest

from bot.calendar_feed.fetch import (
    CalendarFetchError,
    FetchErrorReason,
    FetchResult,
    calendar_session,
    fetch_calendar,
    is_public_address,
    mask_url,
)
from bot.calendar_feed.parse import CalendarFormatError, parse_calendar
from tests.unit.calendar_feed.support import (
    CALENDAR_V1,
    CALENDAR_V2,
    HTML_PAGE,
    SecureServed,
    Served,
)

Reason = FetchErrorReason


async def get(url: str, **options: object) -> FetchResult:
    """A first fetch (no validators) from the loopback test server."""
    arguments: dict[str, object] = {"etag": None, "last_modified": None, "allow_insecure": True}
    arguments.update(options)
    return await fetch_calendar(url, **arguments)  # type: ignore[arg-type]


async def refused(url: str, **options: object) -> CalendarFetchError:
    with pytest.raises(CalendarFetchError) as raised:
        await get(url, **options)
    return raised.value


# --- the calendar, and whether it changed -------------------------------------------------


async def test_a_calendar_is_fetched_then_not_modified_then_changed(http_server: Served) -> None:
    url = f"{http_server.base}/calendar.ics"

    first = await get(url)
    same = await get(url, etag=first.etag, last_modified=first.last_modified)
    http_server.server.publish(CALENDAR_V2)
    changed = await get(url, etag=first.etag, last_modified=first.last_modified)

    assert first == FetchResult(True, CALENDAR_V1, '"v1"', http_server.server.last_modified_of(1))
    assert same == FetchResult(False, b"", '"v1"', first.last_modified)
    assert changed.changed
    assert changed.body == CALENDAR_V2
    assert changed.etag == '"v2"'
    sent = http_server.server.requests
    assert "If-None-Match" not in sent[0].headers
    assert sent[1].headers["If-None-Match"] == '"v1"'
    assert sent[1].headers["If-Modified-Since"] == first.last_modified
    assert sent[0].headers["User-Agent"].startswith("Stillpoint")


async def test_last_modified_alone_gets_a_304(http_server: Served) -> None:
    url = f"{http_server.base}/calendar.ics"
    first = await get(url)

    again = await get(url, last_modified=first.last_modified)

    assert not again.changed
    assert again.last_modified == first.last_modified


async def test_no_cookie_is_kept_or_sent(http_server: Served) -> None:
    url = f"{http_server.base}/calendar.ics"
    async with calendar_session(allow_insecure=True) as session:
        await get(url, session=session)
        await get(url, session=session)

    assert [r.headers.get("Cookie") for r in http_server.server.requests] == [None, None]


async def test_a_web_page_is_fetched_but_is_no_calendar(http_server: Served) -> None:
    page = await get(f"{http_server.base}/page.html")

    assert page.body == HTML_PAGE
    with pytest.raises(CalendarFormatError, match="web page"):
        parse_calendar(page.body, now=datetime(2026, 3, 1, tzinfo=UTC))


# --- redirects -----------------------------------------------------------------------


@pytest.mark.parametrize("hops", [1, 2, 3])
async def test_up_to_three_redirects_are_followed(http_server: Served, hops: int) -> None:
    result = await get(f"{http_server.base}/hop/{hops}")

    assert result.body == CALENDAR_V1
    assert len(http_server.server.requests) == hops + 1


async def test_a_fourth_redirect_is_refused(http_server: Served) -> None:
    error = await refused(f"{http_server.base}/hop/4")

    assert error.reason is Reason.TOO_MANY_REDIRECTS
    assert len(http_server.server.requests) == 4


async def test_a_redirect_to_a_private_address_is_refused(https_server: SecureServed) -> None:
    server = https_server.server
    server.redirect_to = "https://internal.test/calendar.ics"
    fine = await get(
        f"{https_server.base}/calendar.ics", allow_insecure=False, session=https_server.session
    )

    error = await refused(
        f"{https_server.base}/away", allow_insecure=False, session=https_server.session
    )

    assert fine.body == CALENDAR_V1
    assert error.reason is Reason.PRIVATE_ADDRESS
    assert [r.path for r in server.requests] == ["/calendar.ics", "/away"]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("https://10.0.0.7/calendar.ics", Reason.PRIVATE_ADDRESS),
        ("https://[fd00:ec2::254]/latest/meta-data/", Reason.PRIVATE_ADDRESS),
        ("https://mixed.test/calendar.ics", Reason.PRIVATE_ADDRESS),
        ("http://calendar.test/calendar.ics", Reason.NOT_HTTPS),
        ("https://user:secret@calendar.test/calendar.ics", Reason.CREDENTIALS_IN_URL),
        ("file:///etc/passwd", Reason.NOT_HTTPS),
    ],
)
async def test_every_redirect_is_checked_as_the_address_was(
    https_server: SecureServed, target: str, reason: FetchErrorReason
) -> None:
    https_server.server.redirect_to = target

    error = await refused(
        f"{https_server.base}/away", allow_insecure=False, session=https_server.session
    )

    assert error.reason is reason
    assert [r.path for r in https_server.server.requests] == ["/away"]


async def test_webcal_is_fetched_as_https(https_server: SecureServed) -> None:
    url = https_server.base.replace("https://", "webcal://") + "/calendar.ics"

    result = await get(url, allow_insecure=False, session=https_server.session)

    assert result.body == CALENDAR_V1


# --- refused before any request ---------------------------------------------------------


async def test_plain_http_is_refused_unless_insecure_is_allowed(http_server: Served) -> None:
    url = f"{http_server.base}/calendar.ics"

    error = await refused(url, allow_insecure=False)
    fetched = await get(url, allow_insecure=True)

    assert error.reason is Reason.NOT_HTTPS
    assert fetched.changed
    assert len(http_server.server.requests) == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/calendar.ics",
        "https://[::1]/calendar.ics",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/calendar.ics",
        "https://100.64.0.1/calendar.ics",
        "https://0.0.0.0/calendar.ics",
        "https://[::ffff:192.168.0.1]/calendar.ics",
        "https://localhost/calendar.ics",  # a name: the resolver refuses it
    ],
)
async def test_addresses_inside_a_network_are_refused(url: str) -> None:
    error = await refused(url, allow_insecure=False)

    assert error.reason is Reason.PRIVATE_ADDRESS


@pytest.mark.parametrize("url", ["https://127.1/calendar.ics", "https://2130706433/calendar.ics"])
async def test_old_numeric_forms_of_an_address_are_refused(url: str) -> None:
    error = await refused(url, allow_insecure=False)

    assert error.reason in (Reason.PRIVATE_ADDRESS, Reason.BAD_URL)


async def test_a_name_with_one_private_address_among_public_ones_is_refused(
    https_server: SecureServed,
) -> None:
    error = await refused(
        "https://mixed.test/calendar.ics", allow_insecure=False, session=https_server.session
    )

    assert error.reason is Reason.PRIVATE_ADDRESS


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("calendar.google.com/calendar/ical/x/basic.ics", Reason.BAD_URL),
        ("https:///calendar.ics", Reason.BAD_URL),
        ("ftp://example.org/calendar.ics", Reason.NOT_HTTPS),
        ("https://anna:secret@example.org/calendar.ics", Reason.CREDENTIALS_IN_URL),
        ("https://anna@example.org/calendar.ics", Reason.CREDENTIALS_IN_URL),
    ],
)
async def test_addresses_that_are_not_usable_are_refused(
    url: str, reason: FetchErrorReason
) -> None:
    error = await refused(url, allow_insecure=False)

    assert error.reason is reason


async def test_a_session_must_be_a_calendar_session_with_the_same_policy(
    http_server: Served,
) -> None:
    url = f"{http_server.base}/calendar.ics"
    async with calendar_session(allow_insecure=False) as strict:
        with pytest.raises(ValueError, match="calendar_session"):
            await get(url, allow_insecure=True, session=strict)
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(ValueError, match="calendar_session"):
            await get(url, allow_insecure=True, session=plain)
    assert http_server.server.requests == []


# --- what the server does ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/big", "/big-declared", "/endless"])
async def test_more_than_five_mebibytes_is_refused(http_server: Served, path: str) -> None:
    error = await refused(f"{http_server.base}{path}", timeout_s=10)

    assert error.reason is Reason.TOO_BIG


async def test_a_slow_server_times_out(http_server: Served) -> None:
    error = await refused(f"{http_server.base}/slow", timeout_s=0.2)

    assert error.reason is Reason.TIMEOUT


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/gone", Reason.NOT_FOUND), ("/private", Reason.REFUSED), ("/broken", Reason.HTTP_ERROR)],
)
async def test_error_answers_have_their_reason(
    http_server: Served, path: str, reason: FetchErrorReason
) -> None:
    error = await refused(f"{http_server.base}{path}")

    assert error.reason is reason


async def test_a_closed_port_is_unreachable(http_server: Served) -> None:
    error = await refused("http://127.0.0.1:9/calendar.ics")

    assert error.reason is Reason.UNREACHABLE


async def test_an_untrusted_certificate_is_unreachable(https_server: SecureServed) -> None:
    port = https_server.base.rsplit(":", 1)[1]

    error = await refused(f"https://127.0.0.1:{port}/calendar.ics", allow_insecure=True)

    assert error.reason is Reason.UNREACHABLE
    assert "certificate" in error.message


# --- the address is a secret -----------------------------------------------------------------


async def test_neither_logs_nor_errors_show_the_address(
    http_server: Served, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "private-0123456789abcdef0123456789abc3f2"
    caplog.set_level(logging.DEBUG)
    errors = [
        await refused(f"{http_server.base}/{secret}/basic.ics"),
        await refused(f"http://127.0.0.1:9/{secret}/basic.ics"),
        await refused(f"http://anna:{secret}@127.0.0.1/basic.ics"),
        await refused(f"https://127.0.0.1/{secret}/basic.ics", allow_insecure=False),
    ]
    await get(f"{http_server.base}/calendar.ics?token={secret}")

    shown = [str(e) for e in errors] + [e.message for e in errors] + caplog.messages
    assert not [line for line in shown if secret in line]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "https://calendar.google.com/calendar/ical/anna%40gmail.com/"
            "private-0123456789abcdef0123456789abc3f2/basic.ics",
            "https://calendar.google.com/…c3f2/basic.ics",
        ),
        (
            "webcal://p52-caldav.icloud.com/published/2/MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTZ5Zk9c",
            "webcal://p52-caldav.icloud.com/…Zk9c",
        ),
        ("https://anna:secret@example.org:8443/cal", "https://example.org:8443/…"),
        ("https://example.org/?token=0123456789", "https://example.org/…"),
        ("https://example.org", "https://example.org"),
        ("not an address", "…"),
    ],
)
def test_mask_url_shows_the_host_and_four_characters(url: str, masked: str) -> None:
    assert mask_url(url) == masked


# --- which addresses are public ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700:4700::1111", True),
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("169.254.1.1", False),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("0.0.0.0", False),  # noqa: S104
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("192.0.2.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd00:ec2::254", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("2002:a00:1::", False),  # 6to4 of 10.0.0.1
        ("2001:db8::1", False),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public
