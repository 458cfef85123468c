"""Calendars and a calendar server for the calendar feed tests.

``event`` writes one event's body for ``ics`` (``benchmarks/calendar_data.py``, beside
``generated_calendar``, the big calendar the ``calendar`` benchmark reads).
``CalendarServer`` is an ``aiohttp.web`` server on 127.0.0.1 with the routes the fetch
tests use, over plain HTTP or over HTTPS with a certificate of its own
(``TestCertificate``) for the names a test resolver gives it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.typedefs import Handler
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from benchmarks.calendar_data import ics


def event(uid: str, start: str, end: str | None = None, *extra: str, title: str = "") -> str:
    """A ``VEVENT`` body: ``start``/``end`` are whole property lines after the name
    (``";TZID=Europe/Berlin:20260302T100000"`` or ``":20260302T090000Z"``)."""
    lines = [f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"DTSTART{start}"]
    if end is not None:
        lines.append(f"DTEND{end}")
    lines.append(f"SUMMARY:{title or uid}")
    lines.extend(extra)
    return "\n".join(lines)


# --- a calendar server ---------------------------------------------------------------


class TestCertificate:
    """A certificate authority and a server certificate it signed for ``names``."""

    __test__ = False

    def __init__(self, names: Iterable[str]) -> None:
        now = datetime.now(UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Stillpoint test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        names = list(names)
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name) for name in names]),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
        self.cert_pem = leaf.public_bytes(serialization.Encoding.PEM)
        self.key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def client_context(self) -> ssl.SSLContext:
        """Trusts the test authority only."""
        return ssl.create_default_context(cadata=self.ca_pem)

    def server_context(self, folder: str) -> ssl.SSLContext:
        """Serves the server certificate (files written to ``folder``)."""
        cert, key = f"{folder}/server.pem", f"{folder}/server.key"
        with open(cert, "wb") as out:
            out.write(self.cert_pem)
        with open(key, "wb") as out:
            out.write(self.key_pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        return context


class NamesResolver(AbstractResolver):
    """Resolves the names it is given to the addresses it is given, nothing else."""

    def __init__(self, names: Mapping[str, list[str]]) -> None:
        self.names = dict(names)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The addresses given for ``host``."""
        if host not in self.names:
            raise OSError(f"no such test name: {host}")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.names[host]
        ]

    async def close(self) -> None:
        """Nothing to close."""


CALENDAR_V1 = ics(event("one@test", ":20260302T090000Z", ":20260302T100000Z", title="First"))
CALENDAR_V2 = ics(
    event("one@test", ":20260302T090000Z", ":20260302T100000Z", title="First"),
    event("two@test", ":20260303T090000Z", ":20260303T100000Z", title="Second"),
)
HTML_PAGE = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>No</body></html>"


@dataclass
class CalendarServer:
    """What the server serves and what it was asked.

    ``/calendar.ics`` serves ``calendar`` with ``ETag`` ``"v<version>"`` and a
    ``Last-Modified`` per version, answering 304 to either validator when current (and
    setting a cookie, which must never come back); ``/hop/<n>`` redirects ``n`` times
    before it; ``/away`` redirects to ``redirect_to``; ``/big``, ``/big-declared``,
    ``/endless`` send more than 5 MiB (streamed without ``Content-Length``, with one,
    and without end); ``/slow`` answers after ``slow_s``; ``/page.html`` is a web page;
    ``/gone``, ``/private`` and ``/broken`` answer 404, 403 and 500.
    """

    calendar: bytes = CALENDAR_V1
    version: int = 1
    redirect_to: str = ""
    slow_s: float = 1.0
    requests: list[web.Request] = field(default_factory=list)
    base: str = ""

    def publish(self, calendar: bytes) -> None:
        """Serve a new version of the calendar."""
        self.calendar = calendar
        self.version += 1

    @property
    def etag(self) -> str:
        """The current version's ETag."""
        return f'"v{self.version}"'

    @property
    def last_modified(self) -> str:
        """The current version's Last-Modified."""
        return self.last_modified_of(self.version)

    @staticmethod
    def last_modified_of(version: int) -> str:
        """The Last-Modified of a version."""
        moment = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=version)
        return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")

    def app(self) -> web.Application:
        """The routes."""
        app = web.Application()
        app.router.add_get("/calendar.ics", self._calendar)
        app.router.add_get("/hop/{n}", self._hop)
        app.router.add_get("/away", self._away)
        app.router.add_get("/big", self._big)
        app.router.add_get("/big-declared", self._big_declared)
        app.router.add_get("/endless", self._endless)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/page.html", self._page)
        app.router.add_get("/gone", self._status(404))
        app.router.add_get("/private", self._status(403))
        app.router.add_get("/broken", self._status(500))
        app.middlewares.append(self._record)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(request)
        response: web.StreamResponse = await handler(request)
        return response

    async def _calendar(self, request: web.Request) -> web.Response:
        headers = {"ETag": self.etag, "Last-Modified": self.last_modified}
        if request.headers.get("If-None-Match") == self.etag or (
            "If-None-Match" not in request.headers
            and request.headers.get("If-Modified-Since") == self.last_modified
        ):
            return web.Response(status=304, headers=headers)
        response = web.Response(body=self.calendar, content_type="text/calendar", headers=headers)
        response.set_cookie("session", "tracking")
        return response

    async def _hop(self, request: web.Request) -> web.Response:
        left = int(request.match_info["n"])
        target = "/calendar.ics" if left <= 1 else f"/hop/{left - 1}"
        raise web.HTTPFound(target)

    async def _away(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(self.redirect_to)

    async def _big(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"X" * 65536
        for _ in range(6 * 16):  # 6 MiB
            await response.write(chunk)
        await response.write_eof()
        return response

    async def _big_declared(self, request: web.Request) -> web.Response:
        return web.Response(body=b"X" * (5 * 1024 * 1024 + 1), content_type="text/calendar")

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"BEGIN:VEVENT\r\n" * 4096
        while True:  # until the client hangs up
            await response.write(chunk)

    async def _slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.slow_s)
        return web.Response(body=self.calendar)

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(body=HTML_PAGE, content_type="text/html")

    @staticmethod
    def _status(status: int) -> Handler:
        async def answer(request: web.Request) -> web.Response:
            return web.Response(status=status, text="no")

        return answer


async def start(
    server: CalendarServer, ssl_context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, int]:
    """Serve on 127.0.0.1 on a free port; returns the runner (clean it up) and the port."""
    runner = web.AppRunner(server.app(), access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port: int = runner.addresses[0][1]
    return runner, port


@dataclass
class Served:
    """A running calendar server and where it is."""

    server: CalendarServer
    base: str


@dataclass
class SecureServed(Served):
    """An HTTPS one, with the session that trusts it and resolves its test names."""

    session: aiohttp.ClientSession
