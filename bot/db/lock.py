"""A single-instance guard for SQLite: two processes must not send from one file.

SQLite's outbox claims are only safe within one process (see the scale-out decision in
docs/architecture.md). The guard is an advisory ``flock`` on ``<database file>.lock``,
held for the life of the process; the kernel drops it if the process dies, so
a crash never leaves a stale lock behind. PostgreSQL needs no guard.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from bot.db.errors import DatabaseInUseError, DatabaseUnavailableError
from bot.db.url import sqlite_path


class InstanceLock:
    """A held instance lock (or a no-op one); release it, or use it as a context manager."""

    def __init__(self, path: Path | None = None, fd: int | None = None) -> None:
        """Wrap an already-locked file descriptor; use ``acquire_instance_lock`` instead."""
        self._path = path
        self._fd = fd

    @property
    def path(self) -> Path | None:
        """The lock file, or ``None`` when no lock is needed."""
        return self._path

    @property
    def held(self) -> bool:
        """Whether this object still holds a lock."""
        return self._fd is not None

    def release(self) -> None:
        """Give the lock up. Safe to call more than once.

        The lock file stays: removing it could let two processes lock two
        different files of the same name.
        """
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __enter__(self) -> Self:
        """Return the lock itself; it is already held."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release the lock."""
        self.release()


def acquire_instance_lock(database_url: str) -> InstanceLock:
    """Take the single-instance lock for ``database_url`` at once, or fail.

    For PostgreSQL and in-memory SQLite this returns a lock that holds nothing.
    Raises ``DatabaseInUseError`` if another process (or another lock in this
    one) holds the lock of the same file.
    """
    database = sqlite_path(database_url)
    if database is None:
        return InstanceLock()
    lock_path = database.with_name(database.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise DatabaseUnavailableError(
            f"cannot open the SQLite database {database}: {error.strerror}"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DatabaseInUseError(
            f"another Stillpoint process is already using {database}; "
            "stop it first or use PostgreSQL for more than one process"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    return InstanceLock(lock_path, fd)
