"""Fetch a practitioner's calendar feed (an ``.ics`` address they gave us), safely.

The address comes from a user, so it is treated as hostile:

- Only ``https`` (``webcal://`` and ``webcals://``, which Apple and Google hand out, are
  read as ``https``); plain ``http`` only with ``allow_insecure`` (development, the
  sandbox, tests).
- No address on this machine or a private network: every address a name resolves to
  must be public, or the fetch is refused (loopback, private, link-local, multicast,
  reserved, unspecified, shared 100.64/10, cloud metadata such as 169.254.169.254 and
  fd00:ec2::254, and IPv6 forms that wrap such an IPv4 address). The check is made in
  the connector's resolver (``_GuardedResolver``), and the connector connects only to
  the addresses that resolver returned, with no DNS cache: a name cannot resolve to a
  public address for a check and to a private one for the connection (DNS
  rebinding). An IP address written in the URL is checked before any request.
  ``allow_insecure`` lifts this too.
- Redirects are followed by hand, at most ``MAX_REDIRECTS``, each new address checked
  as the first was.
- No cookies are kept or sent (``DummyCookieJar``), no proxy from the environment is
  used, and no credentials are sent: an address with a user name or password in it
  (``https://user:secret@host/...``) is refused (``credentials_in_url``) rather than
  quietly stripped, so the practitioner learns that we do not keep passwords and the
  fetch does not fail later as "refused" for a reason they cannot see.
- One deadline (``timeout_s``) covers the whole fetch, redirects and body included.
- The body is read in pieces and the fetch stops as soon as it passes ``max_bytes``
  (``Content-Length`` is checked first, but not trusted alone).

A calendar address is a secret (Google calls it the "secret address"), so neither log
lines nor :class:`CalendarFetchError` messages contain it: only its host. Use
:func:`mask_url` to show one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import weakref
from dataclasses import dataclass
from enum import StrEnum

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

_log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
USER_AGENT = "Stillpoint-calendar-sync/1.0 (+iCalendar subscription)"
_READ_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchErrorReason(StrEnum):
    """Why a calendar could not be fetched, one clear line each for the practitioner."""

    BAD_URL = "bad_url"
    NOT_HTTPS = "not_https"
    CREDENTIALS_IN_URL = "credentials_in_url"
    PRIVATE_ADDRESS = "private_address"
    NOT_FOUND = "not_found"
    REFUSED = "refused"
    TOO_BIG = "too_big"
    TIMEOUT = "timeout"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    UNREACHABLE = "unreachable"
    HTTP_ERROR = "http_error"


class CalendarFetchError(Exception):
    """The calendar could not be fetched: ``reason`` for the practitioner's line,
    ``message`` (the host, never the address) for the log."""

    def __init__(self, reason: FetchErrorReason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What the server sent: the body when ``changed``; on ``304 Not Modified``
    ``changed`` is false and ``body`` empty. ``etag`` and ``last_modified`` are the
    validators to send next time (the ones sent, if a 304 names none)."""

    changed: bool
    body: bytes
    etag: str | None
    last_modified: str | None


def calendar_session(
    *,
    allow_insecure: bool,
    resolver: AbstractResolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> aiohttp.ClientSession:
    """A session for :func:`fetch_calendar`, to share between fetches; call it with a
    running event loop and close it when done.

    ``resolver`` turns names into addresses (the system's by default); whatever it
    answers is checked as the module says, unless ``allow_insecure``. ``ssl_context``
    replaces the default certificate checks (a private CA, tests).
    """
    connector = aiohttp.TCPConnector(
        resolver=_GuardedResolver(resolver or DefaultResolver(), allow_private=allow_insecure),
        use_dns_cache=False,
        ssl=ssl_context if ssl_context is not None else True,
    )
    session = aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"},
        trust_env=False,
    )
    _sessions[session] = allow_insecure
    return session


# The sessions calendar_session made, with their allow_insecure: only they have the guard.
_sessions: weakref.WeakKeyDictionary[aiohttp.ClientSession, bool] = weakref.WeakKeyDictionary()


async def fetch_calendar(
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    allow_insecure: bool,
    timeout_s: float = 15,
    max_bytes: int = 5 * 1024 * 1024,
    session: aiohttp.ClientSession | None = None,
) -> FetchResult:
    """Fetch the calendar at ``url``, conditionally if ``etag`` or ``last_modified`` is
    known (``If-None-Match``, ``If-Modified-Since``).

    ``session``, if given, must come from :func:`calendar_session` with the same
    ``allow_insecure`` (anything else raises ``ValueError``: its connections would not be
    guarded); without one, a session is made for this fetch. Raises
    :class:`CalendarFetchError`.
    """
    target = _checked_url(url, allow_insecure=allow_insecure)
    if session is not None and _sessions.get(session) is not allow_insecure:
        raise ValueError("pass a session from calendar_session() with the same allow_insecure")
    own = session is None
    active = session if session is not None else calendar_session(allow_insecure=allow_insecure)
    try:
        async with asyncio.timeout(timeout_s):
            return await _fetch(
                active,
                target,
                etag=etag,
                last_modified=last_modified,
                allow_insecure=allow_insecure,
                max_bytes=max_bytes,
            )
    except TimeoutError:
        raise CalendarFetchError(
            FetchErrorReason.TIMEOUT, f"{target.host} did not answer within {timeout_s:g} s"
        ) from None
    finally:
        if own:
            await active.close()


def mask_url(url: str) -> str:
    """The address with its secret hidden, to show: scheme, host, and the last four
    characters of the path (before a final ``*.ics`` name, which is shown), e.g.
    ``https://calendar.google.com/…c3f2/basic.ics``. Never a user name, password or
    query; a short last segment is hidden whole."""
    try:
        parsed = URL(url.strip())
    except (ValueError, TypeError):
        return "…"
    if not parsed.scheme or not parsed.host:
        return "…"
    port = f":{parsed.explicit_port}" if parsed.explicit_port is not None else ""
    segments = [segment for segment in parsed.raw_path.split("/") if segment]
    tail = ""
    if segments:
        shown = ""
        secret = segments[-1]
        if secret.lower().endswith(".ics") and len(segments) > 1:
            secret, shown = segments[-2], f"/{segments[-1]}"
        tail = "/…" + (secret[-4:] if len(secret) > 8 else "") + shown
    elif parsed.raw_query_string:
        tail = "/…"
    return f"{parsed.scheme.lower()}://{parsed.host}{port}{tail}"


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a calendar may be fetched from this address when not ``allow_insecure``."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public_address(embedded):
            return False
    return not (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address in _SHARED
        or address in _METADATA
    )


_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class _ForbiddenAddressError(OSError):
    """A name resolved to an address a calendar may not come from."""


class _GuardedResolver(AbstractResolver):
    """Resolves through ``inner`` and, unless private addresses are allowed, refuses a
    name if any of its addresses is not public, so the connector never gets one."""

    def __init__(self, inner: AbstractResolver, *, allow_private: bool) -> None:
        self._inner = inner
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The addresses of ``host``, all checked."""
        found = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            for result in found:
                try:
                    address = ipaddress.ip_address(result["host"])
                except ValueError:
                    raise _ForbiddenAddressError(f"{host} resolved to no IP address") from None
                if not is_public_address(address):
                    raise _ForbiddenAddressError(f"{host} resolves to a non-public address")
        return found

    async def close(self) -> None:
        """Close the inner resolver."""
        await self._inner.close()


def _checked_url(raw: str, *, allow_insecure: bool) -> URL:
    try:
        url = URL(raw.strip())
    except (ValueError, TypeError):
        raise CalendarFetchError(FetchErrorReason.BAD_URL, "not a web address") from None
    scheme = url.scheme.lower()
    if scheme in ("webcal", "webcals"):
        url = url.with_scheme("https")
    elif scheme == "http" and not allow_insecure:
        raise CalendarFetchError(FetchErrorReason.NOT_HTTPS, f"{url.host} over plain http")
    elif scheme not in ("https", "http"):
        raise CalendarFetchError(
            FetchErrorReason.NOT_HTTPS if scheme else FetchErrorReason.BAD_URL,
            f"not an https address ({scheme or 'no scheme'})",
        )
    if not url.host:
        raise CalendarFetchError(FetchErrorReason.BAD_URL, "no host in the address")
    if url.user is not None or url.password is not None:
        raise CalendarFetchError(
            FetchErrorReason.CREDENTIALS_IN_URL, f"{url.host}: a user name or password in it"
        )
    if not allow_insecure:
        try:
            literal = ipaddress.ip_address(url.host)
        except ValueError:
            literal = None
        if literal is not None and not is_public_address(literal):
            raise CalendarFetchError(
                FetchErrorReason.PRIVATE_ADDRESS, f"{url.host} is not a public address"
            )
    return url.with_fragment(None)


async def _fetch(
    session: aiohttp.ClientSession,
    url: URL,
    *,
    etag: str | None,
    last_modified: str | None,
    allow_insecure: bool,
    max_bytes: int,
) -> FetchResult:
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    for _ in range(MAX_REDIRECTS + 1):
        host = url.host
        try:
            async with session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in _REDIRECTS:
                    url = _redirect_target(response, allow_insecure=allow_insecure)
                    continue
                result = await _result(response, etag, last_modified, max_bytes)
        except aiohttp.ClientError as error:
            raise _fetch_error(error, host) from None
        _log.debug("calendar from %s: HTTP %s", host, response.status)
        return result
    raise CalendarFetchError(
        FetchErrorReason.TOO_MANY_REDIRECTS, f"more than {MAX_REDIRECTS} redirects from {host}"
    )


def _redirect_target(response: aiohttp.ClientResponse, *, allow_insecure: bool) -> URL:
    location = response.headers.get("Location")
    if not location:
        raise CalendarFetchError(
            FetchErrorReason.HTTP_ERROR, f"{response.url.host} redirected to nowhere"
        )
    try:
        target = response.url.join(URL(location))
    except (ValueError, TypeError):
        raise CalendarFetchError(
            FetchErrorReason.BAD_URL, f"{response.url.host} redirected to a broken address"
        ) from None
    return _checked_url(str(target), allow_insecure=allow_insecure)


async def _result(
    response: aiohttp.ClientResponse,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
) -> FetchResult:
    host = response.url.host
    status = response.status
    if status == 304:
        return FetchResult(
            changed=False,
            body=b"",
            etag=response.headers.get("ETag") or etag,
            last_modified=response.headers.get("Last-Modified") or last_modified,
        )
    if status in (404, 410):
        raise CalendarFetchError(FetchErrorReason.NOT_FOUND, f"{host} answered {status}")
    if status in (401, 403):
        raise CalendarFetchError(FetchErrorReason.REFUSED, f"{host} answered {status}")
    if not 200 <= status < 300:
        raise CalendarFetchError(FetchErrorReason.HTTP_ERROR, f"{host} answered {status}")
    too_big = CalendarFetchError(
        FetchErrorReason.TOO_BIG, f"{host} sent more than {max_bytes} bytes"
    )
    if response.content_length is not None and response.content_length > max_bytes:
        raise too_big
    body = bytearray()
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise too_big
    return FetchResult(
        changed=True,
        body=bytes(body),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )


def _fetch_error(error: aiohttp.ClientError, host: str | None) -> CalendarFetchError | TimeoutError:
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        if isinstance(error.os_error, _ForbiddenAddressError):
            return CalendarFetchError(FetchErrorReason.PRIVATE_ADDRESS, str(error.os_error))
        return CalendarFetchError(FetchErrorReason.UNREACHABLE, f"{host}: name not found")
    if isinstance(error, TimeoutError):
        return error
    if isinstance(error, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return CalendarFetchError(
            FetchErrorReason.UNREACHABLE, f"{host}: its certificate was not accepted"
        )
    if isinstance(error, aiohttp.ClientConnectorError):
        why = error.strerror or type(error.os_error).__name__
        return CalendarFetchError(FetchErrorReason.UNREACHABLE, f"{host}: {why}")
    if isinstance(error, aiohttp.InvalidURL):
        return CalendarFetchError(FetchErrorReason.BAD_URL, f"{host}: not a usable address")
    return CalendarFetchError(
        FetchErrorReason.UNREACHABLE, f"{host}: the connection failed ({type(error).__name__})"
    )
