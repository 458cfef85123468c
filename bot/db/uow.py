"""The SQLAlchemy unit of work: one session, one transaction, every repository."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db.repositories import (
    SqlAppointmentRepository,
    SqlAuditRepository,
    SqlCalendarRepository,
    SqlCheckInRepository,
    SqlClientRepository,
    SqlFlagRepository,
    SqlInviteRepository,
    SqlOutboxRepository,
    SqlPractitionerRepository,
    SqlProcessRepository,
    SqlReplyRepository,
)
from bot.ports import (
    AppointmentRepository,
    AuditRepository,
    CalendarRepository,
    CheckInRepository,
    ClientRepository,
    FlagRepository,
    InviteRepository,
    OutboxRepository,
    PractitionerRepository,
    ProcessRepository,
    ReplyRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)


class SqlAlchemyUnitOfWork:
    """One transaction shared by every repository; nothing is stored until ``commit``.

    Use it as ``async with factory() as uow: ...; await uow.commit()``. Leaving
    the block rolls back whatever was not committed, and closes the session,
    whether the block ended normally or with an exception.
    """

    practitioners: PractitionerRepository
    clients: ClientRepository
    invites: InviteRepository
    audit: AuditRepository
    appointments: AppointmentRepository
    outbox: OutboxRepository
    checkins: CheckInRepository
    replies: ReplyRepository
    flags: FlagRepository
    calendars: CalendarRepository
    processes: ProcessRepository

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], turn: asyncio.Lock | None = None
    ) -> None:
        """Prepare a unit of work; the session opens on ``__aenter__`` (after waiting for
        ``turn``, when there is one, which it holds until it closes)."""
        self._session_factory = session_factory
        self._session: AsyncSession | None = None
        self._turn = turn

    async def __aenter__(self) -> Self:
        """Open a session and the repositories over it."""
        if self._session is not None:
            raise RuntimeError("this unit of work is already open")
        if self._turn is not None:
            await self._turn.acquire()
        session = self._session_factory()
        self._session = session
        self.practitioners = SqlPractitionerRepository(session)
        self.clients = SqlClientRepository(session)
        self.invites = SqlInviteRepository(session)
        self.audit = SqlAuditRepository(session)
        self.appointments = SqlAppointmentRepository(session)
        self.outbox = SqlOutboxRepository(session)
        self.calendars = SqlCalendarRepository(session)
        self.checkins = SqlCheckInRepository(session)
        self.replies = SqlReplyRepository(session)
        self.flags = SqlFlagRepository(session)
        self.processes = SqlProcessRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back anything not committed and close the session."""
        session, self._session = self._session, None
        if session is None:
            return
        try:
            await session.rollback()
        finally:
            await session.close()
            if self._turn is not None:
                self._turn.release()

    async def commit(self) -> None:
        """Store everything done so far in this unit of work."""
        await self._open_session().commit()

    async def rollback(self) -> None:
        """Discard everything done since the last commit."""
        await self._open_session().rollback()

    def _open_session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open; use it in 'async with'")
        return self._session


class SqlAlchemyUnitOfWorkFactory:
    """Opens a new ``SqlAlchemyUnitOfWork`` on one engine for each call."""

    def __init__(self, engine: AsyncEngine) -> None:
        """Share one session factory among all units of work on ``engine``."""
        # expire_on_commit=False: nothing is reloaded lazily after a commit;
        # repositories have already copied rows into domain objects anyway.
        self._session_factory = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite lets one transaction write at a time, and one that finds the file
        # locked sleeps in growing steps (up to 100 ms) before it looks again: units of
        # work taking turns here in Python wait only as long as the one before them.
        self._turn = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    def __call__(self) -> UnitOfWork:
        """Return a new, not yet opened, unit of work."""
        return SqlAlchemyUnitOfWork(self._session_factory, self._turn)

    async def purge_freed(self) -> None:
        """Leave no copy of deleted data in the database's files where it can be helped:
        on SQLite (which zeroes freed pages itself) the write-ahead log is written back
        and emptied; PostgreSQL reuses dead rows on its own schedule (autovacuum)."""
        if self._turn is None:
            return
        async with self._turn, self._session_factory() as session:
            connection = await session.connection()
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def make_uow_factory(engine: AsyncEngine) -> UnitOfWorkFactory:
    """Return the factory services use to open units of work on ``engine``."""
    return SqlAlchemyUnitOfWorkFactory(engine)
