"""``stillpoint practitioner add`` and ``list`` against a real database (SQLite and PostgreSQL).

The tests are synchronous: ``bot.cli.main`` runs its own event loop, as from a shell.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.db.engine import create_engine
from bot.db.uow import make_uow_factory
from bot.domain.models import AuditEntry, Client, ClientStatus, Practitioner
from bot.ports import UnitOfWorkFactory
from bot.services.context import UseCaseContext
from bot.services.practice.practitioners import ensure_configured, register, remember_name
from tests.fakes import FixedClock
from tests.integration import records
from tests.integration.records import BIG_TELEGRAM_ID, T0

SETTINGS_READ_HERE = (
    "BOT_TOKEN",
    "REMINDER_OFFSETS",
    "PRACTITIONER_IDS",
    "LOG_LEVEL",
)


@pytest.fixture(autouse=True)
def environment(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The command reads this test's database; no developer's .env leaks in."""
    monkeypatch.chdir(tmp_path)
    for name in SETTINGS_READ_HERE:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEFAULT_TIMEZONE", "America/Toronto")
    monkeypatch.setenv("DEFAULT_LOCALE", "de")


def stored(database_url: str) -> tuple[list[Practitioner], list[AuditEntry]]:
    """Every practitioner (oldest first) and audit entry (newest first), read afresh."""

    async def read() -> tuple[list[Practitioner], list[AuditEntry]]:
        engine = create_engine(database_url)
        try:
            async with make_uow_factory(engine)() as uow:
                return list(await uow.practitioners.list_all()), list(await uow.audit.recent())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def add(*options: str) -> int:
    return main(["practitioner", "add", *options])


def test_add_registers_a_practitioner(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = add(
        "--telegram-id", str(BIG_TELEGRAM_ID),
        "--name", "  Sample   Practitioner ",
        "--timezone", "Europe/Berlin",
        "--locale", "en",
        "--location", "Praxis am Park, Raum 2",
        "--reminders", "2h,24h,30m",
    )  # fmt: skip

    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert out == (
        f"Added practitioner Sample Practitioner (Telegram id {BIG_TELEGRAM_ID}, Europe/Berlin).\n"
    )
    [practitioner], [entry] = stored(database_url)
    assert practitioner.telegram_user_id == BIG_TELEGRAM_ID
    assert practitioner.display_name == "Sample Practitioner"
    assert practitioner.timezone == "Europe/Berlin"
    assert practitioner.locale == "en"
    assert practitioner.location == "Praxis am Park, Raum 2"
    assert practitioner.reminder_offsets_minutes == (1440, 120, 30)
    assert practitioner.created_at is not None
    assert entry.action == "practitioner.registered"
    assert (entry.subject_type, entry.subject_id) == ("practitioner", practitioner.id)
    assert entry.detail == {"source": "cli"}


def test_what_is_not_given_comes_from_the_settings(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add("--telegram-id", "77", "--name", "Second Practitioner") == 0

    assert capsys.readouterr().out == (
        "Added practitioner Second Practitioner (Telegram id 77, America/Toronto).\n"
    )
    [practitioner], _ = stored(database_url)
    assert (practitioner.timezone, practitioner.locale) == ("America/Toronto", "de")
    assert practitioner.location is None
    assert practitioner.reminder_offsets_minutes == ()  # the operator's REMINDER_OFFSETS
    assert practitioner.digest is True


def test_add_again_updates_only_what_is_given(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    add(
        "--telegram-id",
        "77",
        "--name",
        "Second Practitioner",
        "--timezone",
        "Europe/Vienna",
        "--locale",
        "en",
    )
    capsys.readouterr()

    status = add("--telegram-id", "77", "--reminders", "1d", "--location", "Studio 4")

    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert out == "Updated practitioner Second Practitioner (Telegram id 77, Europe/Vienna).\n"
    [practitioner], [updated, registered] = stored(database_url)
    assert practitioner.display_name == "Second Practitioner"
    assert (practitioner.timezone, practitioner.locale) == ("Europe/Vienna", "en")
    assert practitioner.location == "Studio 4"
    assert practitioner.reminder_offsets_minutes == (1440,)
    assert registered.action == "practitioner.registered"
    assert updated.action == "practitioner.updated"
    assert updated.subject_id == practitioner.id
    assert updated.detail == {"source": "cli", "fields": ["location", "reminder_offsets_minutes"]}


def test_an_empty_location_and_default_reminders_undo_the_own_ones(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    add(
        "--telegram-id",
        "77",
        "--name",
        "Second Practitioner",
        "--location",
        "Studio 4",
        "--reminders",
        "3h",
    )

    assert add("--telegram-id", "77", "--location", "", "--reminders", "default") == 0

    assert (
        capsys.readouterr()
        .out.splitlines()[-1]
        .startswith("Updated practitioner Second Practitioner ")
    )
    [practitioner], _ = stored(database_url)
    assert practitioner.location is None
    assert practitioner.reminder_offsets_minutes == ()


def test_own_check_in_days_and_time_are_stored_and_undone(database_url: str) -> None:
    add("--telegram-id", "77", "--name", "Second Practitioner", "--checkins", " 2,5 @ 18:30")
    [practitioner], _ = stored(database_url)
    assert (practitioner.checkin_days, practitioner.checkin_time) == ((2, 5), "18:30")

    assert add("--telegram-id", "77", "--checkins", "default") == 0

    [practitioner], _ = stored(database_url)
    assert (practitioner.checkin_days, practitioner.checkin_time) == ((), None)


def test_the_daily_digest_is_turned_off_and_on_and_kept_when_not_given(
    database_url: str,
) -> None:
    add("--telegram-id", "77", "--name", "Second Practitioner", "--digest", "off")
    [practitioner], _ = stored(database_url)
    assert practitioner.digest is False

    assert add("--telegram-id", "77", "--location", "Studio 4") == 0
    [practitioner], [updated, _] = stored(database_url)
    assert practitioner.digest is False
    assert updated.detail == {"source": "cli", "fields": ["location"]}

    assert add("--telegram-id", "77", "--digest", " ON ") == 0
    [practitioner], [updated, *_] = stored(database_url)
    assert practitioner.digest is True
    assert updated.detail == {"source": "cli", "fields": ["digest"]}


def test_a_practitioner_from_the_settings_gets_a_name(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def configure() -> None:
        engine = create_engine(database_url)
        try:
            await ensure_configured(
                make_uow_factory(engine), [55], timezone="UTC", locale="en", clock=FixedClock(T0)
            )
        finally:
            await engine.dispose()

    asyncio.run(configure())

    assert add("--telegram-id", "55", "--name", "Cleo") == 0

    assert capsys.readouterr().out == "Updated practitioner Cleo (Telegram id 55, UTC).\n"
    [practitioner], [updated, _] = stored(database_url)
    assert (practitioner.display_name, practitioner.created_at) == ("Cleo", T0)
    assert updated.detail == {"source": "cli", "fields": ["display_name"]}


def test_list_prints_one_line_per_practitioner(capsys: pytest.CaptureFixture[str]) -> None:
    add(
        "--telegram-id",
        str(BIG_TELEGRAM_ID),
        "--name",
        "Sample Practitioner",
        "--reminders",
        "24h,90m",
        "--checkins",
        "2,5@18:30",
    )
    add(
        "--telegram-id",
        "77",
        "--name",
        "Second Practitioner",
        "--timezone",
        "Asia/Kolkata",
        "--digest",
        "off",
    )
    capsys.readouterr()

    assert main(["practitioner", "list"]) == 0

    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        f"1\t{BIG_TELEGRAM_ID}\tSample Practitioner\tAmerica/Toronto\t1d,90m\t2,5@18:30\ton",
        "2\t77\tSecond Practitioner\tAsia/Kolkata\tdefault\tdefault@default\toff",
    ]


def test_list_of_nobody_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["practitioner", "list"]) == 0
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        (
            ["--telegram-id", "77", "--name", "Second Practitioner", "--timezone", "Mars/Olympus"],
            "--timezone",
        ),
        (
            ["--telegram-id", "77", "--name", "Second Practitioner", "--timezone", "../../etc"],
            "--timezone",
        ),
        (["--telegram-id", "77", "--name", "   "], "--name: the name must not be empty"),
        (["--telegram-id", "77", "--name", ""], "--name: the name must not be empty"),
        (
            ["--telegram-id", "seventy", "--name", "Second Practitioner"],
            "--telegram-id: expected a number",
        ),
        (
            ["--telegram-id", "7.5", "--name", "Second Practitioner"],
            "--telegram-id: expected a number",
        ),
        (
            ["--telegram-id", "", "--name", "Second Practitioner"],
            "--telegram-id: expected a number",
        ),
        (
            ["--telegram-id", "0", "--name", "Second Practitioner"],
            "--telegram-id: a Telegram user id is a pos",
        ),
        (
            ["--telegram-id", "-5", "--name", "Second Practitioner"],
            "--telegram-id: a Telegram user id is a pos",
        ),
        (
            ["--telegram-id", "9" * 20, "--name", "Second Practitioner"],
            "--telegram-id: a Telegram user id is",
        ),
        (
            ["--telegram-id", "77", "--name", "Second Practitioner", "--reminders", "3x"],
            "--reminders: expected",
        ),
        (
            ["--telegram-id", "77", "--name", "Second Practitioner", "--reminders", "24h,,2h"],
            "--reminders",
        ),
        (
            ["--telegram-id", "77", "--name", "Second Practitioner", "--reminders", ""],
            "--reminders",
        ),
        (
            ["--telegram-id", "77", "--name", "Second Practitioner", "--reminders", "0h"],
            "longer than zero",
        ),
        (
            ["--telegram-id", "77", "--name", "Second Practitioner", "--checkins", "1,3"],
            "--checkins",
        ),
        (["--telegram-id", "77", "--name", "Second", "--checkins", "3,1@10:00"], "increasing"),
        (["--telegram-id", "77", "--name", "Second", "--checkins", "1@25:00"], "--checkins"),
        (
            ["--telegram-id", "77", "--name", "Second", "--digest", "yes"],
            "--digest: expected on or off, got 'yes'",
        ),
        (["--telegram-id", "77", "--name", "Second", "--digest", ""], "--digest: expected on"),
        (
            ["--telegram-id", "77", "--name", "Second Practitioner", "--locale", "fr"],
            "--locale: unknown locale",
        ),
        (["--telegram-id", "77", "--name", "B" * 201], "--name: the name is longer than 200"),
        (["--telegram-id", "77"], "a new practitioner needs a name"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    database_url: str, capsys: pytest.CaptureFixture[str], options: list[str], complaint: str
) -> None:
    status = add(*options)

    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.startswith("stillpoint: ")
    assert complaint in err
    assert err.count("\n") == 1
    assert stored(database_url) == ([], [])


def test_bad_input_leaves_an_existing_practitioner_alone(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    add("--telegram-id", "77", "--name", "Second Practitioner", "--reminders", "2h")
    before = stored(database_url)

    assert add("--telegram-id", "77", "--name", "Benedikt", "--reminders", "soon") == 2

    assert stored(database_url) == before
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize(
    "command", [["add", "--telegram-id", "77", "--name", "Second Practitioner"], ["list"]]
)
def test_an_unmigrated_database_says_to_migrate(
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)

    assert main(["practitioner", *command]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("stillpoint: the database schema is empty")
    assert "run `stillpoint migrate` first" in err
    assert err.count("\n") == 1


async def test_concurrent_registrations_store_one_practitioner(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async def register_ben(minutes: int) -> bool:
        _, added = await register(
            UseCaseContext(uow_factory, FixedClock(T0), records.policy()),
            telegram_id=77,
            name="Second Practitioner",
            timezone=None,
            locale=None,
            location=None,
            reminder_offsets_minutes=(minutes,),
        )
        return added

    outcomes = await asyncio.gather(*(register_ben(minutes) for minutes in (10, 20, 30, 40)))

    assert sorted(outcomes) == [False, False, False, True]
    async with uow_factory() as uow:
        [practitioner] = await uow.practitioners.list_all()
        audit = await uow.audit.recent()
    assert practitioner.reminder_offsets_minutes in {(10,), (20,), (30,), (40,)}
    assert sorted(entry.action for entry in audit) == [
        "practitioner.registered",
        *["practitioner.updated"] * 3,
    ]


async def test_telegram_does_not_overwrite_the_name_given_here(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await register(
        UseCaseContext(uow_factory, FixedClock(T0), records.policy()),
        telegram_id=77,
        name="Sample Practitioner, Heilpraktikerin",
        timezone=None,
        locale=None,
        location=None,
        reminder_offsets_minutes=None,
    )

    kept = await remember_name(uow_factory, 77, "sample 🌿")

    assert kept is not None
    assert kept.display_name == "Sample Practitioner, Heilpraktikerin"


def test_an_operator_erases_one_client_and_their_practitioner_is_told(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def plant() -> int:
        engine = create_engine(database_url)
        try:
            async with make_uow_factory(engine)() as uow:
                practitioner = await uow.practitioners.add(
                    Practitioner(
                        id=0, telegram_user_id=BIG_TELEGRAM_ID, display_name="Pat", timezone="UTC"
                    )
                )
                client = await uow.clients.add(
                    Client(
                        id=0,
                        practitioner_id=practitioner.id,
                        full_name="Erin Example",
                        status=ClientStatus.ACTIVE,
                        timezone="UTC",
                        locale="en",
                        telegram_user_id=8_100_000_123,
                    )
                )
                await uow.commit()
                return client.id
        finally:
            await engine.dispose()

    async def after(client_id: int) -> tuple[bool, list[str]]:
        engine = create_engine(database_url)
        try:
            async with make_uow_factory(engine)() as uow:
                gone = await uow.clients.get(client_id) is None
                pending = await uow.outbox.claim_due(T0 + timedelta(days=3650), 10)
                return gone, [row.template for row in pending]
        finally:
            await engine.dispose()

    client_id = asyncio.run(plant())
    assert main(["erase", "--client-id", str(client_id)]) == 0
    assert f"Erased client {client_id}" in capsys.readouterr().out
    assert asyncio.run(after(client_id)) == (True, ["erase.practitioner_notice"])
    assert main(["erase", "--client-id", str(client_id)]) == 1
    assert f"there is no client {client_id}" in capsys.readouterr().err


def test_an_operator_exports_one_client_as_csv_or_json(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def plant() -> int:
        engine = create_engine(database_url)
        try:
            async with make_uow_factory(engine)() as uow:
                _, client = await records.practitioner_and_client(uow)
                _, other = await records.practitioner_and_client(uow, telegram_user_id=42)
                for whose, words in ((client, 'my neck, "mostly"'), (other, "not theirs")):
                    await uow.replies.add(records.reply(whose.id, text=words, received_at=T0))
                await uow.commit()
                return client.id
        finally:
            await engine.dispose()

    async def exports_audited(client_id: int) -> list[str]:
        engine = create_engine(database_url)
        try:
            async with make_uow_factory(engine)() as uow:
                entries = await uow.audit.about_client(client_id)
                return [str(e.detail["format"]) for e in entries if e.action == "client.exported"]
        finally:
            await engine.dispose()

    client_id = asyncio.run(plant())
    assert main(["export", "--client-id", str(client_id), "--format", "csv"]) == 0
    [row] = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["words"] == 'my neck, "mostly"'
    assert row["discomfort_0_to_10"] == "3"
    assert main(["export", "--client-id", str(client_id), "--format", "json"]) == 0
    copy = json.loads(capsys.readouterr().out)
    [record] = copy["as_client_of"]
    assert [a["words"] for a in record["answers"]] == ['my neck, "mostly"']
    assert "not theirs" not in json.dumps(copy)
    assert asyncio.run(exports_audited(client_id)) == ["csv", "json"]
    assert main(["export", "--client-id", "999999", "--format", "csv"]) == 1
    assert "there is no client 999999" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "--client-id", str(client_id), "--format", "xml"])


def _ics(*events: tuple[str, datetime]) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    for title, starts in events:
        stamp = starts.strftime("%Y%m%dT%H%M%SZ")
        end = (starts + timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
        lines += [
            "BEGIN:VEVENT",
            f"UID:{title}@test",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{stamp}",
            f"DTEND:{end}",
            f"SUMMARY:{title}",
            "END:VEVENT",
        ]
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


def test_an_operator_imports_a_calendar_file_and_adds_a_calendar(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def plant() -> tuple[int, int]:
        engine = create_engine(database_url)
        try:
            async with make_uow_factory(engine)() as uow:
                practitioner, client = await records.practitioner_and_client(uow)
                await uow.commit()
                return practitioner.id, client.id
        finally:
            await engine.dispose()

    async def sessions(client_id: int) -> list[str]:
        engine = create_engine(database_url)
        try:
            async with make_uow_factory(engine)() as uow:
                return [str(a.status) for a in await uow.appointments.for_client(client_id)]
        finally:
            await engine.dispose()

    practitioner_id, client_id = asyncio.run(plant())
    soon = datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(days=3)
    calendar = tmp_path / "calendar.ics"
    calendar.write_bytes(_ics(("CST First Client", soon)))
    command = ["calendar", "import", "--practitioner-id", str(practitioner_id), str(calendar)]
    assert main(command) == 0
    assert "1 of them client sessions (1 booked now)" in capsys.readouterr().out
    assert asyncio.run(sessions(client_id)) == ["booked"]
    calendar.write_bytes(_ics())  # the event is gone from the newer file: cancelled
    assert main(command) == 0
    assert asyncio.run(sessions(client_id)) == ["cancelled"]

    calendar.write_bytes(b"<html>not a calendar</html>")
    assert main(command) == 1
    assert "is not a calendar" in capsys.readouterr().err
    assert main(["calendar", "import", "--practitioner-id", "999999", str(calendar)]) == 1
    url = "http://127.0.0.1:9/calendar.ics"  # plain http on loopback: refused before any fetch
    assert main(["calendar", "add", "--practitioner-id", str(practitioner_id), "--url", url]) == 1
    err = capsys.readouterr().err
    assert "cannot be read: the address must start with https://" in err
    assert url not in err
